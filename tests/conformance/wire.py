"""Client-side wire tools for the outside-in suites: frames built by hand (any
defect on request), a strict parser of what the server sends, and a pump that
drives socket I/O and ``server.poll()`` from one thread with bounded waits.

The frames here are deliberately hand-made (not wsproto) so that a test can
send exactly the malformed bytes it wants.
"""
from __future__ import annotations

import base64
import os
import select
import socket
import struct
import time
from collections.abc import Sequence
from typing import Callable

from tests.support import read_http_head

__all__ = ["mask", "frame", "close_payload", "upgrade_request", "ServerFrames",
           "WireError", "Pump", "OP_CONT", "OP_TEXT", "OP_BINARY", "OP_CLOSE",
           "OP_PING", "OP_PONG", "handshake"]

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
_NAMES = {OP_TEXT: "text", OP_BINARY: "binary", OP_PING: "ping", OP_PONG: "pong"}


def mask(payload: bytes, key: bytes) -> bytes:
    """XOR ``payload`` with the 4-byte ``key`` (fast for MiB payloads)."""
    n = len(payload)
    if not n:
        return b""
    stream = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(stream, "big")).to_bytes(n, "big")


def frame(opcode: int, payload: bytes = b"", fin: bool = True, rsv: int = 0,
          masked: bool = True, length: int | None = None,
          length_bytes: int | None = None, key: bytes | None = None) -> bytes:
    """One client frame. ``length``/``length_bytes`` override the announced
    length and its encoding (0, 2 or 8 extra bytes) to build malformed headers."""
    n = len(payload) if length is None else length
    if length_bytes is None:
        length_bytes = 0 if n <= 125 else 2 if n <= 0xFFFF else 8
    b0 = (0x80 if fin else 0) | (rsv << 4) | opcode
    m = 0x80 if masked else 0
    if length_bytes == 0:
        head = struct.pack("!BB", b0, m | n)
    elif length_bytes == 2:
        head = struct.pack("!BBH", b0, m | 126, n)
    else:
        head = struct.pack("!BBQ", b0, m | 127, n)
    if not masked:
        return head + payload
    key = os.urandom(4) if key is None else key
    return head + key + mask(payload, key)


def close_payload(code: int | None, reason: bytes = b"") -> bytes:
    return b"" if code is None else struct.pack("!H", code) + reason


