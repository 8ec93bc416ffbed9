"""Raw mode over real sockets: the API surface and Godot 3's behaviour (spec §1-4)."""
from __future__ import annotations

import socket
import struct
import time
import unittest
from unittest import mock

from wsproto.events import BytesMessage, CloseConnection, Pong, TextMessage

from godot_ws.enums import ConnectionStatus, Error, WriteMode
from godot_ws.server import WebSocketServer
from godot_ws.transport.writer import BacklogWriter
from tests.support import ServerTestCase, masked_frame, poll_until, read_all


class ListenTests(unittest.TestCase):
    def test_listen_stop_relisten(self):
        s = WebSocketServer()
        self.assertEqual(s.get_connection_status(), ConnectionStatus.CONNECTION_DISCONNECTED)
        self.assertEqual(s.get_unique_id(), 1)
        self.assertEqual(s.listen(0), Error.OK)
        try:
            self.assertTrue(s.is_listening())
            self.assertGreater(s.get_port(), 0)
            self.assertEqual(s.get_connection_status(), ConnectionStatus.CONNECTION_CONNECTED)
            with self.assertLogs("godot_ws", "ERROR"):
                self.assertEqual(s.listen(0), Error.ERR_ALREADY_IN_USE)
            with self.assertLogs("godot_ws", "ERROR"):
                self.assertEqual(s.set_buffers(1, 1, 1, 1), Error.FAILED)
        finally:
            s.stop()
        self.assertFalse(s.is_listening())
        s.stop()  # idempotent
        self.assertEqual(s.listen(0), Error.OK)
        s.stop()

    def test_port_taken(self):
        with WebSocketServer() as a, WebSocketServer() as b:
            a.bind_ip = b.bind_ip = "127.0.0.1"
            self.assertEqual(a.listen(0), Error.OK)
            with self.assertLogs("godot_ws", "ERROR"):
                self.assertEqual(b.listen(a.get_port()), Error.ERR_ALREADY_IN_USE)

    def test_bad_arguments_raise(self):
        s = WebSocketServer()
        self.assertRaises(TypeError, s.listen, "80")
        self.assertRaises(ValueError, s.listen, -1)
        self.assertRaises(ValueError, s.listen, 70000)
        self.assertRaises(TypeError, s.listen, 0, "chat")
        self.assertRaises(ValueError, s.set_buffers, 0, 1, 1, 1)
        self.assertRaises(TypeError, s.set_buffers, 1.5, 1, 1, 1)
        self.assertRaises(ValueError, setattr, s, "bind_ip", "not-an-ip")
        self.assertRaises(ValueError, setattr, s, "handshake_timeout", 0)
        self.assertRaises(ValueError, s.poll, -1)
        self.assertFalse(s.is_listening())

    def test_defaults(self):
        s = WebSocketServer()
        self.assertEqual(s.bind_ip, "*")
        self.assertEqual(s.handshake_timeout, 3.0)
        self.assertFalse(s.refuse_new_connections)
        self.assertIsNone(s.private_key)
        self.assertEqual(s.get_class(), "WebSocketServer")
        self.assertTrue(s.is_class("NetworkedMultiplayerPeer"))
        with self.assertLogs("godot_ws", "ERROR"):
            self.assertIsNone(s.get_peer(5))
        with self.assertLogs("godot_ws", "ERROR"):
            self.assertEqual(s.get_peer_address(5), "")
        with self.assertLogs("godot_ws", "ERROR"):
            self.assertEqual(s.get_peer_port(5), 0)

    def test_raw_mode_refuses_multiplayer_api(self):
        with WebSocketServer() as s:
            s.listen(0)
            with self.assertLogs("godot_ws", "ERROR"):
                self.assertEqual(s.put_packet(b"x"), Error.ERR_UNCONFIGURED)
            with self.assertLogs("godot_ws", "ERROR"):
                self.assertEqual(s.get_available_packet_count(), 0)
            with self.assertLogs("godot_ws", "ERROR"):
                self.assertEqual(s.get_packet(), b"")


class ToSignalTests(ServerTestCase):
    def test_to_signal_waits_for_a_connection(self):
        client = self.raw()
        client.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                       b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
        peer_id, protocol = self.server.to_signal("client_connected", timeout=5)
        self.assertTrue(self.server.has_peer(peer_id))
        self.assertEqual(protocol, "")
        with self.assertRaises(TimeoutError):
            self.server.to_signal("data_received", timeout=0.2)


