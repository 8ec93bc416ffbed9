"""The client's connection: its thread dials, runs TLS and the HTTP upgrade, then
reads with the server's machinery.

Threading model (on top of ``connection.py``'s, which it reuses whole):
- ``WebSocketClient.connect_to_url`` (the user's thread) makes a :class:`Dial`
  and starts one **client thread** (a daemon) running :func:`run_client`;
- the client thread resolves, connects and runs the TLS and HTTP handshakes
  (``client_handshake.py``) with blocking calls bounded by
  ``handshake_timeout``; it is the only thread that reads the socket and the
  only one that closes it. It then runs the server's read loop
  (``reader.py``) on a client-side session (masked frames out, unmasked
  frames in), which feeds the client's own ``EventQueue``;
- writes after the upgrade go through ``PeerConnection``'s locked
  non-blocking path (``output.py``); what the socket does not take waits in
  the backlog that the **shared backlog writer** drains. One writer thread serves every client
  of the process: it exists while at least one client thread runs
  (:class:`_SharedWriter`, reference-counted under its ``_lock``).

``Dial._lock`` guards ``sock`` and ``cancelled``: ``cancel()`` (any thread)
shuts the socket down so that a blocked connect/recv of the client thread
returns at once.
"""
from __future__ import annotations

import logging
import socket
import threading
import time
from typing import Any

from ..protocol import client_handshake as ch
from . import events as ev
from .client_handshake import client_handshake
from .connection import ConnectionConfig, PeerConnection
from .reader import read_loop
from .server_handshake import Upgrade
from .sockets import close_quietly
from .writer import BacklogWriter

__all__ = ["Dial", "ClientConnection", "start_client", "client_config", "shared_writer"]

logger = logging.getLogger("godot_ws")


class _SharedWriter:
    """The backlog writer every client shares, started by the first client
    thread and stopped when the last one ends (so idle processes hold none)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._writer: BacklogWriter | None = None
        self._users = 0
        self.gate = threading.Lock()  # the parse gate of every client (see connection.py)

    def acquire(self) -> BacklogWriter:
        with self._lock:
            if self._writer is None:
                self._writer = BacklogWriter()
            self._users += 1
            return self._writer

    def release(self) -> None:
        with self._lock:
            self._users -= 1
            writer = self._writer if self._users == 0 else None
            if writer is not None:
                self._writer = None
        if writer is not None:
            writer.stop()


shared_writer = _SharedWriter()


class Dial:
    """One connection attempt: what the user's thread can cancel."""

    def __init__(self, target: ch.Target, key: str, request: bytes) -> None:
        self.target = target
        self.key = key
        self.request = request
        self.started = time.monotonic()
        self._lock = threading.Lock()
        self.sock: socket.socket | None = None
        self.cancelled = False

    def cancel(self) -> None:
        """Stop the attempt (or the connection) now; any thread."""
        with self._lock:
            self.cancelled = True
            sock = self.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def connect(self, deadline: float) -> tuple[socket.socket, tuple[str, int]]:
        """Resolve and connect (client thread); raises OSError saying why not."""
        host, port = self.target.host, self.target.port
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise OSError(f"cannot resolve {host!r}: {exc.strerror}") from None
        error: OSError = OSError(f"no address for {host!r}")
        for family, type_, proto, _, sockaddr in infos:
            address = (str(sockaddr[0]), int(sockaddr[1]))
            sock = socket.socket(family, type_, proto)
            with self._lock:
                if self.cancelled:
                    sock.close()
                    raise OSError("cancelled")
                self.sock = sock
            try:
                sock.settimeout(max(0.001, deadline - time.monotonic()))
                sock.connect(sockaddr)
                return sock, address
            except socket.timeout:
                close_quietly(sock)
                raise
            except OSError as exc:
                error = OSError(f"cannot connect to {address[0]}:{address[1]}: "
                                f"{exc.strerror or exc}")
                with self._lock:
                    self.sock = None
                sock.close()
        raise error


class ClientConnection(PeerConnection):
    """The client end of one WebSocket connection: a client-side session, peer id 1."""

    client_side = True

    def __init__(self, cfg: ConnectionConfig, sock: socket.socket, address: tuple[str, int],
                 upgrade: Upgrade) -> None:
        super().__init__(cfg, sock, address, upgrade)
        self.peer_id = 1


def _run_client(cfg: ConnectionConfig, dial: Dial) -> None:
    """Client thread body: dial, handshake, announce, read until the end, clean up."""
    conn: ClientConnection | None = None
    announced = False
    try:
        deadline = dial.started + cfg.handshake_timeout
        try:
            sock, address = dial.connect(deadline)
        except socket.timeout:
            _fail(cfg, dial, "no TCP connection within the handshake timeout "
                             f"({cfg.handshake_timeout:g} s)")
            return
        except OSError as exc:
            _fail(cfg, dial, str(exc))
            return
        upgrade = client_handshake(sock, cfg, address, deadline, dial)
        if isinstance(upgrade, str):
            close_quietly(sock)
            _fail(cfg, dial, upgrade)
            return
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        conn = ClientConnection.open(cfg, sock, address, upgrade)
        cfg.events.put(ev.Connected(conn, conn.subprotocol))
        announced = True
        read_loop(conn)
    except Exception:
        logger.exception("client thread for %s failed", dial.target.url)
        if conn is not None:
            conn.session.connection_lost()
            cfg.writer.forget(conn)
            close_quietly(conn.sock)
            if announced and not conn.reported:
                cfg.events.put(ev.Disconnected(conn, False))
    finally:
        with dial._lock:
            dial.sock = None
        shared_writer.release()


def _fail(cfg: ConnectionConfig, dial: Dial, why: str) -> None:
    if dial.cancelled:
        return
    logger.warning("WebSocketClient: %s: %s", dial.target.url, why)
    cfg.events.put(ev.ConnectFailed(why))


def start_client(cfg: ConnectionConfig, dial: Dial) -> threading.Thread:
    """Start the client thread (the shared writer is already acquired for it)."""
    thread = threading.Thread(target=_run_client, args=(cfg, dial), daemon=True,
                              name=f"godot_ws-client {dial.target.host}:{dial.target.port}")
    thread.start()
    return thread


def client_config(events: ev.EventQueue, writer: BacklogWriter, **kwargs: Any) -> ConnectionConfig:
    """A ConnectionConfig for one client (the parse gate is shared by every client)."""
    return ConnectionConfig(events=events, writer=writer, gate=shared_writer.gate, **kwargs)
