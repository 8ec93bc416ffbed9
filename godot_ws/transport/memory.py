"""Give freed heap memory back to the system after a peer that buffered a lot has gone.

A peer that streamed megabytes (a slow reader's output backlog, a large
burst) had its payloads allocated in its thread's glibc malloc arena. Once
they are freed, glibc returns that space to the system only from the top of
the arena: one small live block above it (anything a later thread allocated
there) keeps the whole range resident, so RSS stays at the high-water mark.
``malloc_trim(0)`` releases the free pages wherever they are. It runs on the
departing peer's thread, at most once per ``_MIN_INTERVAL`` (a trim walks
every arena under its lock); a heavy peer that leaves meanwhile is covered
by the next trim. Only with glibc; elsewhere, or with
``GODOT_WS_NO_MALLOC_TRIM=1`` in the environment at import, nothing happens.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import threading
import time
from typing import Callable

__all__ = ["TRIMS", "release_after_peer"]

#: A peer counts as heavy when it received or queued at least this much.
HEAVY_BYTES = 1 << 20
_MIN_INTERVAL = 0.25


def _malloc_trim() -> Callable[[int], int] | None:
    if os.environ.get("GODOT_WS_NO_MALLOC_TRIM", "") not in ("", "0"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


_trim = _malloc_trim()
#: Whether heap memory is trimmed after heavy peers (glibc, not disabled).
TRIMS = _trim is not None

_lock = threading.Lock()   # guards _last and _owed
_last = 0.0
_owed = False              # a heavy peer left since the last trim


def release_after_peer(heavy_bytes: int) -> None:
    """A peer's thread ends; it received or queued ``heavy_bytes`` at most at once
    or in all. Trims the heap if it (or one since the last trim) was heavy."""
    global _last, _owed
    if _trim is None:
        return
    with _lock:
        _owed = _owed or heavy_bytes >= HEAVY_BYTES
        now = time.monotonic()
        if not _owed or now - _last < _MIN_INTERVAL:
            return
        _owed, _last = False, now
    _trim(0)
