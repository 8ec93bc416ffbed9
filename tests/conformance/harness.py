"""Shared harness of the outside-in suites: an echo server test case whose
library logs are captured (kept off stderr, open to assertions)."""
from __future__ import annotations

import logging
from collections.abc import Sequence

from godot_ws.enums import WriteMode
from tests.conformance.wire import Pump, handshake
from tests.support import ServerTestCase

__all__ = ["WAIT", "CaptureLogs", "EchoServerCase", "echo_all"]

WAIT = 10.0


def echo_all(server, peer_id: int) -> None:
    """Echo every queued packet of ``peer_id``, keeping text as text."""
    peer = server.get_peer(peer_id)
    while peer is not None and peer.get_available_packet_count():
        data = peer.get_packet()
        peer.set_write_mode(WriteMode.WRITE_MODE_TEXT if peer.was_string_packet()
                            else WriteMode.WRITE_MODE_BINARY)
        peer.put_packet(data)


class CaptureLogs(logging.Handler):
    """Keeps the library's log messages off stderr and available to
    assertions: the first ``KEEP`` messages and a count of all of them (a
    flood logs one error per dropped packet; memory checks must not see them)."""

    KEEP = 500

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []
        self.exceptions: list[str] = []   # records logged with a traceback
        self.count = 0
        self._logger = logging.getLogger("godot_ws")

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1
        if len(self.messages) < self.KEEP:
            self.messages.append(record.getMessage())
        if record.exc_info and len(self.exceptions) < self.KEEP:
            self.exceptions.append(self.format(record))

    def text(self) -> str:
        return "\n".join(self.messages)

    def __enter__(self) -> CaptureLogs:
        self._saved = self._logger.propagate
        self._logger.addHandler(self)
        self._logger.propagate = False
        return self

    def __exit__(self, *exc) -> None:
        self._logger.removeHandler(self)
        self._logger.propagate = self._saved


class EchoServerCase(ServerTestCase):
    """A raw-mode echo server (message type kept) with the library's logs captured."""

    buffers = None

    def setUp(self) -> None:
        self.logs = CaptureLogs().__enter__()
        self.addCleanup(self.logs.__exit__)
        super().setUp()

    def configure(self, server) -> None:
        if self.buffers is not None:
            server.set_buffers(*self.buffers)
        server.connect("data_received", self.echo)

    def echo(self, peer_id: int) -> None:
        echo_all(self.server, peer_id)

    def open_pump(self, headers: Sequence[str] = (),
                  trailing: bytes = b"") -> tuple[bytes, Pump, int]:
        """A client through the upgrade: (101 head, its pump, its peer id)."""
        sock = self.raw()
        known = len(self.rec.of("client_connected"))
        head, rest = handshake(sock, self.port, headers, trailing)
        self.assertTrue(head.startswith(b"HTTP/1.1 101 "), head)
        pump = Pump(self.server, sock, rest)
        self.assertTrue(pump.wait_for(lambda: len(self.rec.of("client_connected")) > known, WAIT),
                        "client_connected did not fire")
        return head, pump, self.rec.of("client_connected")[known][0]
