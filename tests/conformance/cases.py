"""The RFC 6455 case table, modelled on the Autobahn|Testsuite case families.

Pure data: each :class:`Case` is a script of client steps and the outcome a
strict server must produce against an echo server (text echoed as text,
binary as binary). Outcomes follow Autobahn's expectations:

- ``OPEN``: the connection stays open; the suite then closes it normally and
  the server must answer 1000 and report a clean close;
- :class:`Fail`: the server must fail the connection: a close frame with one
  of ``codes``, then it drops TCP, and ``client_disconnected(id, false)``;
- :class:`Closed`: the case sent a close frame itself; the server must answer
  with one of ``codes`` and nothing else, then drop TCP (a clean close).

``Expect(optional=True)`` marks events Autobahn grades "non-strict" (e.g. the
echo of a message sent in the same write as a frame that fails the
connection): both outcomes pass.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Union

from .wire import OP_BINARY, OP_CLOSE, OP_CONT, OP_PING, OP_PONG, OP_TEXT, close_payload, frame

__all__ = ["Case", "Send", "Expect", "Pause", "Fail", "Closed", "OPEN", "CASES",
           "LARGE_BUFFERS", "FAMILY_COUNTS"]

#: set_buffers for the framing family: 8 MiB messages in and out.
LARGE_BUFFERS = (8192, 1024, 8192, 1024)


@dataclass(frozen=True)
class Send:
    data: bytes
    chop: int | None = None     # bytes per TCP write (1 = octet-wise)


@dataclass(frozen=True)
class Expect:
    events: tuple[tuple, ...]
    optional: bool = False


@dataclass(frozen=True)
class Pause:
    """Let the server read what was sent before the next write (Autobahn's sync)."""
    seconds: float = 0.05


@dataclass(frozen=True)
class Fail:
    codes: tuple[int, ...]


@dataclass(frozen=True)
class Closed:
    codes: tuple[int | None, ...]


OPEN = "open"
Step = Union[Send, Expect, Pause]


@dataclass(frozen=True)
class Case:
    id: str
    title: str
    steps: tuple[Step, ...]
    outcome: object
    buffers: tuple[int, int, int, int] | None = None
    headers: tuple[str, ...] = ()
    log: str = ""                  # an error the server must log (Godot prints it)
    response_lacks: str = ""       # a header the 101 answer must not carry


def text(s: str | bytes, fin: bool = True, rsv: int = 0) -> bytes:
    return frame(OP_TEXT, s.encode("utf-8") if isinstance(s, str) else s, fin, rsv)


def binary(b: bytes, fin: bool = True, rsv: int = 0) -> bytes:
    return frame(OP_BINARY, b, fin, rsv)


def cont(b: str | bytes, fin: bool = True, rsv: int = 0) -> bytes:
    return frame(OP_CONT, b.encode("utf-8") if isinstance(b, str) else b, fin, rsv)


def ping(b: bytes = b"") -> bytes:
    return frame(OP_PING, b)


def pong(b: bytes = b"") -> bytes:
    return frame(OP_PONG, b)


def close(code: int | None = 1000, reason: bytes = b"") -> bytes:
    return frame(OP_CLOSE, close_payload(code, reason))


def fragments(op: int, payload: bytes, size: int) -> bytes:
    """``payload`` as one message in frames of ``size`` bytes (at least one frame)."""
    chunks = [payload[i:i + size] for i in range(0, len(payload), size)] or [b""]
    out = [frame(op if i == 0 else OP_CONT, c, i == len(chunks) - 1)
           for i, c in enumerate(chunks)]
    return b"".join(out)


def T(s: str | bytes) -> tuple:
    return ("text", s.encode("utf-8") if isinstance(s, str) else s)


def B(b: bytes) -> tuple:
    return ("binary", b)


def PONG(b: bytes = b"") -> tuple:
    return ("pong", b)


def steps(*items) -> tuple[Step, ...]:
    return tuple(items)


FAIL_PROTO = Fail((1002,))
FAIL_UTF8 = Fail((1007,))
FAIL_BIG = Fail((1009,))


# -- 1. framing -----------------------------------------------------------------

def _framing():
    sizes = (0, 125, 126, 127, 128, 65535, 65536)
    for fam, op, make in (("1.1", OP_TEXT, lambda n: b"*" * n),
                          ("1.2", OP_BINARY, lambda n: b"\xfe" * n)):
        kind = "text" if op == OP_TEXT else "binary"
        for i, n in enumerate(sizes, 1):
            p = make(n)
            yield Case(f"{fam}.{i}", f"{kind} message, payload {n}",
                       steps(Send(frame(op, p)), Expect(((kind, p),))), OPEN, LARGE_BUFFERS)
        p = make(65536)
        yield Case(f"{fam}.8", f"{kind} message, payload 65536, in 997-byte writes",
                   steps(Send(frame(op, p), chop=997), Expect(((kind, p),))), OPEN, LARGE_BUFFERS)
    for i, (op, n) in enumerate(((OP_TEXT, 0), (OP_TEXT, 125), (OP_TEXT, 126), (OP_BINARY, 127),
                                 (OP_BINARY, 128), (OP_BINARY, 300)), 1):
        kind = "text" if op == OP_TEXT else "binary"
        p = bytes(65 + k % 26 for k in range(n))
        yield Case(f"1.3.{i}", f"{kind} message, payload {n}, in 1-byte writes",
                   steps(Send(frame(op, p), chop=1), Expect(((kind, p),))), OPEN, LARGE_BUFFERS)
    mib = 4 << 20
    big_text = ("κόσμε-" * (mib // 11 + 1)).encode("utf-8")[:mib - 4]
    big_text = big_text.decode("utf-8", "ignore").encode("utf-8")
    big_bin = bytes(range(256)) * (mib // 256)
    yield Case("1.4.1", "text message, 4 MiB of multi-byte UTF-8",
               steps(Send(text(big_text)), Expect((T(big_text),))), OPEN, LARGE_BUFFERS)
    yield Case("1.4.2", "binary message, 4 MiB",
               steps(Send(binary(big_bin)), Expect((B(big_bin),))), OPEN, LARGE_BUFFERS)
    yield Case("1.4.3", "binary message, 4 MiB, in 65536-byte writes",
               steps(Send(binary(big_bin), chop=65536), Expect((B(big_bin),))), OPEN, LARGE_BUFFERS)
    yield Case("1.4.4", "binary message, 4 MiB, in 64 fragments of 64 KiB",
               steps(Send(fragments(OP_BINARY, big_bin, 65536)), Expect((B(big_bin),))),
               OPEN, LARGE_BUFFERS)
    yield Case("1.5.1", "16-bit length for a 5-byte payload (not minimal)",
               steps(Send(frame(OP_BINARY, b"hello", length_bytes=2))), FAIL_PROTO)
    yield Case("1.5.2", "64-bit length for a 200-byte payload (not minimal)",
               steps(Send(frame(OP_BINARY, b"x" * 200, length_bytes=8))), FAIL_PROTO)
    yield Case("1.5.3", "64-bit length with the most significant bit set",
               steps(Send(frame(OP_BINARY, b"", length=(1 << 63) | 70000, length_bytes=8))),
               FAIL_PROTO)
    yield Case("1.5.4", "unmasked client frame",
               steps(Send(frame(OP_TEXT, b"hello", masked=False))), FAIL_PROTO)
    yield Case("1.5.5", "masked with an all-zero key (valid)",
               steps(Send(frame(OP_TEXT, b"zero key", key=b"\0\0\0\0")), Expect((T("zero key"),))),
               OPEN)
    yield Case("1.5.6", "three messages in one write are echoed in order",
               steps(Send(text("one") + binary(b"two") + text("three")),
                     Expect((T("one"), B(b"two"), T("three")))), OPEN)


# -- 2. ping/pong ------------------------------------------------------------------

def _pings():
    yield Case("2.1", "ping without payload", steps(Send(ping()), Expect((PONG(),))), OPEN)
    yield Case("2.2", "ping with a small text payload",
               steps(Send(ping(b"Hello, world!")), Expect((PONG(b"Hello, world!"),))), OPEN)
    yield Case("2.3", "ping with a small binary payload",
               steps(Send(ping(b"\x00\xff\xfe\xfd\xfc\xfb\x00\xff")),
                     Expect((PONG(b"\x00\xff\xfe\xfd\xfc\xfb\x00\xff"),))), OPEN)
    yield Case("2.4", "ping with a 125-byte payload",
               steps(Send(ping(b"\xfe" * 125)), Expect((PONG(b"\xfe" * 125),))), OPEN)
    yield Case("2.5", "ping with a 126-byte payload", steps(Send(ping(b"\xfe" * 126))), FAIL_PROTO)
    yield Case("2.6", "ping with a 125-byte payload in 1-byte writes",
               steps(Send(ping(b"\xfe" * 125), chop=1), Expect((PONG(b"\xfe" * 125),))), OPEN)
    yield Case("2.7", "unsolicited pong without payload", steps(Send(pong())), OPEN)
    yield Case("2.8", "unsolicited pong with payload",
               steps(Send(pong(b"unsolicited pong payload"))), OPEN)
    yield Case("2.9", "unsolicited pong, then ping",
               steps(Send(pong(b"unsolicited pong payload") + ping(b"ping payload")),
                     Expect((PONG(b"ping payload"),))), OPEN)
    tens = b"".join(ping(f"payload-{i}".encode()) for i in range(10))
    pongs = tuple(PONG(f"payload-{i}".encode()) for i in range(10))
    yield Case("2.10", "10 pings in one write", steps(Send(tens), Expect(pongs)), OPEN)
    yield Case("2.11", "10 pings in 1-byte writes", steps(Send(tens, chop=1), Expect(pongs)), OPEN)
    yield Case("2.12", "ping whose 125-byte payload uses a 16-bit length",
               steps(Send(frame(OP_PING, b"\xfe" * 125, length_bytes=2))), FAIL_PROTO)


# -- 3. reserved bits ----------------------------------------------------------------

def _rsv():
    hello = "Hello, world!"
    yield Case("3.1", "text frame with RSV = 1", steps(Send(text(hello, rsv=1))), FAIL_PROTO)
    yield Case("3.2", "text, then text with RSV = 2, then ping, in one write",
               steps(Send(text(hello) + text(hello, rsv=2) + ping()),
                     Expect((T(hello),))), FAIL_PROTO)  # answer, then close
    yield Case("3.3", "text (echoed), then text with RSV = 3, then ping",
               steps(Send(text(hello)), Expect((T(hello),)), Send(text(hello, rsv=3) + ping())),
               FAIL_PROTO)
    yield Case("3.4", "text (echoed), then text with RSV = 4 and a ping, in 1-byte writes",
               steps(Send(text(hello), chop=1), Expect((T(hello),)),
                     Send(text(hello, rsv=4) + ping(), chop=1)), FAIL_PROTO)
    yield Case("3.5", "binary frame with RSV = 5", steps(Send(binary(b"\xff" * 8, rsv=5))),
               FAIL_PROTO)
    yield Case("3.6", "ping with RSV = 6", steps(Send(frame(OP_PING, hello.encode(), rsv=6))),
               FAIL_PROTO)
    yield Case("3.7", "close with RSV = 7",
               steps(Send(frame(OP_CLOSE, close_payload(1000), rsv=7))), FAIL_PROTO)
    yield Case("3.8", "continuation frame with RSV = 1 inside a fragmented message",
               steps(Send(text("frag", fin=False) + cont("ment", rsv=1))), FAIL_PROTO)


# -- 4. reserved opcodes -------------------------------------------------------------

def _opcodes():
    hello = "Hello, world!"
    for fam, ops in (("4.1", (3, 4, 5, 6, 7)), ("4.2", (11, 12, 13, 14, 15))):
        kind = "non-control" if fam == "4.1" else "control"
        for i, op in enumerate(ops, 1):
            payload = b"" if i in (1, 3) else b"reserved payload"
            if i <= 2:
                yield Case(f"{fam}.{i}", f"reserved {kind} opcode {op}",
                           steps(Send(frame(op, payload))), FAIL_PROTO)
            else:
                yield Case(f"{fam}.{i}", f"text (echoed), reserved {kind} opcode {op}, ping",
                           steps(Send(text(hello)), Expect((T(hello),)),
                                 Send(frame(op, payload) + ping())), FAIL_PROTO)


# -- 5. fragmentation ----------------------------------------------------------------

def _fragmentation():
    yield Case("5.1", "ping in 2 fragments",
               steps(Send(frame(OP_PING, b"frag", fin=False) + cont("ment"))), FAIL_PROTO)
    yield Case("5.2", "pong in 2 fragments",
               steps(Send(frame(OP_PONG, b"frag", fin=False) + cont("ment"))), FAIL_PROTO)
    two = text("fragment1", fin=False), cont("fragment2")
    yield Case("5.3", "text in 2 fragments, one write",
               steps(Send(two[0] + two[1]), Expect((T("fragment1fragment2"),))), OPEN)
    yield Case("5.4", "text in 2 fragments, separate writes",
               steps(Send(two[0]), Pause(), Send(two[1]), Expect((T("fragment1fragment2"),))), OPEN)
    yield Case("5.5", "text in 2 fragments, 1-byte writes",
               steps(Send(two[0] + two[1], chop=1), Expect((T("fragment1fragment2"),))), OPEN)
    with_ping = two[0] + ping(b"pongme!") + two[1]
    expect = Expect((PONG(b"pongme!"), T("fragment1fragment2")))
    yield Case("5.6", "text in 2 fragments with a ping between, one write",
               steps(Send(with_ping), expect), OPEN)
    yield Case("5.7", "text in 2 fragments with a ping between, separate writes",
               steps(Send(two[0]), Pause(), Send(ping(b"pongme!")), Expect((PONG(b"pongme!"),)),
                     Send(two[1]), Expect((T("fragment1fragment2"),))), OPEN)
    yield Case("5.8", "text in 2 fragments with a ping between, 1-byte writes",
               steps(Send(with_ping, chop=1), expect), OPEN)
    orphan_fin = cont("non-continuation payload")
    orphan = cont("non-continuation payload", fin=False)
    for base, data, what in ((9, orphan_fin, "FIN = 1"), (12, orphan, "FIN = 0")):
        tail = text("Hello, world!")
        yield Case(f"5.{base}", f"continuation ({what}) with nothing to continue",
                   steps(Send(data + tail)), FAIL_PROTO)
        yield Case(f"5.{base + 1}", f"continuation ({what}) with nothing to continue, "
                   "separate writes", steps(Send(data), Pause(), Send(tail)), FAIL_PROTO)
        yield Case(f"5.{base + 2}", f"continuation ({what}) with nothing to continue, "
                   "1-byte writes", steps(Send(data + tail, chop=1)), FAIL_PROTO)
    yield Case("5.15", "text in 2 fragments (echoed), then an orphan continuation",
               steps(Send(two[0] + two[1]), Expect((T("fragment1fragment2"),)),
                     Send(cont("fragment3", fin=False) + text("fragment4"))), FAIL_PROTO)
    yield Case("5.16", "orphan continuation (FIN = 0), text, continuation, twice",
               steps(Send((cont("f1", fin=False) + text("f2", fin=False) + cont("f3")) * 2)),
               FAIL_PROTO)
    yield Case("5.17", "orphan continuation (FIN = 1), text, continuation, twice",
               steps(Send((cont("f1") + text("f2", fin=False) + cont("f3")) * 2)), FAIL_PROTO)
    yield Case("5.18", "text fragment followed by a new text frame (no continuation)",
               steps(Send(text("fragment1", fin=False) + text("fragment2"))), FAIL_PROTO)
    frags = [text("fragment1", fin=False), cont("fragment2", fin=False),
             cont("fragment3", fin=False), cont("fragment4", fin=False), cont("fragment5")]
    joined = T("fragment1fragment2fragment3fragment4fragment5")
    yield Case("5.19", "text in 5 fragments with 2 pings between, separate writes",
               steps(Send(frags[0]), Send(frags[1]), Send(ping(b"pongme 1!")),
                     Expect((PONG(b"pongme 1!"),)), Send(frags[2]), Pause(), Send(frags[3]),
                     Send(ping(b"pongme 2!")), Expect((PONG(b"pongme 2!"),)), Send(frags[4]),
                     Expect((joined,))), OPEN)
    yield Case("5.20", "text in 5 fragments with 2 pings between, 1-byte writes",
               steps(Send(frags[0] + frags[1] + ping(b"pongme 1!") + frags[2] + frags[3]
                          + ping(b"pongme 2!") + frags[4], chop=1),
                     Expect((PONG(b"pongme 1!"), PONG(b"pongme 2!"), joined))), OPEN)
    yield Case("5.21", "binary fragment, then a close: the partial message is discarded",
               steps(Send(binary(b"part", fin=False) + close(1000))), Closed((1000,)))
    yield Case("5.22", "close frame in 2 fragments",
               steps(Send(frame(OP_CLOSE, close_payload(1000), fin=False) + cont(b""))),
               FAIL_PROTO)
    yield Case("5.23", "text fragment followed by a binary frame",
               steps(Send(text("frag", fin=False) + binary(b"new"))), FAIL_PROTO)
    yield Case("5.24", "binary in 3 fragments with pong and ping between",
               steps(Send(binary(b"a", fin=False) + pong(b"x") + cont(b"b", fin=False)
                          + ping(b"y") + cont(b"c")),
                     Expect((PONG(b"y"), B(b"abc")))), OPEN)


# -- 6. UTF-8 ------------------------------------------------------------------------

HELLO_UTF8 = "Hello-µ@ßöäüàá-UTF-8!!".encode()
KOSME = "κόσμε".encode()

VALID_UTF8 = (
    ("kosme", KOSME),
    ("U+0000", b"\x00"), ("U+0080", b"\xc2\x80"), ("U+0800", b"\xe0\xa0\x80"),
    ("U+10000", b"\xf0\x90\x80\x80"), ("U+007F", b"\x7f"), ("U+07FF", b"\xdf\xbf"),
    ("U+FFFF", b"\xef\xbf\xbf"), ("U+10FFFF", b"\xf4\x8f\xbf\xbf"),
    ("U+D7FF", b"\xed\x9f\xbf"), ("U+E000", b"\xee\x80\x80"), ("U+FFFD", b"\xef\xbf\xbd"),
    ("U+FFFE", b"\xef\xbf\xbe"), ("U+FDD0", b"\xef\xb7\x90"),
    ("emoji", "🎮✓".encode()),
)

INVALID_UTF8 = (
    ("kosme + surrogate + edited", KOSME + b"\xed\xa0\x80edited"),
    ("5-byte U+200000", b"\xf8\x88\x80\x80\x80"), ("6-byte U+4000000", b"\xfc\x84\x80\x80\x80\x80"),
    ("4-byte U+1FFFFF", b"\xf7\xbf\xbf\xbf"), ("U+110000", b"\xf4\x90\x80\x80"),
    ("5-byte last", b"\xfb\xbf\xbf\xbf\xbf"), ("6-byte last", b"\xfd\xbf\xbf\xbf\xbf\xbf"),
    ("lone 0x80", b"\x80"), ("lone 0xBF", b"\xbf"), ("0x80 0xBF", b"\x80\xbf"),
    ("0x80 0xBF 0x80 0xBF", b"\x80\xbf\x80\xbf"),
    ("all continuation bytes", bytes(range(0x80, 0xC0))),
    ("lonely 2-byte start", b"\xc0 "), ("lonely 3-byte start", b"\xe0 "),
    ("lonely 4-byte start", b"\xf0 "), ("lonely 5-byte start", b"\xf8 "),
    ("2-byte, last byte missing", b"\xc0"), ("3-byte, last byte missing", b"\xe0\x80"),
    ("4-byte, last byte missing", b"\xf0\x80\x80"), ("U+07FF, last byte missing", b"\xdf"),
    ("U+FFFF, last byte missing", b"\xef\xbf"), ("U+1FFFFF, last byte missing", b"\xf7\xbf\xbf"),
    ("truncated sequences concatenated", b"\xc0\xe0\x80\xf0\x80\x80\xdf\xef\xbf"),
    ("0xFE", b"\xfe"), ("0xFF", b"\xff"), ("0xFE 0xFE 0xFF 0xFF", b"\xfe\xfe\xff\xff"),
    ("overlong /, 2 bytes", b"\xc0\xaf"), ("overlong /, 3 bytes", b"\xe0\x80\xaf"),
    ("overlong /, 4 bytes", b"\xf0\x80\x80\xaf"), ("overlong /, 5 bytes", b"\xf8\x80\x80\x80\xaf"),
    ("max overlong, 2 bytes", b"\xc1\xbf"), ("max overlong, 3 bytes", b"\xe0\x9f\xbf"),
    ("max overlong, 4 bytes", b"\xf0\x8f\xbf\xbf"), ("overlong NUL, 2 bytes", b"\xc0\x80"),
    ("overlong NUL, 3 bytes", b"\xe0\x80\x80"),
    ("surrogate U+D800", b"\xed\xa0\x80"), ("surrogate U+DB7F", b"\xed\xad\xbf"),
    ("surrogate U+DB80", b"\xed\xae\x80"), ("surrogate U+DBFF", b"\xed\xaf\xbf"),
    ("surrogate U+DC00", b"\xed\xb0\x80"), ("surrogate U+DF80", b"\xed\xbe\x80"),
    ("surrogate U+DFFF", b"\xed\xbf\xbf"),
    ("surrogate pair D800 DC00", b"\xed\xa0\x80\xed\xb0\x80"),
    ("surrogate pair DBFF DFFF", b"\xed\xaf\xbf\xed\xbf\xbf"),
)


def _one_byte_fragments(payload: bytes) -> bytes:
    return fragments(OP_TEXT, payload, 1)


def _utf8():
    yield Case("6.1.1", "empty text message", steps(Send(text(b"")), Expect((T(b""),))), OPEN)
    yield Case("6.1.2", "empty text message in 3 empty fragments",
               steps(Send(text(b"", fin=False) + cont(b"", fin=False) + cont(b"")),
                     Expect((T(b""),))), OPEN)
    yield Case("6.1.3", "text in 3 fragments, first and last empty",
               steps(Send(text(b"", fin=False) + cont("middle", fin=False) + cont(b"")),
                     Expect((T("middle"),))), OPEN)
    yield Case("6.2.1", "valid UTF-8 in one frame",
               steps(Send(text(HELLO_UTF8)), Expect((T(HELLO_UTF8),))), OPEN)
    by_char = b"".join(frame(OP_TEXT if i == 0 else OP_CONT, ch.encode("utf-8"),
                             i == len(HELLO_UTF8.decode()) - 1)
                       for i, ch in enumerate(HELLO_UTF8.decode()))
    yield Case("6.2.2", "valid UTF-8 fragmented on code points",
               steps(Send(by_char), Expect((T(HELLO_UTF8),))), OPEN)
    yield Case("6.2.3", "valid UTF-8 in 1-byte fragments (code points split across frames)",
               steps(Send(_one_byte_fragments(HELLO_UTF8)), Expect((T(HELLO_UTF8),))), OPEN)
    yield Case("6.2.4", "valid 4-byte UTF-8 in 1-byte fragments, 1-byte writes",
               steps(Send(_one_byte_fragments("🎮🎮".encode()), chop=1),
                     Expect((T("🎮🎮"),))),
               OPEN)
    yield Case("6.3.1", "invalid UTF-8 in one frame", steps(Send(text(INVALID_UTF8[0][1]))),
               FAIL_UTF8)
    yield Case("6.3.2", "invalid UTF-8 in 1-byte fragments",
               steps(Send(_one_byte_fragments(INVALID_UTF8[0][1]))), FAIL_UTF8)
    # Fail fast: the message (or frame) that carries the bad bytes never ends.
    bad = b"\xf4\x90\x80\x80"
    yield Case("6.4.1", "fail fast: bad fragment inside a message that never ends",
               steps(Send(text(KOSME, fin=False)), Pause(), Send(cont(bad, fin=False))),
               FAIL_UTF8)
    yield Case("6.4.2", "fail fast: invalid sequence split across two fragments",
               steps(Send(text(KOSME + bad[:1], fin=False)), Pause(),
                     Send(cont(bad[1:], fin=False))), FAIL_UTF8)
    whole = text(KOSME + bad + b"edited" * 20)
    cut = len(whole) - len(b"edited" * 20)
    yield Case("6.4.3", "fail fast: bad bytes inside a frame that never ends",
               steps(Send(whole[:cut - len(bad)]), Pause(), Send(whole[cut - len(bad):cut])),
               FAIL_UTF8)
    yield Case("6.4.4", "fail fast: bad bytes in 1-byte writes inside a frame that never ends",
               steps(Send(whole[:cut], chop=1)), FAIL_UTF8)
    for i, (name, payload) in enumerate(VALID_UTF8, 1):
        yield Case(f"6.5.{i}", f"valid UTF-8 {name}, one frame",
                   steps(Send(text(payload)), Expect((T(payload),))), OPEN)
        yield Case(f"6.6.{i}", f"valid UTF-8 {name}, 1-byte fragments",
                   steps(Send(_one_byte_fragments(payload)), Expect((T(payload),))), OPEN)
    for i, (name, payload) in enumerate(INVALID_UTF8, 1):
        yield Case(f"6.7.{i}", f"invalid UTF-8 {name}, one frame",
                   steps(Send(text(payload))), FAIL_UTF8)
        yield Case(f"6.8.{i}", f"invalid UTF-8 {name}, split across 1-byte fragments",
                   steps(Send(_one_byte_fragments(payload))), FAIL_UTF8)


# -- 7. close handling -----------------------------------------------------------------

VALID_CLOSE_CODES = (1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999)
INVALID_CLOSE_CODES = (0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535)


def _close():
    yield Case("7.1.1", "text echoed, then a normal close",
               steps(Send(text("Hello World!")), Expect((T("Hello World!"),)), Send(close(1000))),
               Closed((1000,)))
    yield Case("7.1.2", "two close frames", steps(Send(close(1000) + close(1000))), Closed((1000,)))
    yield Case("7.1.3", "close, then ping: no pong", steps(Send(close(1000) + ping(b"late"))),
               Closed((1000,)))
    yield Case("7.1.4", "close, then text: data after close is ignored",
               steps(Send(close(1000) + text("late"))), Closed((1000,)))
    yield Case("7.1.5", "text fragment, close, continuation: ignored",
               steps(Send(text("frag", fin=False) + close(1000) + cont("ment"))), Closed((1000,)))
    yield Case("7.1.6", "close, then text and binary in separate writes",
               steps(Send(close(1000)), Send(text("late")), Send(binary(b"later"))),
               Closed((1000,)))
    yield Case("7.3.1", "close with an empty payload", steps(Send(close(None))),
               Closed((None, 1000)))
    yield Case("7.3.2", "close with a 1-byte payload", steps(Send(frame(OP_CLOSE, b"\x03"))),
               FAIL_PROTO)
    yield Case("7.3.3", "close 1000 without reason", steps(Send(close(1000))), Closed((1000,)))
    yield Case("7.3.4", "close 1000 with a reason", steps(Send(close(1000, b"Hello World!"))),
               Closed((1000,)))
    yield Case("7.3.5", "close 1000 with a 123-byte reason",
               steps(Send(close(1000, b"*" * 123))), Closed((1000,)))
    yield Case("7.3.6", "close 1000 with a 124-byte reason (control payload 126)",
               steps(Send(close(1000, b"*" * 124))), FAIL_PROTO)
    yield Case("7.5.1", "close with an invalid UTF-8 reason",
               steps(Send(close(1000, KOSME + b"\xed\xa0\x80edited"))), FAIL_UTF8)
    yield Case("7.5.2", "close with a reason truncated inside a code point",
               steps(Send(close(1000, KOSME[:-1]))), FAIL_UTF8)
    for i, code in enumerate(VALID_CLOSE_CODES, 1):
        yield Case(f"7.7.{i}", f"close with valid code {code}", steps(Send(close(code))),
                   Closed((code, 1000)))
    for i, code in enumerate(INVALID_CLOSE_CODES, 1):
        yield Case(f"7.9.{i}", f"close with invalid code {code}", steps(Send(close(code))),
                   FAIL_PROTO)


# -- 9. limits (default buffers: 64 KiB in, 1024 packets) ------------------------------

def _limits():
    chunk = bytes(range(64))
    yield Case("9.1", "binary message in 1000 fragments of 64 bytes",
               steps(Send(fragments(OP_BINARY, chunk * 1000, 64)), Expect((B(chunk * 1000),))),
               OPEN)
    letters = b"abcdefghijklmnopqrstuvwxyz0123456789-_" * 1700
    yield Case("9.2", "text message in 1000 fragments",
               steps(Send(fragments(OP_TEXT, letters[:64000], 64)), Expect((T(letters[:64000]),))),
               OPEN)
    yield Case("9.3", "binary message in 5000 fragments of 1 byte",
               steps(Send(fragments(OP_BINARY, chunk * 78 + chunk[:8], 1)),
                     Expect((B(chunk * 78 + chunk[:8]),))), OPEN)
    many = tuple(B(f"m{i}".encode()) for i in range(1000))
    yield Case("9.4", "1000 small messages in one write, echoed in order",
               steps(Send(b"".join(binary(e[1]) for e in many)), Expect(many)), OPEN)
    yield Case("9.5", "message one byte under the limit (65535)",
               steps(Send(binary(b"\x01" * 65535)), Expect((B(b"\x01" * 65535),))), OPEN)
    yield Case("9.6", "message at the limit (65536): dropped as Godot drops it, stays open",
               steps(Send(binary(b"\x02" * 65536)), Pause(0.2)), OPEN,
               log="Buffer payload full")
    yield Case("9.7", "message over the limit (65537)", steps(Send(binary(b"\x03" * 65537))),
               FAIL_BIG)
    yield Case("9.8", "text over the limit in UTF-8 bytes (32769 two-byte characters)",
               steps(Send(text("é" * 32769))), FAIL_BIG)
    yield Case("9.9", "fail fast: fragments over the limit, message never ends",
               steps(Send(binary(b"a" * 40000, fin=False) + cont(b"b" * 40000, fin=False))),
               FAIL_BIG)
    big = binary(b"c" * 100000)
    yield Case("9.10", "fail fast: one frame over the limit, only part of it sent",
               steps(Send(big[:70000])), FAIL_BIG)
    yield Case("9.11", "1000 fragments over the limit (1000 x 66 bytes)",
               steps(Send(fragments(OP_BINARY, b"d" * 66000, 66))), FAIL_BIG)


# -- 12. extensions -------------------------------------------------------------------

def _extensions():
    offer = ("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits",)
    yield Case("12.1", "permessage-deflate offered: declined, plain frames echo",
               steps(Send(text("plain")), Expect((T("plain"),))), OPEN, headers=offer,
               response_lacks="sec-websocket-extensions")
    yield Case("12.2", "permessage-deflate declined: a compressed (RSV1) frame fails",
               steps(Send(frame(OP_TEXT, b"\xf2\x48\xcd\xc9\xc9\x07\x00", rsv=4))), FAIL_PROTO,
               headers=offer, response_lacks="sec-websocket-extensions")
    yield Case("12.3", "bad extension offer is ignored, not fatal",
               steps(Send(binary(b"ok")), Expect((B(b"ok"),))), OPEN,
               headers=("Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=99, "
                        "x-unknown; =;;",), response_lacks="sec-websocket-extensions")


def _all():
    out = []
    for family in (_framing, _pings, _rsv, _opcodes, _fragmentation, _utf8, _close, _limits,
                   _extensions):
        out.extend(family())
    ids = [c.id for c in out]
    assert len(ids) == len(set(ids)), "duplicate case ids"
    return tuple(out)


CASES: tuple[Case, ...] = _all()
FAMILY_COUNTS = {}
for _c in CASES:
    FAMILY_COUNTS[_c.id.split(".")[0]] = FAMILY_COUNTS.get(_c.id.split(".")[0], 0) + 1
del _c