def upgrade_request(port: int, extra_headers: Sequence[str] = ()) -> bytes:
    lines = ["GET /conformance HTTP/1.1", f"Host: 127.0.0.1:{port}",
             "Upgrade: websocket", "Connection: Upgrade",
             "Sec-WebSocket-Key: " + base64.b64encode(os.urandom(16)).decode(),
             "Sec-WebSocket-Version: 13", *extra_headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


class WireError(AssertionError):
    """The server put something on the wire that RFC 6455 forbids."""


class ServerFrames:
    """Incremental strict parser of server-to-client frames.

    Produces events ``("text"|"binary", payload)``, ``("ping"|"pong", payload)``
    and ``("close", code or None, reason bytes)``; fragmented messages are joined.
    """

    def __init__(self) -> None:
        self.buf = bytearray()
        self.events: list[tuple] = []
        self._msg_op: int | None = None
        self._parts: list[bytes] = []
        self.closed = False

    def feed(self, data: bytes) -> None:
        self.buf += data
        while self._one():
            pass

    def _one(self) -> bool:
        buf = self.buf
        if len(buf) < 2:
            return False
        b0, b1 = buf[0], buf[1]
        fin, rsv, op = b0 & 0x80, (b0 >> 4) & 7, b0 & 0x0F
        if b1 & 0x80:
            raise WireError("server frame is masked")
        if rsv:
            raise WireError(f"server frame has RSV bits {rsv}")
        n, pos = b1 & 0x7F, 2
        if n == 126:
            if len(buf) < 4:
                return False
            n, pos = struct.unpack_from("!H", buf, 2)[0], 4
            if n < 126:
                raise WireError("server used a non-minimal 16-bit length")
        elif n == 127:
            if len(buf) < 10:
                return False
            n, pos = struct.unpack_from("!Q", buf, 2)[0], 10
            if n <= 0xFFFF:
                raise WireError("server used a non-minimal 64-bit length")
        if len(buf) < pos + n:
            return False
        payload = bytes(buf[pos:pos + n])
        del buf[:pos + n]
        if self.closed:
            raise WireError(f"server sent a frame (opcode {op}) after its close frame")
        if op >= 0x8:
            if not fin or n > 125:
                raise WireError("server sent a fragmented or oversized control frame")
            if op == OP_CLOSE:
                self.closed = True
                if n == 1:
                    raise WireError("server close frame with a 1-byte payload")
                code = struct.unpack("!H", payload[:2])[0] if n else None
                self.events.append(("close", code, payload[2:]))
            elif op in (OP_PING, OP_PONG):
                self.events.append((_NAMES[op], payload))
            else:
                raise WireError(f"server sent reserved control opcode {op}")
            return True
        if op == OP_CONT:
            if self._msg_op is None:
                raise WireError("server sent a continuation without a message")
        elif op in (OP_TEXT, OP_BINARY):
            if self._msg_op is not None:
                raise WireError("server started a message inside another")
            self._msg_op = op
        else:
            raise WireError(f"server sent reserved data opcode {op}")
        self._parts.append(payload)
        if fin:
            data = b"".join(self._parts)
            if self._msg_op == OP_TEXT:
                try:
                    data.decode("utf-8")
                except UnicodeDecodeError:
                    raise WireError("server sent invalid UTF-8 in a text message") from None
            self.events.append((_NAMES[self._msg_op], data))
            self._msg_op, self._parts = None, []
        return True


class Pump:
    """One client socket, driven together with ``server.poll`` on this thread.

    Every wait is bounded; sends interleave with reads and polls so that
    neither side's buffers can deadlock the test.
    """

    def __init__(self, server, sock: socket.socket, initial: bytes = b"") -> None:
        self.server = server
        self.sock = sock
        self.frames = ServerFrames()
        self.eof = False
        self.reset = False
        sock.setblocking(False)
        if initial:
            self.frames.feed(initial)

    @property
    def events(self) -> list[tuple]:
        return self.frames.events

    def _read(self, wait: float) -> None:
        if self.eof:
            if wait:
                time.sleep(min(wait, 0.01))
            return
        r, _, _ = select.select([self.sock], [], [], wait)
        if not r:
            return
        try:
            data = self.sock.recv(1 << 20)
        except BlockingIOError:
            return
        except (ConnectionResetError, BrokenPipeError):
            self.eof = self.reset = True
            return
        if not data:
            self.eof = True
            return
        self.frames.feed(data)

    def step(self, wait: float = 0.002) -> None:
        self.server.poll(0)
        self._read(wait)

    def send(self, data: bytes, chop: int | None = None, timeout: float = 20.0) -> bool:
        """Send ``data`` (in ``chop``-byte writes if given); False if the server
        closed the connection before everything went out."""
        if chop:
            try:
                self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
        view = memoryview(data)
        step = chop or len(view) or 1
        end = time.monotonic() + timeout
        while view:
            if time.monotonic() > end:
                raise AssertionError("send did not finish in time")
            try:
                sent = self.sock.send(view[:step])
            except BlockingIOError:
                self.step()
                continue
            except (BrokenPipeError, ConnectionResetError):
                return False
            view = view[sent:]
            if chop:
                self.step(0)
        return True

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
        end = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > end:
                return False
            self.step()
        return True

    def wait_events(self, count: int, timeout: float = 10.0) -> bool:
        return self.wait_for(lambda: len(self.events) >= count or self.eof, timeout) \
            and len(self.events) >= count

    def wait_eof(self, timeout: float = 10.0) -> bool:
        return self.wait_for(lambda: self.eof, timeout)


def handshake(sock: socket.socket, port: int, extra_headers: Sequence[str] = (),
              trailing: bytes = b"", timeout: float = 10.0) -> tuple[bytes, bytes]:
    """Send an upgrade request (plus ``trailing`` bytes in the same write);
    return (response head, bytes after it)."""
    sock.settimeout(timeout)
    sock.sendall(upgrade_request(port, extra_headers) + trailing)
    return read_http_head(sock, timeout)
