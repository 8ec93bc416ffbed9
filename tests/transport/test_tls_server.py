"""wss:// end to end: Python ssl clients verifying a root -> intermediate -> leaf chain."""
import os
import select
import socket
import ssl
import threading
import time
import unittest
from unittest import mock

from websockets.sync.client import connect
from wsproto import ConnectionType
from wsproto.connection import Connection
from wsproto.events import Ping

from godot_ws.crypto import X509Certificate
from godot_ws.enums import Error
from godot_ws.server import WebSocketServer
from godot_ws.transport.server_handshake import _Handshake
from tests.support import (
    SAMPLE_KEY,
    TIMEOUT,
    ServerTestCase,
    echo_same_type,
    no_logs,
    poll_until,
    read_all,
)
from tests.tls_fixtures import make_chain, other_key

CHAIN = None


def chain():
    global CHAIN
    if CHAIN is None:
        CHAIN = make_chain()
    return CHAIN


def client_context() -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(cadata=chain().root_pem())
    return ctx


UPGRADE = (b"GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
           b"Connection: Upgrade\r\nSec-WebSocket-Key: " + SAMPLE_KEY.encode()
           + b"\r\nSec-WebSocket-Version: 13\r\n\r\n")


def memory_client(raw: socket.socket) -> tuple[ssl.SSLObject, ssl.MemoryBIO, ssl.MemoryBIO]:
    """A TLS client over memory BIOs through its handshake on ``raw`` (its last
    flight, the client's Finished, not sent yet)."""
    to_client, to_server = ssl.MemoryBIO(), ssl.MemoryBIO()
    client = client_context().wrap_bio(to_client, to_server, server_hostname="localhost")
    for _ in range(20):
        try:
            client.do_handshake()
            break
        except ssl.SSLWantReadError:
            raw.sendall(to_server.read())
            to_client.write(raw.recv(65536))
    return client, to_client, to_server


def read_answer(raw: socket.socket, client: ssl.SSLObject, to_client: ssl.MemoryBIO) -> bytes:
    """The plaintext HTTP head the server answers with (empty if it closed first)."""
    answer = b""
    while b"\r\n\r\n" not in answer:
        chunk = raw.recv(65536)
        if not chunk:
            break
        to_client.write(chunk)
        try:
            answer += client.read(65536)
        except ssl.SSLWantReadError:
            pass
    return answer