class EchoTests(ServerTestCase):
    def configure(self, server):
        server.connect("data_received", self.echo)

    def echo(self, peer_id):
        peer = self.server.get_peer(peer_id)
        data = peer.get_packet()
        if getattr(self, "keep_mode", False):
            peer.set_write_mode(WriteMode.WRITE_MODE_TEXT if peer.was_string_packet()
                                else WriteMode.WRITE_MODE_BINARY)
        self.assertEqual(peer.put_packet(data), Error.OK)

    def roundtrip(self, c, data):
        c.send(data)
        got = None
        end = time.monotonic() + 5
        while got is None and time.monotonic() < end:
            self.server.poll(0.05)
            c.sock.setblocking(False)
            try:
                chunk = c.sock.recv(1 << 20)
            except BlockingIOError:
                continue
            finally:
                c.sock.setblocking(True)
            c.conn.receive_data(chunk)
            c.pending.extend(c.conn.events())
            if c.pending:
                got = c.next_event(5)
        return got

    def test_connect_signal_and_peer_info(self):
        c = self.ws()
        (peer_id, proto), = self.rec.wait("client_connected")
        self.assertEqual(proto, "")
        self.assertGreater(peer_id, 1)
        self.assertLess(peer_id, 2 ** 31)
        self.assertTrue(self.server.has_peer(peer_id))
        self.assertEqual(self.server.get_peer_address(peer_id), "127.0.0.1")
        self.assertEqual(self.server.get_peer_port(peer_id), c.sock.getsockname()[1])
        peer = self.server.get_peer(peer_id)
        self.assertTrue(peer.is_connected_to_host())
        self.assertEqual(peer.get_write_mode(), WriteMode.WRITE_MODE_BINARY)
        self.assertEqual(peer.get_current_outbound_buffered_amount(), 0)
        server_sock = peer._conn.sock
        self.assertEqual(server_sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY), 1)
        peer.set_no_delay(False)
        self.assertEqual(server_sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY), 0)

    def test_echo_default_write_mode_is_binary(self):
        c = self.ws()
        self.rec.wait("client_connected")
        got = self.roundtrip(c, "héllo")
        self.assertIsInstance(got, BytesMessage)
        self.assertEqual(got.data, "héllo".encode())

    def test_echo_keeps_type_and_sizes(self):
        self.keep_mode = True
        c = self.ws()
        self.rec.wait("client_connected")
        for size in (0, 1, 125, 126, 65535):
            data = bytes(i % 251 for i in range(size))
            got = self.roundtrip(c, data)
            self.assertIsInstance(got, BytesMessage, size)
            self.assertEqual(got.data, data, size)
        got = self.roundtrip(c, "ünïcødé ✓ 🎮")
        self.assertIsInstance(got, TextMessage)
        self.assertEqual(got.data, "ünïcødé ✓ 🎮")

    def test_was_string_packet_and_empty_message(self):
        c = self.ws()
        (pid, _), = self.rec.wait("client_connected")
        self.server.disconnect("data_received", self.echo)
        c.send("text")
        c.send(b"")
        self.rec.wait("data_received", 2)
        peer = self.server.get_peer(pid)
        self.assertEqual(peer.get_available_packet_count(), 2)
        self.assertEqual(peer.get_packet(), b"text")
        self.assertTrue(peer.was_string_packet())
        self.assertEqual(peer.get_packet(), b"")
        self.assertFalse(peer.was_string_packet())
        self.assertEqual(peer.get_packet_error(), Error.OK)
        self.assertEqual(peer.get_packet(), b"")
        self.assertEqual(peer.get_packet_error(), Error.ERR_UNAVAILABLE)

    def test_empty_put_packet_is_sent(self):
        c = self.ws()
        (pid, _), = self.rec.wait("client_connected")
        self.assertEqual(self.server.get_peer(pid).put_packet(b""), Error.OK)
        got = c.next_event()
        self.assertIsInstance(got, BytesMessage)
        self.assertEqual(got.data, b"")

    def test_put_packet_type_checks(self):
        self.ws()
        (pid, _), = self.rec.wait("client_connected")
        peer = self.server.get_peer(pid)
        self.assertRaises(TypeError, peer.put_packet, "str")
        peer.set_write_mode(WriteMode.WRITE_MODE_TEXT)
        self.assertRaises(ValueError, peer.put_packet, b"\xff")
        self.assertRaises(ValueError, peer.set_write_mode, 5)

    def test_fragmented_with_ping_in_the_middle(self):
        c = self.ws()
        (pid, _), = self.rec.wait("client_connected")
        self.server.disconnect("data_received", self.echo)
        c.send(b"frag1-", fin=False)
        c.ping(b"mid")
        c.send(b"frag2", fin=True)
        pong = c.next_event()
        self.assertIsInstance(pong, Pong)
        self.assertEqual(pong.payload, b"mid")
        self.rec.wait("data_received")
        self.assertEqual(self.server.get_peer(pid).get_packet(), b"frag1-frag2")

    def test_frame_in_same_segment_as_request(self):
        early = masked_frame(0x2, b"early bird")
        c = self.ws(extra=early)
        (pid, _), = self.rec.wait("client_connected")
        self.rec.wait("data_received")
        got = c.next_event()
        self.assertEqual(got.data, b"early bird")


