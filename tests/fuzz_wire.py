"""Stdlib mutation fuzzing for the handshake parser and the frame path.

Pure helpers (no sockets): seeded generators of mutated upgrade requests and
client frame streams, and :func:`judge`, which says whether the bytes a
server answered are one of the documented outcomes:

- ``"upgraded"``: ``HTTP/1.1 101`` with a well-formed accept, then only valid
  server frames (close codes a server may send);
- ``"refused"``: an HTTP error status (400, 403, 426 or 431) with a body that
  matches its Content-Length, then nothing;
- ``"dropped"``: no bytes at all (a timed-out or unreadable request);
- ``"reset"``: a TCP reset, after nothing or after the start of an HTTP answer.

Anything else raises :class:`AssertionError` with the reason.
"""
from __future__ import annotations

import base64
import os
import random
import re

from tests.conformance.wire import (
    OP_BINARY,
    OP_CLOSE,
    OP_CONT,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    ServerFrames,
    close_payload,
    frame,
    upgrade_request,
)

__all__ = ["mutate", "fuzz_request", "fuzz_frames", "judge", "SERVER_CLOSE_CODES"]

#: Codes a server may put in a close frame (never 1005, 1006, 1015).
SERVER_CLOSE_CODES = set(range(1000, 1004)) | set(range(1007, 1015)) | set(range(3000, 5000))
REFUSAL_STATUSES = {400, 403, 426, 431}

_INTERESTING_BYTES = b"\x00\xff\x7f\x80\r\n: \t,;=\xc0\xed"
_TOKENS = (b"\r\n", b"\r\n\r\n", b"\n", b"\r", b":", b"::", b" ", b"\x00" * 8, b"A" * 5000,
           b"%s%n", b"\xed\xa0\x80", b"\xff\xfe", b"Sec-WebSocket-Key: ", b"Upgrade: websocket\r\n",
           b"Sec-WebSocket-Version: 13\r\n", b"Sec-WebSocket-Protocol: ,,,\r\n", b"GET ",
           b" HTTP/1.1", b"-1", b"99999999999999999999", "é".encode(), b"\r\n\r\n\x81\x80")
_HEADER_VALUES = (b"", b" ", b"websocket", b"WebSocket", b"upgrade", b"13", b"8", b"0",
                  b"\x00", b"x" * 300, b"dGhlIHNhbXBsZSBub25jZQ==", b"=" * 24, b"a,b,c",
                  "ü".encode(), b"permessage-deflate; client_max_window_bits")


