"""The WebSocket session after the upgrade, sans I/O: bytes in, events and bytes out.

One pure object owns every rule of an open connection (RFC 6455 §5-7):

- message assembly from fragments, and the size limit (close 1009);
- answers to pings, within the output limits (a client that floods pings and
  reads nothing must not grow our output);
- the closing handshake and Godot's mappings of it: a close frame without a
  code reports code 0, a reason is cut at its first NUL;
- which close codes a peer may send (RFC 6455 §7.4 plus IANA's 1012-1014);
- answer, then close: after a protocol error the messages before it are
  still delivered, nothing after it is, and the close frame for the error is
  made only when the I/O layer asks for it (after the application's replies
  to those messages went out), see :meth:`Session.failure_close`.

Frame parsing and validation are wsproto's: its ``FrameProtocol``'s frame and
message decoders, driven directly (the wsproto internals this relies on are
pinned by tests/protocol/test_session_wsproto.py); this module adds no
socket, thread, lock or clock. The caller serialises access (the
transport holds the connection's lock around every call).
"""
from __future__ import annotations

import struct
from enum import IntEnum
from typing import TYPE_CHECKING, NamedTuple, Union

from wsproto.frame_protocol import CloseReason, Frame, FrameProtocol, Opcode, ParseFailed

from .frames import frame_header
from .limits import Limits
from .unmask import make_frame_protocol

if TYPE_CHECKING:
    from collections.abc import Sequence

    from wsproto.extensions import Extension

__all__ = ["Session", "State", "OPEN", "CLOSING", "CLOSED", "Message", "PongReceived",
           "CloseReceived", "ProtocolError",
           "SessionEvent", "NO_CODE", "valid_close_code"]


class State(IntEnum):
    """Where the closing handshake is."""
    OPEN = 0      #: data flows both ways
    CLOSING = 1   #: we sent a close frame and wait for the answer
    CLOSED = 2    #: the handshake completed, or the session failed


# Enum members bound once: looking one up on its class costs ~150 ns on
# CPython 3.11, and the hot paths below would pay it several times per message.
OPEN, CLOSING, CLOSED = State.OPEN, State.CLOSING, State.CLOSED
_TEXT, _PING, _PONG = Opcode.TEXT, Opcode.PING, Opcode.PONG


class Message(NamedTuple):
    """A complete message: its payload (text as UTF-8 bytes, already validated)."""
    data: bytes
    is_text: bool


class PongReceived(NamedTuple):
    """The peer answered a ping (keepalive)."""
    payload: bytes


class CloseReceived(NamedTuple):
    """The peer started the closing handshake; the answer is in :meth:`Session.data_to_send`.

    ``code`` is 0 when the close frame carried none (Godot's convention), and
    ``reason`` ends at its first NUL, as Godot reads it.
    """
    code: int
    reason: str


class ProtocolError(NamedTuple):
    """The peer broke the protocol (``code``: 1002, 1007 or 1009). Nothing after
    it is parsed; :meth:`Session.failure_close` makes the close frame."""
    code: int
    reason: str


SessionEvent = Union[Message, PongReceived, CloseReceived, ProtocolError]

#: What the close frame's code is reported as when it had none (Godot's value).
NO_CODE = 0
_NO_STATUS_RCVD = 1005
_MESSAGE_TOO_BIG = 1009
_UNBOUNDED = 1 << 62


def valid_close_code(code: int) -> bool:
    """May a peer send ``code`` in a close frame? (RFC 6455 §7.4, IANA registry:
    1012-1014 are registered; 1004-1006 and 1015 are reserved.)"""
    return (1000 <= code <= 1003 or 1007 <= code <= 1014 or 3000 <= code <= 4999)


class _Frames(FrameProtocol):
    """wsproto's frame protocol with the close-code rules above (wsproto 1.x
    refuses 1014). Validation of everything else is wsproto's."""

    def _process_close(self, frame: Frame) -> Frame:
        data = frame.payload
        assert isinstance(data, (bytes, bytearray))
        if not data:
            return Frame(frame.opcode, (_NO_STATUS_RCVD, ""), frame.frame_finished,
                         frame.message_finished)
        if len(data) == 1:
            raise ParseFailed("close frame with a 1-byte payload")
        (code,) = struct.unpack("!H", data[:2])
        if not valid_close_code(code):
            raise ParseFailed(f"close frame with invalid code {code}")
        try:
            reason = bytes(data[2:]).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ParseFailed(f"close reason is not UTF-8: {exc}",
                              CloseReason.INVALID_FRAME_PAYLOAD_DATA) from None
        return Frame(frame.opcode, (code, reason), frame.frame_finished, frame.message_finished)