class CloseTests(ServerTestCase):
    def test_client_close_echoed_then_clean_disconnect(self):
        c = self.ws()
        (pid, _), = self.rec.wait("client_connected")
        c.close(4321, "client says bye")
        self.assertEqual(self.rec.wait("client_close_request"), [(pid, 4321, "client says bye")])
        self.assertEqual(self.rec.wait("client_disconnected"), [(pid, True, True)])
        self.assertFalse(self.server.has_peer(pid))
        reply = c.next_event()
        self.assertIsInstance(reply, CloseConnection)
        self.assertEqual((reply.code, reply.reason), (4321, "client says bye"))
        self.assertEqual(read_all(c.sock, 5), b"")

    def test_peer_without_backlog_ends_without_waking_the_writer(self):
        with mock.patch.object(BacklogWriter, "forget", autospec=True) as forget:
            c = self.ws()
            self.rec.wait("client_connected")
            c.close(1000, "")
            self.rec.wait("client_disconnected")
            self.assertIsInstance(c.next_event(), CloseConnection)
            self.assertEqual(read_all(c.sock, 5), b"")  # EOF: the peer thread has finished
        forget.assert_not_called()

    def test_peer_that_had_a_backlog_is_forgotten_by_the_writer(self):
        with mock.patch.object(BacklogWriter, "forget", autospec=True,
                               side_effect=BacklogWriter.forget) as forget:
            c = self.ws()
            c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            (pid, _), = self.rec.wait("client_connected")
            peer = self.server.get_peer(pid)
            out = peer._conn.out
            out.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
            for _ in range(256):  # the client reads nothing: the kernel buffers fill up
                if out.backlog_peak or peer.put_packet(b"x" * 4096) != Error.OK:
                    break
            self.assertGreater(out.backlog_peak, 0)
            c.sock.close()
            self.rec.wait("client_disconnected")
            poll_until(self.server, lambda: forget.call_count == 1, 5)
        self.assertEqual(forget.call_count, 1)

    def test_close_without_payload_reports_code_0(self):
        c = self.ws()
        (pid, _), = self.rec.wait("client_connected")
        c.send_raw(masked_frame(0x8, b""))
        self.assertEqual(self.rec.wait("client_close_request"), [(pid, 0, "")])
        tail = c.recv_raw_until_eof()
        self.assertEqual(tail[-2:], b"\x88\x00")

    def test_reason_nul_from_godot_client_is_cut(self):
        c = self.ws()
        (pid, _), = self.rec.wait("client_connected")
        c.send_raw(masked_frame(0x8, struct.pack("!H", 4001) + b"bye\x00"))
        self.assertEqual(self.rec.wait("client_close_request"), [(pid, 4001, "bye")])

    def test_server_close_bytes_and_clean_reply(self):
        c = self.ws()
        (pid, _), = self.rec.wait("client_connected")
        self.server.disconnect_peer(pid, 4001, "bye now")
        self.assertTrue(self.server.has_peer(pid))
        self.assertTrue(self.server.get_peer(pid).is_connected_to_host())
        frame = c.next_event()
        self.assertEqual(c.raw_in[-11:], b"\x88\x09\x0f\xa1bye now")  # no trailing NUL
        self.assertEqual((frame.code, frame.reason), (4001, "bye now"))
        c.close(4001, "bye now")
        self.assertEqual(self.rec.wait("client_disconnected"), [(pid, True, True)])
        self.assertEqual(self.rec.of("client_close_request"), [])

    def test_data_after_server_close_is_ignored(self):
        c = self.ws()
        (pid, _), = self.rec.wait("client_connected")
        peer = self.server.get_peer(pid)
        peer.close()
        c.send(b"late")
        c.close(1000)
        self.rec.wait("client_disconnected")
        self.assertEqual(self.rec.of("data_received"), [])
        self.assertRaises(ValueError, peer.close, 999)

    def test_unanswered_close_times_out(self):
        self.server.stop()
        self.server.close_timeout = 0.3
        self.server.listen(0)
        self.port = self.server.get_port()
        self.ws()  # a client that never answers the close frame
        (pid, _), = self.rec.wait("client_connected")
        self.server.disconnect_peer(pid)
        self.assertEqual(self.rec.wait("client_disconnected", timeout=5), [(pid, False, True)])

    def test_tcp_drop_is_unclean(self):
        c = self.ws()
        (pid, _), = self.rec.wait("client_connected")
        c.sock.close()
        self.assertEqual(self.rec.wait("client_disconnected"), [(pid, False, True)])

    def test_close_arguments_checked(self):
        self.ws()
        (pid, _), = self.rec.wait("client_connected")
        peer = self.server.get_peer(pid)
        self.assertRaises(ValueError, peer.close, 1005)
        self.assertRaises(ValueError, peer.close, 1000, "x" * 124)
        self.assertRaises(TypeError, peer.close, "1000")


