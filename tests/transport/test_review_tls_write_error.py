"""Review: a TLS session broken by a bad record must not turn writes into exceptions.

A client sends one good TLS record (a WebSocket ping) and a corrupt record in
one segment: the server decrypts the ping, the corrupt record breaks the TLS
session, and answering the ping encrypts on a broken session. That error must
close the peer like any other write failure, not escape from the peer thread
(which skips its cleanup and leaves the connection OPEN) or from ``put_packet``.
"""
import os
import socket
import ssl
import unittest

from wsproto import ConnectionType
from wsproto.connection import Connection
from wsproto.events import Ping

from tests.support import SAMPLE_KEY, TIMEOUT, ServerTestCase, no_logs, read_all
from tests.transport import test_tls_server as tls_tests


class TLSClient:
    """A TLS client over memory BIOs, so the test controls every record sent."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        self.inc, self.out = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.obj = tls_tests.client_context().wrap_bio(self.inc, self.out, server_hostname="localhost")
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
    configure = tls_tests.TLSServerTests.configure  # the chain, limits and an echo handler
    echo = tls_tests.TLSServerTests.echo

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
