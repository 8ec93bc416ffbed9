"""``python -m godot_ws connect URL``: an interactive client for a terminal or a pipe.

Each stdin line goes out as a text message (a Variant String with ``--var``),
each message that arrives is one stdout line, and what happens to the
connection (connected, peers joining and leaving, the close) is told on
stderr, so stdout carries the data alone.

Threads: a daemon thread reads stdin into a queue (a blocked ``read`` cannot
be interrupted, so it is never joined); the main thread owns the client: it
polls it, sends the queued lines once connected, and closes it at the end of
stdin or on SIGINT/SIGTERM, whose handler only sets a flag.
"""
from __future__ import annotations

import argparse
import logging
import os
import queue
import signal
import sys
import threading
import time
from typing import TextIO

from .client import WebSocketClient
from .crypto import X509Certificate
from .enums import Error, WriteMode
from .variant import bytes2var, var2bytes

__all__ = ["add_parser", "connect", "EXIT_CLEAN", "EXIT_CONNECT_FAILED", "EXIT_USAGE",
           "EXIT_CLOSED_BY_SERVER"]

EXIT_CLEAN = 0  #: closed by us (end of stdin, Ctrl-C) or by the server with 1000
EXIT_CONNECT_FAILED = 1  #: no session: refused, handshake or TLS failure, bad URL
EXIT_USAGE = 2  #: bad arguments, a URL that is not ws:// or wss:// (argparse's code too)
EXIT_CLOSED_BY_SERVER = 3  #: the server closed with another code, or the connection dropped