class ProtocolErrorTests(ServerTestCase):
    def check_error(self, frame: bytes, code: int) -> None:
        c = self.ws()
        (pid, _), = self.rec.wait("client_connected")
        c.send_raw(frame)
        self.assertEqual(self.rec.wait("client_disconnected"), [(pid, False, True)])
        tail = c.recv_raw_until_eof()
        self.assertEqual(tail, b"\x88\x02" + struct.pack("!H", code))

    def test_unmasked_frame(self):
        self.check_error(masked_frame(0x2, b"abc", mask=False), 1002)

    def test_rsv_bits(self):
        self.check_error(masked_frame(0x2, b"abc", rsv=4), 1002)

    def test_reserved_opcode(self):
        self.check_error(masked_frame(0x3, b"abc"), 1002)

    def test_invalid_utf8(self):
        self.check_error(masked_frame(0x1, b"\xff\xfe"), 1007)

    def test_message_too_big(self):
        self.check_error(masked_frame(0x2, b"x" * 65537), 1009)


class BufferTests(ServerTestCase):
    def configure(self, server):
        server.set_buffers(1, 4, 1, 4)

    def test_input_packet_limit_drops_but_signals(self):
        c = self.ws()
        (pid, _), = self.rec.wait("client_connected")
        with self.assertLogs("godot_ws", "ERROR") as logs:
            for i in range(5):
                c.send(bytes([i]))
            self.rec.wait("data_received", 5)
        self.assertIn("Too many packets", "\n".join(logs.output))
        peer = self.server.get_peer(pid)
        self.assertEqual(peer.get_available_packet_count(), 3)
        self.assertEqual([peer.get_packet() for _ in range(3)], [b"\x00", b"\x01", b"\x02"])

    def test_input_byte_limit(self):
        c = self.ws()
        (pid, _), = self.rec.wait("client_connected")
        peer = self.server.get_peer(pid)
        c.send(b"a" * 1023)
        self.rec.wait("data_received", 1)
        self.assertEqual(len(peer.get_packet()), 1023)
        with self.assertLogs("godot_ws", "ERROR"):
            c.send(b"b" * 1024)
            self.rec.wait("data_received", 2)
        self.assertEqual(peer.get_available_packet_count(), 0)
        self.assertTrue(peer.is_connected_to_host())
        c.send(b"c" * 1025)
        self.assertEqual(self.rec.wait("client_disconnected"), [(pid, False, True)])

    def test_output_limit(self):
        self.ws()
        (pid, _), = self.rec.wait("client_connected")
        peer = self.server.get_peer(pid)
        with self.assertLogs("godot_ws", "ERROR"), \
                mock.patch("godot_ws.protocol.session.frame_header") as header:
            self.assertEqual(peer.put_packet(b"x" * 1024), Error.ERR_OUT_OF_MEMORY)
        header.assert_not_called()  # refused before any framing work
        self.assertEqual(peer.put_packet(b"x" * 1000), Error.OK)