def mutate(data: bytes, rng: random.Random, rounds: int | None = None) -> bytes:
    """Apply 1-4 random byte-level mutations."""
    buf = bytearray(data)
    for _ in range(rounds or rng.randint(1, 4)):
        op = rng.randrange(8)
        n = len(buf)
        if op == 0 and n:                                   # flip a bit
            buf[rng.randrange(n)] ^= 1 << rng.randrange(8)
        elif op == 1 and n:                                 # interesting byte
            buf[rng.randrange(n)] = rng.choice(_INTERESTING_BYTES)
        elif op == 2:                                       # insert random bytes
            i = rng.randint(0, n)
            buf[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
        elif op == 3 and n:                                 # delete a range
            i = rng.randrange(n)
            del buf[i:i + rng.randint(1, 32)]
        elif op == 4 and n:                                 # duplicate a range
            i = rng.randrange(n)
            buf[i:i] = buf[i:i + rng.randint(1, 64)]
        elif op == 5 and n:                                 # truncate
            del buf[rng.randrange(n):]
        elif op == 6:                                       # insert a token
            i = rng.randint(0, n)
            buf[i:i] = rng.choice(_TOKENS)
        elif n:                                             # overwrite a range
            i = rng.randrange(n)
            buf[i:i + 4] = bytes(rng.randrange(256) for _ in range(4))
    return bytes(buf)


def _request_lines(rng: random.Random, port: int) -> list[bytes]:
    extra = []
    if rng.random() < 0.3:
        extra.append("Sec-WebSocket-Protocol: " + rng.choice(("chat", "a, b", "", "chat,,")))
    if rng.random() < 0.2:
        extra.append("Sec-WebSocket-Extensions: permessage-deflate")
    if rng.random() < 0.2:
        extra.append("Origin: http://example.com")
    return upgrade_request(port, extra)[:-4].split(b"\r\n")


def fuzz_request(rng: random.Random, port: int) -> bytes:
    """A mutated upgrade request; sometimes structurally (lines), sometimes bytes."""
    lines = _request_lines(rng, port)
    style = rng.randrange(4)
    if style == 0 and len(lines) > 2:                     # shuffle or drop header lines
        head, rest = lines[0], lines[1:]
        rng.shuffle(rest)
        if rng.random() < 0.5:
            rest.pop(rng.randrange(len(rest)))
        lines = [head] + rest
    elif style == 1:                                      # one header gets a bad value
        i = rng.randrange(1, len(lines))
        name = lines[i].split(b":", 1)[0]
        lines[i] = name + b": " + rng.choice(_HEADER_VALUES)
    elif style == 2:                                      # repeat a header
        lines.append(rng.choice(lines[1:]))
    raw = b"\r\n".join(lines) + b"\r\n\r\n"
    if style == 3 or rng.random() < 0.6:
        raw = mutate(raw, rng)
    if rng.random() < 0.2:                                # early frames after the head
        raw += fuzz_frames(rng, mutated=False)
    return raw


def _random_text(rng: random.Random, n: int) -> bytes:
    alphabet = "aZ09 -é✓🎮\x00"
    return "".join(rng.choice(alphabet) for _ in range(n)).encode("utf-8")


def _one_frame(rng: random.Random, in_message: bool, clean: bool) -> tuple:
    """(bytes, still inside a fragmented message); ``clean`` frames are valid."""
    kind = rng.randrange(5 if clean else 9)
    n = rng.choice((0, 1, 5, 125, 126, 200, 1000))
    fin = rng.random() < 0.7
    rsv = 0 if clean else rng.choice((0,) * 12 + (1, 2, 4))
    masked = clean or rng.random() < 0.97
    if kind <= 2:
        op = (OP_CONT if in_message else
              rng.choice((OP_TEXT, OP_BINARY)) if clean or rng.random() < 0.9 else OP_CONT)
        text = (in_message and clean) or rng.random() < 0.7
        payload = _random_text(rng, n) if text else os.urandom(n)
        if clean and op == OP_CONT:
            payload = _random_text(rng, n)  # a valid continuation of any message
        return frame(op, payload, fin, rsv, masked), not fin
    if kind == 3:
        size = min(n, 125) if clean or rng.random() < 0.95 else 126
        return frame(OP_PING, os.urandom(size), rsv=rsv, masked=masked), in_message
    if kind == 4:
        return frame(OP_PONG, os.urandom(min(n, 125)), masked=masked), in_message
    if kind == 5:
        code = rng.choice((None, 1000, 1001, 1005, 999, 3000, 4999, 5000, 1015))
        reason = _random_text(rng, rng.randint(0, 30))[:120]
        return frame(OP_CLOSE, close_payload(code, reason), masked=masked), in_message
    if kind == 6:
        op = rng.choice((3, 7, 11, 15))
        return frame(op, os.urandom(min(n, 20)), masked=masked), in_message
    if kind == 7:
        lb = rng.choice((0, 2, 8))
        length = rng.choice((0, 5, 126, 70000, 1 << 40, (1 << 63) + 1))
        if lb == 0:
            length = min(length, 125)
        elif lb == 2:
            length = min(length, 0xFFFF)
        return frame(OP_BINARY, os.urandom(min(length, 64)), length=length,
                     length_bytes=lb, masked=masked), in_message
    return frame(OP_TEXT, b"\xed\xa0\x80" if rng.random() < 0.5 else b"\xc0\xaf"), in_message


def fuzz_frames(rng: random.Random, mutated: bool = True) -> bytes:
    """A short client frame stream: a third are valid (so the echo path runs),
    the rest carry defects and, when ``mutated``, byte mutations."""
    clean = rng.random() < 0.35
    out = []
    in_message = False
    for _ in range(rng.randint(1, 6)):
        data, in_message = _one_frame(rng, in_message, clean)
        out.append(data)
    if clean and in_message:
        out.append(frame(OP_CONT, b"end"))
    stream = b"".join(out)
    if mutated and not clean and rng.random() < 0.6:
        stream = mutate(stream, rng)
    return stream


_STATUS = re.compile(rb"HTTP/1\.1 (\d{3}) [^\r\n]*\r\n")


def judge(received: bytes, was_reset: bool) -> str:
    """The documented outcome the server's answer is, or AssertionError."""
    if received.startswith(b"HTTP/1.1 101 ") and b"\r\n\r\n" in received:
        _check_upgrade(received)           # a reset may cut the frames short: fine
        return "upgraded"
    if was_reset:
        if received[:9] == b"HTTP/1.1 "[:len(received[:9])]:
            return "reset"
        raise AssertionError(f"reset after non-HTTP bytes: {received[:80]!r}")
    if not received:
        return "dropped"
    head, sep, rest = received.partition(b"\r\n\r\n")
    if not sep:
        raise AssertionError(f"incomplete HTTP head: {received[:80]!r}")
    m = _STATUS.match(head + b"\r\n")
    if not m:
        raise AssertionError(f"not an HTTP/1.1 status line: {head[:80]!r}")
    status = int(m.group(1))
    if status not in REFUSAL_STATUSES:
        raise AssertionError(f"undocumented status {status}")
    length = re.search(rb"\r\nContent-Length: (\d+)\r\n", head + b"\r\n")
    if not length or int(length.group(1)) != len(rest):
        raise AssertionError(f"{status} body does not match Content-Length: {received[-80:]!r}")
    return "refused"


def _check_upgrade(received: bytes) -> None:
    head, _, rest = received.partition(b"\r\n\r\n")
    accept = re.search(rb"\r\nSec-WebSocket-Accept: ([A-Za-z0-9+/=]{28})\r\n", head + b"\r\n")
    if not accept or len(base64.b64decode(accept.group(1))) != 20:
        raise AssertionError(f"101 without a valid Sec-WebSocket-Accept: {head!r}")
    frames = ServerFrames()
    frames.feed(rest)                       # raises WireError on anything non-conforming
    for event in frames.events:
        if event[0] == "close" and event[1] is not None and event[1] not in SERVER_CLOSE_CODES:
            raise AssertionError(f"server sent close code {event[1]}")