POLL_SECONDS = 0.05  # how soon a typed line goes out, and how soon a signal is seen
_EOF = None


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``connect`` command to the ``python -m godot_ws`` parser."""
    c = sub.add_parser(
        "connect", help="an interactive client: stdin lines out, messages printed",
        description="Connect to URL. Each stdin line is sent as a text message; each "
                    "message received is printed on one stdout line (text as is, binary "
                    "as hex, or a decoded Variant with --var); connection events go to "
                    "stderr. End of input (Ctrl-D) or Ctrl-C closes with 1000. Exit "
                    "status: 0 closed normally (by us, or by the server with 1000), 1 "
                    "could not connect, 2 bad arguments, 3 the server closed with "
                    "another code or the connection dropped.")
    c.add_argument("url", help="ws://HOST:PORT/PATH or wss://...")
    c.add_argument("--protocols", default="", metavar="P1,P2",
                   help="comma-separated subprotocols to offer")
    c.add_argument("--mp", action="store_true",
                   help="join as a Godot multiplayer peer (gd_mp_api): shows the own id "
                        "and peers; lines go to every peer, received lines are "
                        "prefixed with the sender's id")
    c.add_argument("--var", action="store_true",
                   help="Godot Variants: send each line as a String with var2bytes, "
                        "print received messages decoded with bytes2var")
    c.add_argument("--linger", type=_seconds, default=0.0, metavar="S",
                   help="after the end of input keep printing what arrives for S seconds, "
                        "then close (default 0: the server's answers to the last lines "
                        "may be cut off by the close)")
    tls = c.add_mutually_exclusive_group()
    tls.add_argument("--ca", metavar="PEM",
                     help="wss://: trust this certificate (a CA or the server's own)")
    tls.add_argument("--insecure", action="store_true",
                     help="wss://: do not verify the server's certificate")
    c.add_argument("--verbose", "-v", action="store_true", help="log the library's details")


def _seconds(text: str) -> float:
    value = float(text)
    if not value >= 0:  # NaN too
        raise argparse.ArgumentTypeError(f"must be a number of seconds >= 0, got {text}")
    return value


class _Session:
    """The client and what the main thread has seen of it."""

    def __init__(self, client: WebSocketClient, args: argparse.Namespace, out: TextIO,
                 err: TextIO) -> None:
        self.client = client
        self.args = args
        self.out = out
        self.err = err
        self.established = False
        self.ended = False
        self.exit_code = EXIT_CONNECT_FAILED
        self.closing = False  # we started the close
        self.server_code: int | None = None
        events = (("connection_established", self._established),
                  ("connection_succeeded", self._succeeded),
                  ("connection_error", self._failed), ("connection_failed", self._failed),
                  ("connection_closed", self._closed),
                  ("server_disconnected", self._mp_closed),
                  ("server_close_request", self._close_request),
                  ("data_received", self._data), ("peer_packet", self._peer_packet),
                  ("peer_connected", self._peer_joined),
                  ("peer_disconnected", self._peer_left))
        for name, handler in events:
            client.connect(name, handler)

    def tell(self, line: str) -> None:
        self.err.write(line + "\n")
        self.err.flush()

    def show(self, line: str) -> None:
        self.out.write(line + "\n")
        self.out.flush()

    def render(self, data: bytes, is_text: bool) -> str:
        if self.args.var:
            try:
                return repr(bytes2var(data))
            except ValueError as exc:
                self.tell(f"# not a Variant ({exc}): {data.hex()}")
                return data.hex()
        if is_text:
            return data.decode("utf-8")  # the session checked UTF-8
        return data.hex()

    # -- signal handlers -------------------------------------------------------

    def _established(self, protocol: str) -> None:
        self.established = True
        peer = self.client.get_peer(1)
        if peer is not None:
            peer.set_write_mode(WriteMode.WRITE_MODE_BINARY if self.args.var
                                else WriteMode.WRITE_MODE_TEXT)
        chosen = f" (subprotocol {protocol})" if protocol else ""
        self.tell(f"# connected to {self.args.url}{chosen}")

    def _succeeded(self) -> None:
        self.established = True
        self.tell(f"# connected to {self.args.url} as peer {self.client.get_unique_id()}")

    def _failed(self) -> None:
        self.tell(f"# could not connect to {self.args.url}" if not self.established
                  else "# connection lost")
        self._end(EXIT_CONNECT_FAILED if not self.established else EXIT_CLOSED_BY_SERVER)

    def _close_request(self, code: int, reason: str) -> None:
        self.server_code = code
        self.tell(f"# server closed with {code}" + (f": {reason}" if reason else ""))

    def _closed(self, was_clean: bool) -> None:
        self._after_close(was_clean)

    def _mp_closed(self) -> None:
        # Multiplayer mode tells no "clean": a close frame from either side says it.
        self._after_close(self.closing or self.server_code is not None)

    def _after_close(self, was_clean: bool) -> None:
        by_server = self.server_code is not None and not self.closing
        if not was_clean:
            self.tell("# connection dropped (no closing handshake)")
        normal = was_clean and (not by_server or self.server_code == 1000)
        if normal and not by_server:
            self.tell("# closed")
        self._end(EXIT_CLEAN if normal else EXIT_CLOSED_BY_SERVER)

    def _end(self, code: int) -> None:
        self.ended = True
        self.exit_code = code

    def _data(self) -> None:
        peer = self.client.get_peer(1)
        while peer is not None and peer.get_available_packet_count():
            data = peer.get_packet()
            self.show(self.render(data, peer.was_string_packet()))

    def _peer_packet(self, peer_id: int) -> None:
        while self.client.get_available_packet_count():
            sender = self.client.get_packet_peer()
            self.show(f"{sender}: {self.render(self.client.get_packet(), False)}")

    def _peer_joined(self, peer_id: int) -> None:
        self.tell(f"# peer {peer_id} joined")

    def _peer_left(self, peer_id: int) -> None:
        self.tell(f"# peer {peer_id} left")

    # -- the main thread's work ------------------------------------------------

    def send(self, line: str) -> None:
        data = var2bytes(line) if self.args.var else line.encode("utf-8")
        if self.args.mp:
            err = self.client.put_packet(data)
        else:
            peer = self.client.get_peer(1)
            err = peer.put_packet(data) if peer is not None else Error.FAILED
        if err != Error.OK:
            self.tell(f"# not sent ({err.name}): {line}")

    def close(self) -> None:
        if not self.closing:
            self.closing = True
            self.client.disconnect_from_host(1000)


class _StopFlag:
    """SIGINT/SIGTERM: only set a flag (a handler that locks or writes could deadlock)."""

    requested = False

    def on_signal(self, signum: int, frame: object) -> None:
        self.requested = True


def _read_lines(fd: int, lines: queue.SimpleQueue[str | None]) -> None:
    """Stdin reader thread: each line (without its end) into ``lines``, then _EOF.

    Plain ``os.read`` on the descriptor: a daemon thread blocked inside
    ``sys.stdin``'s buffered reader holds its lock, and the interpreter aborts
    when it meets that lock at exit."""
    pending = b""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            chunk = b""  # stdin closed under us: the same as its end
        if not chunk:
            break
        *complete, pending = (pending + chunk).split(b"\n")
        for raw in complete:
            lines.put(raw.decode("utf-8", "replace").rstrip("\r"))
    if pending:
        lines.put(pending.decode("utf-8", "replace").rstrip("\r"))
    lines.put(_EOF)


def _client(args: argparse.Namespace, err: TextIO) -> WebSocketClient | None:
    client = WebSocketClient()
    if args.insecure:
        client.verify_ssl = False
    if args.ca:
        cert = X509Certificate()
        if cert.load(args.ca) != Error.OK:
            err.write(f"error: cannot load the certificate {args.ca}\n")
            return None
        client.trusted_ssl_certificate = cert
    return client


def connect(args: argparse.Namespace) -> int:
    """Run the ``connect`` command; returns the exit status (see the EXIT_* codes)."""
    out, err = sys.stdout, sys.stderr
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s", stream=err)
    client = _client(args, err)
    if client is None:
        return EXIT_CONNECT_FAILED
    protocols = [p.strip() for p in args.protocols.split(",") if p.strip()]
    session = _Session(client, args, out, err)
    try:
        started = client.connect_to_url(args.url, protocols, gd_mp_api=args.mp)
    except (TypeError, ValueError) as exc:
        err.write(f"error: {exc}\n")
        return EXIT_USAGE
    if started != Error.OK:  # the library logged why
        return EXIT_USAGE if started == Error.ERR_INVALID_PARAMETER else EXIT_CONNECT_FAILED
    lines: queue.SimpleQueue[str | None] = queue.SimpleQueue()
    threading.Thread(target=_read_lines, args=(sys.stdin.fileno(), lines),
                     name="godot_ws-connect-stdin", daemon=True).start()
    stop = _StopFlag()
    previous = [signal.signal(s, stop.on_signal) for s in (signal.SIGINT, signal.SIGTERM)]
    try:
        _run(session, lines, stop)
    finally:
        client.stop(0)  # nothing left to wait for; releases the thread and socket
        signal.signal(signal.SIGINT, previous[0])
        signal.signal(signal.SIGTERM, previous[1])
    return session.exit_code


def _run(session: _Session, lines: queue.SimpleQueue[str | None], stop: _StopFlag) -> None:
    """Poll until the session ends; a close we start has ``close_timeout`` (+1 s) to finish."""
    client = session.client
    deadline: float | None = None
    linger_until: float | None = None
    while not session.ended:
        client.poll(POLL_SECONDS)
        if session.ended:
            break
        if stop.requested and not session.established:
            session.tell("# interrupted while connecting")
            session.exit_code = EXIT_CONNECT_FAILED
            return
        while session.established and not session.closing and not stop.requested:
            try:
                line = lines.get_nowait()
            except queue.Empty:
                break
            if line is _EOF:
                linger_until = time.monotonic() + session.args.linger
                break
            session.send(line)
        if stop.requested or linger_until is not None and time.monotonic() >= linger_until:
            session.close()
        if session.closing and deadline is None:
            deadline = time.monotonic() + client.close_timeout + 1.0
        if deadline is not None and time.monotonic() > deadline:
            session.tell("# the server did not finish the closing handshake")
            session.exit_code = EXIT_CLOSED_BY_SERVER
            return