class SlowPeerTests(ServerTestCase):
    def test_slow_peer_does_not_stall_others(self):
        slow = self.ws()
        slow.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        fast = self.ws()
        (slow_id, _), (fast_id, _) = self.rec.wait("client_connected", 2)
        ids = {c.sock.getsockname()[1]: None for c in (slow, fast)}
        if self.server.get_peer_port(slow_id) != slow.sock.getsockname()[1]:
            slow_id, fast_id = fast_id, slow_id
        slow_peer = self.server.get_peer(slow_id)
        chunk = b"s" * 60000
        results = []
        start = time.monotonic()
        with self.assertLogs("godot_ws", "ERROR"):
            for _ in range(200):
                err = slow_peer.put_packet(chunk)
                results.append(err)
                if err == Error.ERR_OUT_OF_MEMORY:
                    break
        self.assertLess(time.monotonic() - start, 5.0)
        self.assertEqual(results[-1], Error.ERR_OUT_OF_MEMORY)
        self.assertGreater(slow_peer.get_current_outbound_buffered_amount(), 0)
        self.assertEqual(self.server.get_peer(fast_id).put_packet(b"fast"), Error.OK)
        got = fast.next_event()
        self.assertEqual(got.data, b"fast")
        del ids


class ManyPeersTests(ServerTestCase):
    def test_200_peers(self):
        clients = [self.ws() for _ in range(200)]
        connected = self.rec.wait("client_connected", 200, timeout=30)
        ids = {pid for pid, _ in connected}
        self.assertEqual(len(ids), 200)
        for c in clients:
            c.send(b"hi")
        self.rec.wait("data_received", 200, timeout=30)
        for c in clients:
            c.sock.close()
        self.rec.wait("client_disconnected", 200, timeout=30)
        self.assertEqual(self.server.get_peer_ids(), [])


class StopTests(ServerTestCase):
    def test_stop_sends_1000_and_fires_nothing(self):
        clients = [self.ws() for _ in range(3)]
        self.rec.wait("client_connected", 3)
        pending = self.raw()  # a handshake that never completes
        n = len(self.rec.calls)
        self.server.stop()
        self.assertFalse(self.server.is_listening())
        for c in clients:
            self.assertEqual(c.recv_raw_until_eof(5)[-4:], b"\x88\x02\x03\xe8")
        self.assertEqual(read_all(pending, 5), b"")
        self.server.poll(0.1)
        self.assertEqual(len(self.rec.calls), n)

    def test_stop_inside_a_handler(self):
        self.server.connect("client_connected", lambda *a: self.server.stop())
        self.ws()
        self.ws()
        poll_until(self.server, lambda: not self.server.is_listening(), 5)
        self.assertEqual(len(self.rec.of("client_connected")), 1)


class RefuseAndBindTests(ServerTestCase):
    def test_refuse_new_connections(self):
        first = self.ws()
        self.rec.wait("client_connected")
        self.server.refuse_new_connections = True
        s = self.raw()
        s.sendall(b"GET / HTTP/1.1\r\n\r\n")
        self.assertEqual(read_all(s, 5), b"")
        first.send(b"still here")
        self.rec.wait("data_received")
        self.server.refuse_new_connections = False
        self.ws()
        self.rec.wait("client_connected", 2)

    def test_bind_ip(self):
        s = WebSocketServer()
        s.bind_ip = "127.0.0.1"
        self.assertEqual(s.listen(0), Error.OK)
        try:
            with self.assertLogs("godot_ws", "ERROR"):
                s.bind_ip = "0.0.0.0"
            self.assertEqual(s.bind_ip, "127.0.0.1")
            conn = socket.create_connection(("127.0.0.1", s.get_port()), timeout=5)
            conn.close()
        finally:
            s.stop()


if __name__ == "__main__":
    unittest.main()