class TLSServerTests(ServerTestCase):
    def configure(self, server):
        c = chain()
        server.private_key = c.leaf_crypto_key()
        server.ssl_certificate = X509Certificate.from_cryptography(c.leaf_cert)
        server.ca_chain = X509Certificate.from_cryptography(c.inter_cert)
        server.handshake_timeout = 30.0  # TLS + upgrade: a loaded or paused CI machine (5 s once timed out)
        server.set_buffers(8192, 4096, 8192, 4096)
        server.connect("data_received", self.echo)

    def echo(self, pid):
        echo_same_type(self.server, pid)

    def run_client(self, fn, ctx=None):
        """Run ``fn(ws)`` in a thread while this thread polls the server."""
        result = {}

        def body():
            try:
                with connect(f"wss://localhost:{self.port}", ssl=ctx or client_context(),
                             max_size=None, open_timeout=30) as ws:
                    result["value"] = fn(ws)
            except BaseException as exc:  # reported on the test thread
                result["error"] = exc
        t = threading.Thread(target=body)
        t.start()
        poll_until(self.server, lambda: not t.is_alive(), 30)
        t.join(5)
        if "error" in result:
            raise result["error"]
        return result["value"]

    def test_verified_echo(self):
        got = self.run_client(lambda ws: (ws.send("héllo"), ws.recv(), ws.send(b"\x00\x01"),
                                          ws.recv())[1::2])
        self.assertEqual(got, ("héllo", b"\x00\x01"))
        self.assertEqual(self.rec.wait("client_disconnected")[0][1], True)

    def test_tls12_client(self):
        """TLS 1.2's client waits for the server's last flight before its request."""
        ctx = client_context()
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        self.assertEqual(self.run_client(lambda ws: (ws.send("over 1.2"), ws.recv())[1], ctx),
                         "over 1.2")

    def test_session_tickets_leave_with_the_101(self):
        """The upgrade request came with the client's Finished: the TLS 1.3
        session tickets wait for the answer and leave in the same send."""
        raw = self.raw()
        with mock.patch.object(_Handshake, "_sendall", autospec=True,
                               side_effect=_Handshake._sendall) as sendall:
            client, to_client, to_server = memory_client(raw)
            client.write(UPGRADE)
            raw.sendall(to_server.read())  # Finished + request in one segment
            answer = read_answer(raw, client, to_client)
            self.assertTrue(answer.startswith(b"HTTP/1.1 101 "))
            self.assertEqual(client.version(), "TLSv1.3")
            self.assertTrue(client.session is not None and client.session.has_ticket)
            self.assertEqual(sendall.call_count, 2)  # ServerHello..Finished; tickets + 101
        self.rec.wait("client_connected")

    def test_tls13_tickets_wait_for_the_101_when_the_request_comes_later(self):
        """The client's Finished came alone: nothing reaches the client until its
        request did (a client writing the request on one thread while another
        reads must not get the tickets in between), then tickets + 101."""
        raw = self.raw()
        client, to_client, to_server = memory_client(raw)
        self.assertEqual(client.version(), "TLSv1.3")
        raw.sendall(to_server.read())  # the client's Finished, alone
        readable, _, _ = select.select([raw], [], [], 0.3)  # the tickets would come at once
        self.assertEqual(readable, [], "the server sent before the request")
        client.write(UPGRADE)
        raw.sendall(to_server.read())
        answer = read_answer(raw, client, to_client)
        self.assertTrue(answer.startswith(b"HTTP/1.1 101 "))
        self.assertTrue(client.session is not None and client.session.has_ticket)
        self.rec.wait("client_connected")

    def test_large_message_both_ways(self):
        data = os.urandom(5 * 1024 * 1024)
        self.assertEqual(self.run_client(lambda ws: (ws.send(data), ws.recv())[1]), data)

    def test_many_small_with_concurrent_server_sends(self):
        self.server.disconnect("data_received", self.echo)
        received = []
        self.server.connect("data_received",
                            lambda pid: received.append(self.server.get_peer(pid).get_packet()))
        n = 2000

        def client(ws):
            for i in range(n):
                ws.send(i.to_bytes(4, "big"))
            got = [ws.recv() for _ in range(n)]
            return got

        result = {}
        t = threading.Thread(target=lambda: result.update(
            v=self.run_client_inline(client)))
        t.start()
        (pid, _), = self.rec.wait("client_connected")
        sent = 0
        end = time.monotonic() + 30
        while (sent < n or t.is_alive()) and time.monotonic() < end:
            if sent < n:
                self.assertEqual(self.server.get_peer(pid).put_packet(sent.to_bytes(4, "big")),
                                 Error.OK)
                sent += 1
            self.server.poll(0)
        t.join(5)
        self.assertEqual(result["v"], [i.to_bytes(4, "big") for i in range(n)])
        poll_until(self.server, lambda: len(received) >= n, 10)
        self.assertEqual(received, [i.to_bytes(4, "big") for i in range(n)])

    def run_client_inline(self, fn):
        with connect(f"wss://localhost:{self.port}", ssl=client_context(),
                     max_size=None, open_timeout=30) as ws:
            return fn(ws)

    def test_plain_ws_and_garbage_dropped(self):
        self.server.stop()
        self.server.handshake_timeout = 1.0  # the stalled client is dropped after this
        self.assertEqual(self.server.listen(0), Error.OK)
        self.port = self.server.get_port()
        with self.assertLogs("godot_ws", "INFO"):
            plain = self.raw()
            plain.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            garbage = self.raw()
            garbage.sendall(os.urandom(64))
            stalled = self.raw()
            stalled.sendall(bytes.fromhex("16030100"))  # half a TLS record
            for s in (plain, garbage, stalled):
                out = read_all(s, 5)
                self.assertFalse(out.startswith(b"HTTP/1.1 101"))
        self.assertEqual(self.run_client(lambda ws: (ws.send("ok"), ws.recv())[1]), "ok")


