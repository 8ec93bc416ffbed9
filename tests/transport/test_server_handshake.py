"""Handshakes over real sockets: answers, timeouts, and a good client served meanwhile."""
import socket
import threading
import time
import unittest

from tests.support import SAMPLE_KEY, ServerTestCase, read_all, read_http_head

GOOD = (b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: " + SAMPLE_KEY.encode() + b"\r\nSec-WebSocket-Version: 13\r\n\r\n")


class HandshakeSocketTests(ServerTestCase):
    protocols = (" chat ", "superchat")

    def configure(self, server):
        server.handshake_timeout = 0.5

    def answer(self, raw: bytes) -> bytes:
        s = self.raw()
        with self.assertLogs("godot_ws", "WARNING"):
            s.sendall(raw)
            out = read_all(s, 5)
            self.server.poll(0)
        return out

    def test_exact_101_with_protocol(self):
        s = self.raw()
        s.sendall(GOOD[:-2] + b"Sec-WebSocket-Protocol: superchat, chat\r\n\r\n")
        head, _ = read_http_head(s)
        self.assertEqual(head, b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                               b"Connection: Upgrade\r\nSec-WebSocket-Accept: "
                               b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
                               b"Sec-WebSocket-Protocol: superchat\r\n\r\n")
        self.assertEqual(self.rec.wait("client_connected")[0][1], "superchat")

    def test_stripped_server_protocol(self):
        self.ws("chat")
        self.assertEqual(self.rec.wait("client_connected")[0][1], "chat")

    def test_missing_host_rejected_with_400(self):
        out = self.answer(GOOD.replace(b"Host: x\r\n", b"X-Not-Host: x\r\n"))
        self.assertTrue(out.startswith(b"HTTP/1.1 400 Bad Request\r\n"), out)
        self.assertIn(b"missing Host header", out)
        self.assertEqual(self.rec.calls, [])

    def test_missing_protocol_rejected_with_400(self):
        self.assertTrue(self.answer(GOOD).startswith(b"HTTP/1.1 400 "))
        self.assertEqual(self.rec.calls, [])

    def test_wrong_version_gets_426(self):
        out = self.answer(GOOD.replace(b"Version: 13", b"Version: 8"))
        self.assertTrue(out.startswith(b"HTTP/1.1 426 "))
        self.assertIn(b"\r\nSec-WebSocket-Version: 13\r\n", out)

    def test_two_token_request_line(self):
        self.assertTrue(self.answer(GOOD.replace(b"GET / HTTP/1.1", b"GET /"))
                        .startswith(b"HTTP/1.1 400 "))

    def test_headers_over_cap_get_431(self):
        out = self.answer(GOOD[:-2] + b"X-Pad: " + b"a" * 5000 + b"\r\n\r\n")
        self.assertTrue(out.startswith(b"HTTP/1.1 431 "))

    def test_request_in_one_byte_writes(self):
        s = self.raw()
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        req = GOOD[:-2] + b"Sec-WebSocket-Protocol: chat\r\n\r\n"
        for i in range(len(req)):
            s.send(req[i:i + 1])
        head, _ = read_http_head(s)
        self.assertTrue(head.startswith(b"HTTP/1.1 101 "))

    def test_slowloris_and_silent_clients_dropped_while_good_client_served(self):
        with self.assertLogs("godot_ws", "WARNING"):
            silent = [self.raw() for _ in range(20)]
            slow = self.raw()
            slow.sendall(b"GET / HTTP/1.1\r\n")
            start = time.monotonic()
            good = self.ws("chat")
            self.rec.wait("client_connected")
            for s in silent + [slow]:
                self.assertEqual(read_all(s, 5), b"")
        self.assertLess(time.monotonic() - start, 4.0)
        good.send(b"alive")
        self.rec.wait("data_received")

    def test_tls_bytes_to_plain_port(self):
        hello = bytes.fromhex("160301002a0100002603035a") + b"\x00" * 40
        s = self.raw()
        with self.assertLogs("godot_ws", "WARNING"):
            s.sendall(hello)
            self.assertEqual(read_all(s, 5), b"")  # never a complete HTTP head: timeout
        self.assertEqual(self.rec.calls, [])


class CountingSocket(socket.socket):
    """A socket that counts its ``settimeout`` calls (each one a system call)."""

    timeouts_set = 0

    def settimeout(self, value):
        CountingSocket.timeouts_set += 1
        super().settimeout(value)


class HandshakeIOTests(unittest.TestCase):
    """The handshake's receives and sends: no timeout juggling, the deadline kept."""

    def setUp(self):
        a, self.peer = socket.socketpair()
        self.sock = CountingSocket(fileno=a.detach())
        self.addCleanup(self.sock.close)
        self.addCleanup(self.peer.close)
        CountingSocket.timeouts_set = 0

    def handshake(self, seconds):
        from godot_ws.transport.server_handshake import _Handshake
        return _Handshake(self.sock, None, ("127.0.0.1", 1), time.monotonic() + seconds)

    def test_ready_socket_needs_no_timeout_calls(self):
        h = self.handshake(5)
        self.peer.sendall(b"request")
        self.assertEqual(h._recv_some(), b"request")
        big = bytes(4 << 20)  # more than the socket buffers: the send must wait for the reader
        received = bytearray()
        reader = threading.Thread(target=lambda: received.extend(read_all(self.peer, 5)))
        reader.start()
        h._sendall(big)
        self.sock.shutdown(socket.SHUT_WR)
        reader.join(10)
        self.assertEqual(len(received), len(big))
        self.assertEqual(CountingSocket.timeouts_set, 0)
        self.assertIsNone(self.sock.gettimeout())

    def test_silent_peer_times_out_at_the_deadline(self):
        h = self.handshake(0.2)
        with self.assertRaises(socket.timeout):
            h._recv_some()

    def test_deadline_holds_while_data_keeps_coming(self):
        h = self.handshake(0)
        self.peer.sendall(b"more")
        with self.assertRaises(socket.timeout):
            h._recv_some()

    def test_closed_peer(self):
        from godot_ws.transport.server_handshake import HandshakeFailed
        h = self.handshake(5)
        self.peer.close()
        with self.assertRaises(HandshakeFailed):
            h._recv_some()


if __name__ == "__main__":
    unittest.main()
