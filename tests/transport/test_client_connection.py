"""WebSocketClient against hostile servers built from raw sockets: every bad answer
ends in connection_error (raw) or connection_failed (multiplayer), a log line
saying why, and no thread or socket left behind."""
from __future__ import annotations

import logging
import socket
import threading
import time
import unittest
from typing import Callable

from wsproto import ConnectionType
from wsproto.connection import Connection
from wsproto.events import BytesMessage, CloseConnection

from godot_ws import ConnectionStatus, WebSocketClient
from godot_ws.protocol.handshake import accept_key
from tests.support import TIMEOUT, fd_count, masked_frame, read_http_head


class HostileServer:
    """Accepts one connection on 127.0.0.1:0 and runs ``behave(sock, request_head)``."""

    def __init__(self, behave: Callable[[socket.socket, bytes], None]) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.behave = behave
        self.received = b""
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        self.listener.settimeout(TIMEOUT)
        try:
            sock, _ = self.listener.accept()
        except OSError:
            return
        with sock:
            sock.settimeout(TIMEOUT)
            head, _ = read_http_head(sock)
            self.behave(sock, head)
            try:  # what the client says before it goes (its close frame, if any)
                while True:
                    chunk = sock.recv(65536)
                    if not chunk:
                        break
                    self.received += chunk
            except OSError:
                pass

    def close(self) -> None:
        self.listener.close()
        self.thread.join(TIMEOUT)


def key_of(head: bytes) -> str:
    for line in head.decode("latin-1").split("\r\n"):
        name, _, value = line.partition(":")
        if name.lower() == "sec-websocket-key":
            return value.strip()
    raise AssertionError(f"no key in {head!r}")


def upgrade(head: bytes, extra: str = "") -> bytes:
    return (f"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Accept: {accept_key(key_of(head))}\r\n{extra}\r\n").encode()


def answer(data: bytes | Callable[[bytes], bytes]) -> Callable[[socket.socket, bytes], None]:
    def behave(sock: socket.socket, head: bytes) -> None:
        sock.sendall(data(head) if callable(data) else data)
    return behave


def close_code(received: bytes) -> int | None:
    """The code of the first close frame in what the client sent after its request."""
    conn = Connection(ConnectionType.SERVER)
    conn.receive_data(received)
    for event in conn.events():
        if isinstance(event, CloseConnection):
            return event.code
    return None


class HostileServerTest(unittest.TestCase):
    def setUp(self) -> None:
        self.threads = threading.active_count()
        self.fds = fd_count()
        self.addCleanup(self.check_released)  # runs last: after the servers' cleanups

    def check_released(self) -> None:
        end = time.monotonic() + TIMEOUT
        while time.monotonic() < end and threading.active_count() > self.threads:
            time.sleep(0.01)
        self.assertLessEqual(threading.active_count(), self.threads, "threads leaked")
        self.assertLessEqual(fd_count(), self.fds, "file descriptors leaked")

    def outcome(self, port: int, mp: bool = False, protocols=(), timeout: float = 3.0,
                upgraded: bool = False) -> str:
        """Connect, poll until the attempt ends; returns the log text. Asserts the signals:
        the failure one, after ``connection_established`` if the upgrade went through."""
        client = WebSocketClient()
        client.handshake_timeout = timeout
        fired: list[str] = []
        for signal in ("connection_established", "connection_error", "connection_closed",
                       "connection_succeeded", "connection_failed", "server_disconnected"):
            client.connect(signal, lambda *a, s=signal: fired.append(s))
        with self.assertLogs("godot_ws", logging.WARNING) as logs:
            client.connect_to_url(f"ws://127.0.0.1:{port}/", protocols, mp)
            end = time.monotonic() + TIMEOUT
            while client.get_connection_status() != ConnectionStatus.CONNECTION_DISCONNECTED:
                self.assertLess(time.monotonic(), end, f"still {client.get_connection_status()!r}")
                client.poll(0.05)
        client.stop()
        expected = ["connection_failed"] if mp else ["connection_error"]
        self.assertEqual(fired, ["connection_established"] + expected if upgraded else expected)
        return "\n".join(logs.output)

    def hostile(self, behave, **kwargs) -> tuple[str, HostileServer]:
        server = HostileServer(behave)
        self.addCleanup(server.close)
        log = self.outcome(server.port, **kwargs)
        server.thread.join(TIMEOUT)
        return log, server

    def test_refused(self):
        s = socket.create_server(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        self.assertIn("Connection refused", self.outcome(port))
        self.assertIn("Connection refused", self.outcome(port, mp=True))

    def test_no_answer(self):
        gate = threading.Event()
        log, _ = self.hostile(lambda sock, head: gate.wait(TIMEOUT), timeout=0.5)
        gate.set()
        self.assertIn("no answer within the handshake timeout (0.5 s)", log)

    def test_not_101(self):
        log, _ = self.hostile(answer(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"))
        self.assertIn("'HTTP/1.1 404 Not Found' instead of", log)

    def test_closed_without_answer(self):
        log, _ = self.hostile(lambda sock, head: sock.shutdown(socket.SHUT_WR), mp=True)
        self.assertIn("connection closed during handshake", log)

    def test_wrong_accept(self):
        log, _ = self.hostile(answer(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"))
        self.assertIn("wrong Sec-WebSocket-Accept", log)

    def test_subprotocol_not_offered(self):
        log, _ = self.hostile(answer(lambda head: upgrade(head, "Sec-WebSocket-Protocol: evil\r\n")),
                              protocols=["chat"])
        self.assertIn("chose subprotocol 'evil', not one of chat", log)

    def test_subprotocol_when_none_offered(self):
        log, _ = self.hostile(answer(lambda head: upgrade(head, "Sec-WebSocket-Protocol: chat\r\n")))
        self.assertIn("none was offered", log)

    def test_headers_too_big(self):
        log, _ = self.hostile(answer(b"HTTP/1.1 101 OK\r\nX: " + b"a" * 5000 + b"\r\n\r\n"))
        self.assertIn("response headers over 4096 bytes", log)

    def test_masked_server_frame_is_1002(self):
        log, server = self.hostile(answer(lambda head: upgrade(head) + masked_frame(2, b"hi")),
                                   upgraded=True)
        self.assertIn("broke the protocol", log)
        self.assertEqual(close_code(server.received), 1002)

    def test_reserved_opcode_is_1002(self):
        log, server = self.hostile(answer(lambda head: upgrade(head) + masked_frame(3, b"", mask=False)),
                                   mp=True)
        self.assertIn("closing with 1002", log)
        self.assertEqual(close_code(server.received), 1002)

    def test_oversized_message_is_1009(self):
        big = Connection(ConnectionType.SERVER).send(BytesMessage(data=b"x" * (70 * 1024)))
        log, server = self.hostile(answer(lambda head: upgrade(head) + big), upgraded=True)
        self.assertIn("closing with 1009", log)
        self.assertEqual(close_code(server.received), 1009)

    def test_bad_utf8_is_1007(self):
        log, server = self.hostile(answer(lambda head: upgrade(head) + b"\x81\x02\xc3\x28"),
                                   upgraded=True)
        self.assertIn("closing with 1007", log)
        self.assertEqual(close_code(server.received), 1007)


if __name__ == "__main__":
    unittest.main()