class Session:
    """One side of a WebSocket connection after the upgrade.

    ``receive(data)`` parses what arrived and returns events; control frames it
    answers (pongs, the close reply) are collected for :meth:`data_to_send`.
    Misuse (sending after the session closed, a bad close code of our own)
    raises ``ValueError``/``RuntimeError``; a misbehaving peer produces a
    :class:`ProtocolError` event instead.
    """

    def __init__(self, limits: Limits, *, client: bool = False,
                 extensions: Sequence[Extension] = ()) -> None:
        self.limits = limits
        self.client = client
        self.state = OPEN
        #: True once the closing handshake completed (whoever started it).
        self.clean = False
        #: Set when the peer broke the protocol; its close is still to be sent.
        self.failure: ProtocolError | None = None
        #: Data frames need the frame protocol (compression, client masking).
        self.framed = client or bool(extensions)
        self._extensions = list(extensions)
        self._frames: _Frames | None = None  # made on first use: see _protocol()
        self._parts: list[bytes] = []
        self._size = 0
        self._out: list[bytes] = []
        #: :meth:`receive` stopped at its budget: more may be buffered.
        self.more_buffered = False

    def _protocol(self) -> _Frames:
        """wsproto's frame protocol, made when first needed: an idle server peer
        never needs it (0.8 KB, and making it nests three constructors, which a
        peer thread would keep paying for in resident stack)."""
        frames = self._frames
        if frames is None:
            frames = self._frames = make_frame_protocol(self.client, self._extensions, _Frames)
        return frames

    @property
    def receiving_message(self) -> bool:
        """A message is partly in (the reader may take larger reads)."""
        return self._size > 0

    # -- input ---------------------------------------------------------------

    def receive(self, data: bytes | memoryview, queued_packets: int = 0, queued_bytes: int = 0,
                *, max_messages: int = _UNBOUNDED, max_bytes: int = _UNBOUNDED
                ) -> list[SessionEvent]:
        """Parse ``data`` (copied: the caller may reuse its buffer); return what
        it completed, in order.

        ``queued_packets``/``queued_bytes`` is what waits in the output already:
        a ping is answered only while its pong fits the output limits.
        ``max_messages``/``max_bytes`` bound what one call hands out: parsing
        stops after the message that reaches either, the rest stays
        buffered (:attr:`more_buffered`) for the next call (``receive(b"")``).
        """
        self.more_buffered = False
        if self.failure is not None or self.state is CLOSED:
            return []  # nothing after an error or the close is delivered
        events: list[SessionEvent] = []
        frames = self._frames or self._protocol()
        # Parsing drives wsproto's two decoders directly (what the protocol's
        # received_frames() generators do, without them): same checks, fewer calls.
        decoder = frames._frame_decoder
        pending = decoder.buffer.buffer
        pending += data  # wsproto's buffer: a bytearray, so the caller's buffer is copied
        try:
            # A frame is parsed only while bytes (or a frame's header) are
            # pending: an empty buffer needs no failed header parse per read.
            while pending or decoder.header is not None:
                frame = decoder.process_buffer()
                if frame is None:
                    break
                opcode = frame.opcode
                if not opcode & 8:  # a data frame: TEXT, BINARY or CONTINUATION
                    frame = frames._message_decoder.process_frame(frame)
                    count = len(events)
                    if not self._data_frame(frame, frame.opcode is _TEXT, events):
                        break
                    if len(events) > count:  # a message completed
                        max_messages -= 1
                        max_bytes -= len(events[-1][0])  # type: ignore[arg-type]
                        if max_messages <= 0 or max_bytes <= 0:
                            self.more_buffered = True
                            break
                elif opcode is _PING:
                    payload = bytes(frame.payload)  # type: ignore[arg-type]
                    if self.state is OPEN and not self.limits.output_full(
                            queued_packets, queued_bytes, len(payload)):
                        pong = frames.pong(payload)
                        self._out.append(bytes(pong))
                        queued_packets += 1
                        queued_bytes += len(pong)
                elif opcode is _PONG:
                    events.append(PongReceived(bytes(frame.payload)))  # type: ignore[arg-type]
                else:  # CLOSE: wsproto's decoder admits no other opcode
                    self._close_frame(frames._process_close(frame), events)
                    break
        except ParseFailed as exc:
            self._fail(int(exc.code), str(exc), events)
        return events

    def _data_frame(self, frame: Frame, text: bool, events: list[SessionEvent]) -> bool:
        payload = frame.payload
        # Text is kept as its UTF-8 bytes (wsproto checked them).
        chunk = payload.encode() if text else payload  # type: ignore[union-attr]
        self._size += len(chunk)
        if self._size > self.limits.max_message_size:
            self._fail(_MESSAGE_TOO_BIG, "message too big", events)
            return False
        if chunk:  # empty fragments must cost no memory per frame
            self._parts.append(chunk)  # type: ignore[arg-type]
        if frame.message_finished:
            parts, self._parts, self._size = self._parts, [], 0
            if self.state is OPEN:  # after our close, data is ignored
                data = parts[0] if len(parts) == 1 else b"".join(parts)
                events.append(Message(data if data.__class__ is bytes else bytes(data), text))
        return True

    def _close_frame(self, frame: Frame, events: list[SessionEvent]) -> None:
        payload = frame.payload
        assert isinstance(payload, tuple)  # _Frames._process_close made it
        code, reason = payload
        self.clean = True
        if self.state is OPEN:
            events.append(CloseReceived(NO_CODE if code == _NO_STATUS_RCVD else int(code),
                                        reason.split("\x00", 1)[0]))
            self._out.append(bytes(self._protocol().close(
                None if code == _NO_STATUS_RCVD else code, reason or None)))
        self.state = CLOSED

    def _fail(self, code: int, reason: str, events: list[SessionEvent]) -> None:
        self._parts, self._size = [], 0
        self.failure = ProtocolError(code, reason)
        events.append(self.failure)

    # -- output ----------------------------------------------------------------

    def data_to_send(self) -> list[bytes]:
        """Control frames :meth:`receive` produced (pongs, the close reply), in order."""
        out, self._out = self._out, []
        return out

    def encode(self, payload: bytes, text: bool) -> tuple[bytes, bytes]:
        """One data message as the two buffers to write: ``(header, payload)``
        when frames need no processing (a server without extensions: the
        payload is never copied), else ``(the processed frame, b"")``."""
        if self.state is not OPEN:  # replies before a failure's close may still go
            raise RuntimeError("cannot send a message: the session is closing or closed")
        if not self.framed:
            return frame_header(len(payload), text), payload
        return bytes(self._protocol().send_data(payload.decode("utf-8") if text else payload)), b""

    def close(self, code: int = 1000, reason: str = "") -> bytes:
        """Start the closing handshake: the close frame to send, or ``b""`` when
        closing already started (or the session failed or closed)."""
        if not valid_close_code(code):
            raise ValueError(f"close code {code} may not be sent (use 1000-1003, 1007-1014 "
                             "or 3000-4999)")
        if self.state is not OPEN or self.failure is not None:
            return b""
        self.state = CLOSING
        return bytes(self._protocol().close(code, reason or None))

    def failure_close(self) -> bytes:
        """After a :class:`ProtocolError`: the close frame for it, once (``b""``
        when a close was sent already). The session is closed afterwards."""
        if self.failure is None:
            raise RuntimeError("failure_close() without a protocol error")
        frame = b""
        if self.state is OPEN:
            frame = bytes(self._protocol().close(self.failure.code))
        self.state = CLOSED
        return frame

    def connection_lost(self) -> None:
        """The transport is gone: nothing more is sent or received."""
        self.state = CLOSED

    def ping(self, payload: bytes = b"") -> bytes:
        """A ping frame (keepalive), or ``b""`` when the session is not open."""
        if self.state is not OPEN or self.failure is not None:
            return b""
        return bytes(self._protocol().ping(payload))
