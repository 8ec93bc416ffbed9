"""The listening socket and its acceptor thread.

Threading: the acceptor thread owns the listening socket (accepts, closes it
at exit). For each accepted socket it starts a peer thread (``run_peer``) and
records the pair in the :class:`Registry`, which ``stop()`` uses to reach
every socket and join every thread. ``Registry._lock`` guards its dict.
The acceptor never reads or writes a peer socket; a refused connection is
closed before anyone reads it, as Godot does.

Out of descriptors (EMFILE/ENFILE) or memory, ``accept`` fails while the
listener stays readable: the acceptor then stops watching the listener and
waits (50 ms doubling to 1 s, or until a peer's descriptor is released,
whichever comes first) instead of retrying in a loop, logging at most one
line per second; the connections meanwhile wait in the kernel's queue.
"""
from __future__ import annotations

import errno
import logging
import selectors
import socket
import threading
import time
from typing import Any, Callable

from .connection import ConnectionConfig, PeerConnection, run_peer
from .memory import tune_heap
from .sockets import close_quietly
from .waker import Waker

__all__ = ["Acceptor", "Registry", "open_listener"]

logger = logging.getLogger("godot_ws")


class Registry:
    """Every accepted socket with its thread and (once upgraded) connection."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[socket.socket, tuple[threading.Thread, PeerConnection | None]] = {}
        self._closed = False
        #: Called after each release (any thread): the acceptor resumes if it paused.
        self.on_release: Callable[[], None] | None = None

    def add(self, sock: socket.socket, thread: threading.Thread) -> None:
        with self._lock:
            self._items[sock] = (thread, None)

    def adopt(self, sock: socket.socket, conn: PeerConnection) -> bool:
        """Record ``conn`` as upgraded; False once ``close()`` ran (stop() has
        taken its snapshot and will not stop this connection: drop it)."""
        with self._lock:
            item = self._items.get(sock)
            if item is None or self._closed:
                return False
            self._items[sock] = (item[0], conn)
            return True

    def close(self) -> None:
        """From now on ``adopt`` refuses: called by stop() before its snapshot."""
        with self._lock:
            self._closed = True

    def release(self, sock: socket.socket) -> None:
        """Forget ``sock`` (closed by now: its descriptor is free again)."""
        with self._lock:
            self._items.pop(sock, None)
        if self.on_release is not None:
            self.on_release()

    def snapshot(self) -> list[tuple[socket.socket, threading.Thread, PeerConnection | None]]:
        with self._lock:
            return [(s, t, c) for s, (t, c) in self._items.items()]

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
        tune_heap()
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
        thread = threading.Thread(target=run_peer, name="godot_ws-peer", daemon=True,
                                  args=(self.cfg, sock, address, time.monotonic(), self.registry))
        self.registry.add(sock, thread)
        try:
            thread.start()
        except RuntimeError as exc:  # can't start new thread
            logger.error("cannot start a peer thread (%s); refusing %s:%s", exc, *address)
            self.registry.release(sock)
            sock.close()


def _plain_host(host: str) -> str:
    """``::ffff:127.0.0.1`` (dual-stack) reads as ``127.0.0.1``, as Godot shows it."""
    return host[7:] if host.startswith("::ffff:") else host