class TLSStopTests(TLSServerTests.__bases__[0]):
    """stop() while a TLS peer's backlog is not empty: the stream stays intact."""

    configure = TLSServerTests.configure
    echo = TLSServerTests.echo

    def test_stop_with_a_backlog_never_sends_records_out_of_order(self):
        import base64
        raw = self.raw()
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        tls = client_context().wrap_socket(raw, server_hostname="localhost",
                                           do_handshake_on_connect=False)
        done = threading.Event()
        threading.Thread(target=lambda: (tls.do_handshake(), done.set()), daemon=True).start()
        self.assertTrue(done.wait(30))
        key = base64.b64encode(os.urandom(16)).decode()
        tls.sendall((f"GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
                     f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        (pid, _), = self.rec.wait("client_connected")
        peer = self.server.get_peer(pid)
        peer._conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)  # backlog early
        chunk = os.urandom(60000)
        sent = 0
        while peer.get_current_outbound_buffered_amount() == 0 and sent < 100:
            self.assertEqual(peer.put_packet(chunk), Error.OK)
            sent += 1
        self.assertGreater(peer.get_current_outbound_buffered_amount(), 0)
        self.server.stop()
        tls.settimeout(10)
        stream = b""
        try:
            while True:
                data = tls.recv(65536)
                if not data:
                    break
                stream += data
        except (ssl.SSLEOFError, ConnectionResetError):
            pass  # cut without close_notify: allowed, a corrupt or reordered record is not
        head, _, body = stream.partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.1 101"))
        # Whatever arrived is whole frames of the chunk, in order (a prefix).
        expected = b"".join(b"\x82\x7e" + len(chunk).to_bytes(2, "big") + chunk
                            for _ in range(sent))
        self.assertEqual(body[:len(expected)], expected[:len(body)])
        tls.close()


class TLSListenTests(unittest.TestCase):
    def test_mismatched_key_refused_at_listen(self):
        s = WebSocketServer()
        s.private_key = other_key()
        s.ssl_certificate = X509Certificate.from_cryptography(chain().leaf_cert)
        with self.assertLogs("godot_ws", "ERROR"):
            self.assertEqual(s.listen(0), Error.ERR_INVALID_PARAMETER)
        self.assertFalse(s.is_listening())



class TLSClient:
    """A TLS client over memory BIOs, so the test controls every record sent."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        self.inc, self.out = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.obj = client_context().wrap_bio(self.inc, self.out, server_hostname="localhost")
        while True:
            try:
                self.obj.do_handshake()
                break
            except ssl.SSLWantReadError:
                self.sock.sendall(self.out.read())
                self._feed()
        self.sock.sendall(self.out.read())

    def _feed(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise AssertionError("server closed during the TLS handshake")
        self.inc.write(data)

    def records(self, plaintext: bytes) -> bytes:
        self.obj.write(plaintext)
        return self.out.read()

    def upgrade(self) -> None:
        self.sock.sendall(self.records(
            ("GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
             "Connection: Upgrade\r\nSec-WebSocket-Key: " + SAMPLE_KEY + "\r\n"
             "Sec-WebSocket-Version: 13\r\n\r\n").encode()))
        head = b""
        while b"\r\n\r\n" not in head:
            try:
                head += self.obj.read(65536)
            except ssl.SSLWantReadError:
                self._feed()
        if not head.startswith(b"HTTP/1.1 101 "):
            raise AssertionError(f"upgrade refused: {head!r}")


class TLSWriteErrorTests(ServerTestCase):
    """A TLS session broken by a bad record must not turn writes into exceptions.

    A client sends one good TLS record (a WebSocket ping) and a corrupt record in
    one segment: the server decrypts the ping, the corrupt record breaks the TLS
    session, and answering the ping encrypts on a broken session. That error must
    close the peer like any other write failure, not escape from the peer thread
    (which skips its cleanup and leaves the connection OPEN) or from ``put_packet``.
    """
    configure = TLSServerTests.configure  # the chain, limits and an echo handler
    echo = TLSServerTests.echo

    def test_write_on_broken_session_closes_peer_without_raising(self):
        client = TLSClient(self.port)
        self.clients.append(client.sock)
        client.upgrade()
        (pid, _), = self.rec.wait("client_connected")
        peer = self.server.get_peer(pid)
        ping = client.records(Connection(ConnectionType.CLIENT).send(Ping(b"hi")))
        bogus = bytes([23, 3, 3, 0, 40]) + os.urandom(40)   # application data, bad MAC
        with no_logs(self, "godot_ws", "ERROR"):  # the bug also kills the peer thread
            client.sock.sendall(ping + bogus)
            read_all(client.sock, TIMEOUT)  # the server closed its socket
            # Not polled yet: the peer is still known, its connection must be closed.
            try:
                err = peer.put_packet(b"after")
            except Exception as exc:  # the bug: TLSError escapes put_packet
                self.fail(f"put_packet raised {type(exc).__name__}: {exc}")
            self.assertNotEqual(err, 0)
            self.assertEqual(self.rec.wait("client_disconnected")[0][:2], (pid, False))


if __name__ == "__main__":
    unittest.main()
