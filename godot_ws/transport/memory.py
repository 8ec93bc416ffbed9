"""Give freed heap memory back to the system after a peer that buffered a lot has gone.

A peer that streamed megabytes (a slow reader's output backlog, a large
burst) had its payloads allocated in its thread's glibc malloc arena. Once
they are freed, glibc returns that space to the system only from the top of
the arena: one small live block above it (anything a later thread allocated
there) keeps the whole range resident, so RSS stays at the high-water mark.
``malloc_trim(0)`` releases the free pages wherever they are. It runs on the
departing peer's thread, at most once per ``_MIN_INTERVAL`` (a trim walks
every arena under its lock). A heavy peer that leaves sooner after the last
trim owes one: its thread waits out the rest of the interval and trims then
(one such thread at a time; heavy peers leaving meanwhile are covered by it),
so the memory comes back even when no other peer ever leaves.

The other side of it, :func:`tune_heap`: while data flows, glibc shrinks a
thread arena whenever more than its trim threshold is free at the top (by
default twice the largest block it ever handed to ``mmap``, about 2 MiB after
the first large message). One 1 MiB message makes several transient MiB-sized
blocks on the way in (wsproto's buffer, the unmasked pieces, the joined
message), so every message shrank the arena and the next one faulted its pages
back in: 600 page faults and about 1 ms of CPU per message, half the server's
time on 1 MiB echoes. Fixed thresholds (``_MMAP_THRESHOLD``,
``_TRIM_THRESHOLD``) keep up to 8 MiB free per arena while peers are busy; the
trims above still give the rest back when heavy peers go. They could not with
per-thread arenas: ``malloc_trim`` releases the free top of the main arena
only, so every thread arena kept up to the trim threshold for good. The
process therefore keeps one arena (``_ARENA_MAX``), set before ``listen()``
or ``connect_to_url()`` starts a thread: glibc gives threads started later
no arena of their own, but keeps (and hands out again) the arenas of threads
that allocated before, and ignores the limit once more than 8 arenas
exist. A program that starts many threads first can set
``MALLOC_ARENA_MAX=1`` itself. Python code allocates under the GIL, so the
threads hardly contend for the one arena; OpenSSL's calls run without the
GIL (wss handshakes measured the same rate in the full benchmark run).

Only with glibc; elsewhere, or with ``GODOT_WS_NO_MALLOC_TRIM=1`` in the
environment at import, nothing happens. :func:`tune_heap` also leaves the heap
alone when the environment sets glibc's own settings
(``MALLOC_TRIM_THRESHOLD_``, ``MALLOC_MMAP_THRESHOLD_``, ``MALLOC_ARENA_MAX``,
``GLIBC_TUNABLES``).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import threading
import time
from typing import Callable

__all__ = ["TRIMS", "release_after_peer", "tune_heap"]

#: A peer counts as heavy when it received or queued at least this much.
HEAVY_BYTES = 1 << 20
_MIN_INTERVAL = 0.25


#: Blocks from this size up are ``mmap``-ed (and unmapped when freed).
_MMAP_THRESHOLD = 4 << 20
#: An arena keeps up to this much free memory at its top while in use.
_TRIM_THRESHOLD = 8 << 20
#: One malloc arena (see the module doc).
_ARENA_MAX = 1
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD, _M_ARENA_MAX = -1, -3, -8  # glibc's mallopt() parameters
_GLIBC_ENV = ("MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_ARENA_MAX",
              "GLIBC_TUNABLES")


def _glibc() -> ctypes.CDLL | None:
    if os.environ.get("GODOT_WS_NO_MALLOC_TRIM", "") not in ("", "0"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim.argtypes = [ctypes.c_size_t]
        libc.malloc_trim.restype = ctypes.c_int
        libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
        libc.mallopt.restype = ctypes.c_int
    except (OSError, AttributeError):  # not glibc
        return None
    return libc


_libc = _glibc()
_trim: Callable[[int], int] | None = _libc.malloc_trim if _libc is not None else None
#: Whether heap memory is trimmed after heavy peers (glibc, not disabled).
TRIMS = _trim is not None
_tuned = False


def tune_heap() -> bool:
    """Fix glibc's mmap and trim thresholds and its arena count (see the module
    doc), once per process; called by ``listen()`` and ``connect_to_url()``.
    True when the settings are (now or already) ours."""
    global _tuned
    if _libc is None or any(name in os.environ for name in _GLIBC_ENV):
        return False
    with _lock:
        if not _tuned:
            _tuned = all([_libc.mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD),
                          _libc.mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD),
                          _libc.mallopt(_M_ARENA_MAX, _ARENA_MAX)])
        return _tuned

_monotonic, _sleep = time.monotonic, time.sleep  # module-level: tests replace them here
_lock = threading.Lock()   # guards _last, _owed, _deferred and _tuned
_last = 0.0
_owed = False              # a heavy peer left since the last trim
_deferred = False          # a peer thread waits to pay what is owed


def _after_fork_in_child() -> None:
    """A forked child has only the forking thread: no deferring thread will
    clear ``_deferred``, and ``_lock`` may have been held by another."""
    global _lock, _deferred
    _lock, _deferred = threading.Lock(), False


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def release_after_peer(heavy_bytes: int) -> None:
    """A peer's thread ends; it received or queued ``heavy_bytes`` at most at once
    or in all. Trims the heap if it (or one since the last trim) was heavy, at
    once or, within ``_MIN_INTERVAL`` of the last trim, when the interval ends."""
    global _last, _owed, _deferred
    if _trim is None:
        return
    with _lock:
        _owed = _owed or heavy_bytes >= HEAVY_BYTES
        if not _owed or _deferred:
            return
        now = _monotonic()
        wait = _last + _MIN_INTERVAL - now
        if wait > 0:
            _deferred = True
        else:
            _owed, _last = False, now
    if wait > 0:
        _sleep(wait)
        with _lock:
            _owed, _deferred, _last = False, False, _monotonic()
    _trim(0)
