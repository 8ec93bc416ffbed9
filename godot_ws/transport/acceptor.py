"""The listening socket and its acceptor thread.

Threading: the acceptor thread owns the listening socket (accepts, closes it
at exit). For each accepted socket it records the socket in the
:class:`Registry` and starts a peer thread (``run_peer``) for it; the peer
thread's last act is to take its socket out again, so the registry holds
exactly the sockets of live peer threads. ``stop()`` uses it to reach every
socket and to wait for every peer thread (:meth:`Registry.wait_empty`).
``Registry._lock`` (with its condition ``_empty``) guards its dict;
``_count_lock`` the process-wide count of peer threads (:func:`peer_threads`).

Peer threads are started with ``_thread``, not ``threading.Thread``: an idle
peer is mostly its thread, and a ``Thread`` object (its events, conditions and
locks) costs 2.5 KiB more per peer, a tenth of Godot's whole per-peer
figure. They are therefore not in ``threading.enumerate()``: leak checks add
:func:`peer_threads` (``godot_ws.testing`` does). If code on a peer thread
calls ``threading.current_thread()`` (logging does, for ``threadName``),
``threading`` registers a dummy ``Thread`` for it that, before Python 3.13, it
never removes; :meth:`Registry.release` removes it at the thread's end.

The acceptor never reads or writes a peer socket; a refused connection is
closed before anyone reads it, as Godot does.

Out of descriptors (EMFILE/ENFILE) or memory, ``accept`` fails while the
listener stays readable: the acceptor then stops watching the listener and
waits (50 ms doubling to 1 s, or until a peer's descriptor is released,
whichever comes first) instead of retrying in a loop, logging at most one
line per second; the connections meanwhile wait in the kernel's queue.
"""
from __future__ import annotations

import _thread
import errno
import logging
import selectors
import socket
import threading
import time
from typing import Any, Callable

from .connection import ConnectionConfig, PeerConnection, run_peer
from .sockets import close_quietly
from .waker import Waker

__all__ = ["Acceptor", "Registry", "open_listener", "peer_threads"]

logger = logging.getLogger("godot_ws")


_MISSING = object()
_count_lock = threading.Lock()  # guards _live
_live = 0                       # peer threads running, every server of the process


def peer_threads() -> int:
    """Peer threads running in this process (every server): they are not in
    ``threading.enumerate()`` (see the module doc), so leak checks add this."""
    return _live


def _count(delta: int) -> None:
    global _live
    with _count_lock:
        _live += delta


def _forget_dummy_thread() -> None:
    """Drop the dummy ``threading.Thread`` that ``threading.current_thread()``
    made for this ``_thread`` thread, if any: before Python 3.13, ``threading``
    keeps it (and counts it in ``active_count()``) forever otherwise."""
    active: Any = getattr(threading, "_active", None)
    dummy: Any = getattr(threading, "_DummyThread", None)
    lock: Any = getattr(threading, "_active_limbo_lock", None)
    if active is None or dummy is None or lock is None:
        return
    ident = threading.get_ident()
    with lock:
        if isinstance(active.get(ident), dummy):
            del active[ident]


class Registry:
    """Every accepted socket whose peer thread runs, with its connection once
    upgraded (see the module doc)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._empty = threading.Condition(self._lock)
        self._items: dict[socket.socket, PeerConnection | None] = {}
        self._closed = False
        #: Called after each release (any thread): the acceptor resumes if it paused.
        self.on_release: Callable[[], None] | None = None

    def add(self, sock: socket.socket) -> None:
        """``sock``'s peer thread is about to start (it calls :meth:`release` last)."""
        with self._lock:
            self._items[sock] = None
        _count(1)

    def adopt(self, sock: socket.socket, conn: PeerConnection) -> bool:
        """Record ``conn`` as upgraded; False once ``close()`` ran (stop() has
        taken its snapshot and will not stop this connection: drop it)."""
        with self._lock:
            if sock not in self._items or self._closed:
                return False
            self._items[sock] = conn
            return True

    def close(self) -> None:
        """From now on ``adopt`` refuses: called by stop() before its snapshot."""
        with self._lock:
            self._closed = True

    def release(self, sock: socket.socket) -> None:
        """Forget ``sock`` (closed by now: its descriptor is free again); the
        last thing its peer thread does (or the acceptor, if it never started)."""
        with self._lock:
            if self._items.pop(sock, _MISSING) is not _MISSING:
                _count(-1)  # once: a second release must not count a thread twice
            if not self._items:
                self._empty.notify_all()
        _forget_dummy_thread()
        if self.on_release is not None:
            self.on_release()

    def snapshot(self) -> list[tuple[socket.socket, PeerConnection | None]]:
        with self._lock:
            return list(self._items.items())

    def wait_empty(self, timeout: float) -> bool:
        """Wait until every peer thread has ended; False on timeout."""
        with self._lock:
            return self._empty.wait_for(lambda: not self._items, timeout)

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)


