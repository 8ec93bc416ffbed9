"""The one locked queue between the peer threads and ``poll()``.

Peer threads append whole batches (everything one socket read produced) with
one lock acquisition; the polling thread takes everything queued at once. The
polling thread is woken only when it is actually waiting.
"""
from __future__ import annotations

import threading
from typing import Any, List, Optional

__all__ = ["EventQueue", "CONNECTED", "DATA", "CLOSE_REQUEST", "DISCONNECTED"]

# Event kinds. An event is a tuple (kind, connection, a, b).
CONNECTED = 0        # a = chosen subprotocol
DATA = 1             # a = list of (payload bytes, is_text), b = total bytes
CLOSE_REQUEST = 2    # a = code (0 when the close frame had none), b = reason
DISCONNECTED = 3     # a = was_clean_close


class EventQueue:
    """Lock: ``_cond`` guards ``_events`` and ``_waiting``."""

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._events: List[tuple] = []
        self._waiting = False

    def put(self, event: tuple) -> None:
        with self._cond:
            self._events.append(event)
            if self._waiting:
                self._cond.notify()

    def put_many(self, events: List[tuple]) -> None:
        with self._cond:
            self._events.extend(events)
            if self._waiting:
                self._cond.notify()

    def wake(self) -> None:
        """Make a blocked :meth:`take_all` return (e.g. after ``call_deferred``)."""
        with self._cond:
            if self._waiting:
                self._cond.notify()

    def take_all(self, timeout: Optional[float]) -> List[Any]:
        """Everything queued; waits up to ``timeout`` s for the first event."""
        with self._cond:
            if not self._events and timeout is not None and timeout > 0:
                self._waiting = True
                try:
                    self._cond.wait(timeout)
                finally:
                    self._waiting = False
            events, self._events = self._events, []
            return events

    def clear(self) -> None:
        with self._cond:
            self._events = []
