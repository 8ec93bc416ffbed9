"""The one locked queue between the peer threads and ``poll()``.

Peer threads append whole batches (everything one socket read produced) with
one lock acquisition; the polling thread takes everything queued at once. The
polling thread is woken only when it is actually waiting, through a lock used
as a binary semaphore: cheaper than a Condition (no lock allocated per wait,
and the waker never holds a lock the woken thread needs first).

Locks: ``_lock`` guards ``_events``, ``_waiting`` and ``_signaled``;
``_wakeup`` is held by the queue except between a producer's release and the
waiting consumer's acquire.
"""
from __future__ import annotations

import threading
from typing import TYPE_CHECKING, NamedTuple, Union

if TYPE_CHECKING:
    from .connection import PeerConnection

__all__ = ["EventQueue", "Connected", "Data", "CloseRequest", "ProtocolFailure",
           "Disconnected", "ConnectFailed", "Event"]


# Events are small immutable tuples (no per-event dict); ``conn`` is the
# transport connection the event belongs to.
class Connected(NamedTuple):
    """The upgrade succeeded; ``protocol`` is the chosen subprotocol ("" if none)."""
    conn: PeerConnection
    protocol: str


class Data(NamedTuple):
    """Messages of one read, in order: ``(payload, is_text)``; ``nbytes`` their total size."""
    conn: PeerConnection
    messages: list[tuple[bytes, bool]]
    nbytes: int


class CloseRequest(NamedTuple):
    """The peer sent a close frame (``code`` 0 when it had none)."""
    conn: PeerConnection
    code: int
    reason: str


class ProtocolFailure(NamedTuple):
    """The peer broke the protocol after the messages before this event: once
    their handlers ran, ``poll()`` sends the close frame (``code``)."""
    conn: PeerConnection
    code: int


class Disconnected(NamedTuple):
    """The connection ended; ``clean``: the closing handshake completed."""
    conn: PeerConnection
    clean: bool


class ConnectFailed(NamedTuple):
    """A client's attempt ended before there was a connection (``why``: for the log)."""
    why: str


Event = Union[Connected, Data, CloseRequest, ProtocolFailure, Disconnected, ConnectFailed]


class EventQueue:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._wakeup = threading.Lock()
        self._wakeup.acquire()
        self._events: list[Event] = []
        self._waiting = False
        self._signaled = False

    def _signal_locked(self) -> bool:
        if self._waiting and not self._signaled:
            self._signaled = True
            return True
        return False

    def put(self, event: Event) -> None:
        with self._lock:
            self._events.append(event)
            wake = self._signal_locked()
        if wake:
            self._wakeup.release()

    def put_many(self, events: list[Event]) -> None:
        with self._lock:
            self._events.extend(events)
            wake = self._signal_locked()
        if wake:
            self._wakeup.release()

    def wake(self) -> None:
        """Make a blocked :meth:`take_all` return (e.g. after ``call_deferred``)."""
        with self._lock:
            wake = self._signal_locked()
        if wake:
            self._wakeup.release()

    def take_all(self, timeout: float | None) -> list[Event]:
        """Everything queued; waits up to ``timeout`` s (None: forever) for the first event."""
        with self._lock:
            if self._events or (timeout is not None and timeout <= 0):
                events, self._events = self._events, []
                return events
            self._waiting = True
            self._signaled = False
        got = False
        try:
            got = self._wakeup.acquire(timeout=-1 if timeout is None else timeout)
        finally:  # also when interrupted (Ctrl-C): leave the semaphore consistent
            with self._lock:
                self._waiting = False
                if self._signaled and not got:
                    self._wakeup.acquire()  # released just after our wait ended
                events, self._events = self._events, []
        return events

    def clear(self) -> None:
        with self._lock:
            self._events = []