def open_listener(bind_ip: str, port: int, backlog: int = 512) -> socket.socket:
    """Bind and listen; ``"*"`` means every interface, dual-stack where possible."""
    if bind_ip == "*":
        if socket.has_dualstack_ipv6():
            return socket.create_server(("", port), family=socket.AF_INET6,
                                        backlog=backlog, reuse_port=False, dualstack_ipv6=True)
        return socket.create_server(("0.0.0.0", port), backlog=backlog)
    family = socket.AF_INET6 if ":" in bind_ip else socket.AF_INET
    return socket.create_server((bind_ip, port), family=family, backlog=backlog)


# accept() errors about the connection itself (Linux reports them from accept):
# take the next one at once.
_CONNECTION_ERRORS = {errno.ECONNABORTED, errno.EPROTO, errno.ECONNRESET, errno.EPERM}
_FIRST_PAUSE = 0.05
_MAX_PAUSE = 1.0
_LOG_EVERY = 1.0


class _Backoff:
    """Pauses after failed accepts, and their log lines (at most one per second)."""

    def __init__(self) -> None:
        self.pause = 0.0
        self.failures = 0
        self._logged_at = -_LOG_EVERY
        self._unlogged = 0

    def failed(self, exc: OSError) -> float:
        self.failures += 1
        self.pause = min(_MAX_PAUSE, self.pause * 2) if self.pause else _FIRST_PAUSE
        now = time.monotonic()
        if now - self._logged_at >= _LOG_EVERY:
            more = f" ({self._unlogged} more since the last report)" if self._unlogged else ""
            logger.error("accept failed: %s%s; pausing accepts until descriptors return",
                         exc, more)
            self._logged_at = now
            self._unlogged = 0
        else:
            self._unlogged += 1
        return self.pause

    def succeeded(self) -> None:
        if self.failures:
            logger.warning("accepting again after %d failed accepts", self.failures)
            self.failures = self._unlogged = 0
            self.pause = 0.0


class Acceptor:
    """Accepts connections until :meth:`stop`; woken through a :class:`Waker`
    (to stop, or when a descriptor returns during a pause)."""

    def __init__(self, listener: socket.socket, cfg: ConnectionConfig, registry: Registry,
                 refuse: Callable[[], bool]) -> None:
        self.listener = listener
        self.cfg = cfg
        self.registry = registry
        self._refuse = refuse
        self._waker = Waker()
        self._stopping = False
        self._backoff = _Backoff()
        registry.on_release = self._descriptor_returned
        self.thread = threading.Thread(target=self._run, name="godot_ws-acceptor", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def _wake(self) -> None:
        self._waker.wake()

    def _descriptor_returned(self) -> None:
        if self._backoff.pause:
            self._wake()

    def stop(self) -> None:
        self._stopping = True
        self._wake()
        self.thread.join(5.0)
        if not self.thread.is_alive():  # else it may still drain: never a reused descriptor
            self._waker.close()

    def _run(self) -> None:
        listener = self.listener
        listener.setblocking(False)
        backoff = self._backoff
        sel = selectors.DefaultSelector()
        sel.register(self._waker, selectors.EVENT_READ)
        watching = False
        try:
            while not self._stopping:
                if not backoff.pause and not watching:
                    sel.register(listener, selectors.EVENT_READ)
                    watching = True
                ready = sel.select(backoff.pause or None)
                if any(key.fileobj is self._waker for key, _ in ready):
                    self._waker.drain()
                pause, backoff.pause = backoff.pause, 0.0
                while not self._stopping:
                    try:
                        sock, addr = listener.accept()
                    except (BlockingIOError, InterruptedError):
                        break
                    except OSError as exc:
                        if exc.errno in _CONNECTION_ERRORS:
                            continue
                        backoff.pause = pause  # doubles from the last pause
                        backoff.failed(exc)
                        if watching:  # it stays readable: stop watching during the pause
                            sel.unregister(listener)
                            watching = False
                        break
                    backoff.succeeded()
                    self._start_peer(sock, addr)
        finally:
            sel.close()
            self._close_backlog()
            listener.close()

    def _close_backlog(self) -> None:
        """Close connections still in the listen queue with EOF, not a reset."""
        for _ in range(4096):
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            close_quietly(sock)

    def _start_peer(self, sock: socket.socket, addr: tuple[Any, ...]) -> None:
        if self._refuse():
            sock.close()
            return
        sock.setblocking(True)
        address = (_plain_host(addr[0]), addr[1])
        self.registry.add(sock)
        try:
            _thread.start_new_thread(run_peer, (self.cfg, sock, address, time.monotonic(),
                                                self.registry))
        except RuntimeError as exc:  # can't start new thread
            logger.error("cannot start a peer thread (%s); refusing %s:%s", exc, *address)
            self.registry.release(sock)
            sock.close()


def _plain_host(host: str) -> str:
    """``::ffff:127.0.0.1`` (dual-stack) reads as ``127.0.0.1``, as Godot shows it."""
    return host[7:] if host.startswith("::ffff:") else host
