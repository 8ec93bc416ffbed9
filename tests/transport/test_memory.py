"""transport/memory.py: heap trims after heavy peers, and fixed glibc thresholds
so that large messages do not fault their pages in again on every message."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import unittest
from unittest import mock

from godot_ws.transport import memory
from tests.support import TIMEOUT

# One 1 MiB message makes a few transient MiB-sized blocks on a peer thread;
# the child prints whether the heap was tuned and the page faults per message.
_CHILD = textwrap.dedent("""
    import resource, threading
    from godot_ws.transport import memory
    tuned = memory.tune_heap()
    out = {}
    def work():
        first = bytearray(1 << 20)  # glibc's dynamic mmap threshold moves to 1 MiB
        del first
        for i in range(60):
            if i == 10:
                start = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            blocks = [bytearray(1 << 20) for _ in range(4)]
            del blocks
        out["faults"] = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - start) / 50
    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    print(tuned, out["faults"])
""")


# A thread leaves 6 MiB free at the top of the heap it allocated from, below the
# trim threshold; the child prints the MiB still resident after the trim.
_CHILD_TOP = textwrap.dedent("""
    import threading
    from godot_ws.transport import memory
    def rss():
        with open("/proc/self/status") as f:
            return next(int(l.split()[1]) for l in f if l.startswith("VmRSS")) / 1024
    tuned = memory.tune_heap()
    def work():
        blocks = [bytearray(512 << 10) for _ in range(12)]
        del blocks
    before = rss()
    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    memory._trim(0)
    print(tuned, rss() - before)
""")


# listen() or connect_to_url() in a fresh process, one peer or dial; the child
# prints how many malloc arenas glibc made (malloc_info's heaps).
_CHILD_ARENAS = textwrap.dedent("""
    import ctypes, os, re, socket, sys, tempfile
    from godot_ws.client import WebSocketClient
    from godot_ws.server import WebSocketServer
    def arenas():
        libc = ctypes.CDLL("libc.so.6")
        libc.fopen.restype = ctypes.c_void_p
        libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
        libc.fclose.argtypes = [ctypes.c_void_p]
        fd, path = tempfile.mkstemp()
        os.close(fd)
        fp = libc.fopen(path.encode(), b"w")
        libc.malloc_info(0, fp)
        libc.fclose(fp)
        with open(path) as f:
            text = f.read()
        os.unlink(path)
        return len(re.findall("<heap nr=", text))
    if sys.argv[1] == "server":
        server = WebSocketServer()
        server.bind_ip = "127.0.0.1"
        assert server.listen(0) == 0
        with socket.create_connection(("127.0.0.1", server.get_port()), timeout=5) as s:
            s.sendall(b"GET / HTTP/1.1\\r\\nHost: x\\r\\nUpgrade: websocket\\r\\n"
                      b"Connection: Upgrade\\r\\nSec-WebSocket-Version: 13\\r\\n"
                      b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\\r\\n\\r\\n")
            assert s.recv(1000).startswith(b"HTTP/1.1 101")
            s.sendall(bytes([0x82, 0x84, 1, 2, 3, 4, 5, 6, 7, 8]))
            server.poll(1.0)
        server.stop()
    else:
        with socket.create_server(("127.0.0.1", 0)) as listener:
            client = WebSocketClient()
            client.connect_to_url(f"ws://127.0.0.1:{listener.getsockname()[1]}/")
            conn, _ = listener.accept()
            conn.settimeout(5)
            assert conn.recv(1000).startswith(b"GET /")
            client.stop(0.5)
            conn.close()
    print(True, arenas())
""")


def _run_child(code: str = _CHILD, *args: str, **env: str) -> tuple[bool, float]:
    clean = {k: v for k, v in os.environ.items()
             if k not in ("GODOT_WS_NO_MALLOC_TRIM",) + memory._GLIBC_ENV}
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    clean["PYTHONPATH"] = root
    proc = subprocess.run([sys.executable, "-c", code, *args], env={**clean, **env},
                          capture_output=True, text=True, timeout=TIMEOUT)
    if proc.returncode:
        raise AssertionError(proc.stderr)
    tuned, faults = proc.stdout.split()
    return tuned == "True", float(faults)


class HeapThresholdTests(unittest.TestCase):
    def setUp(self) -> None:
        self.assertTrue(memory.TRIMS, "these tests need glibc (and GODOT_WS_NO_MALLOC_TRIM unset)")

    def test_tuned_heap_keeps_transient_blocks_resident(self):
        tuned, faults = _run_child()
        self.assertTrue(tuned)
        self.assertLess(faults, 64, "pages faulted in again per message with the thresholds set")

    def test_untuned_heap_faults_every_message(self):
        # What the thresholds fix (and proof that the child measures it).
        tuned, faults = _run_child(GODOT_WS_NO_MALLOC_TRIM="1")
        self.assertFalse(tuned)
        self.assertGreater(faults, 256)

    def test_tuned_a_trim_gives_back_what_a_thread_freed_below_the_threshold(self):
        # glibc's malloc_trim() leaves the top of a thread arena alone: with one
        # arena, everything freed below the trim threshold comes back. (Untuned,
        # these blocks are mmap-ed and come back anyway: the test below is the
        # contrast that matters, the thresholds without the single arena.)
        tuned, left = _run_child(_CHILD_TOP)
        self.assertTrue(tuned)
        self.assertLess(left, 2.0, "MiB still resident after the trim")

    def test_without_the_tuning_a_threads_heap_top_stays(self):
        # What the single arena fixes (and proof that the child measures it): the
        # same thresholds from the environment, thread arenas left as they are.
        tuned, left = _run_child(_CHILD_TOP, MALLOC_TRIM_THRESHOLD_=str(memory._TRIM_THRESHOLD),
                                 MALLOC_MMAP_THRESHOLD_=str(memory._MMAP_THRESHOLD))
        self.assertFalse(tuned)
        self.assertGreater(left, 3.0)

    def test_server_and_client_threads_share_one_arena(self):
        # Set before listen()/connect_to_url() starts its first thread: a
        # thread that allocated before it would keep an arena of its own.
        for side in ("server", "client"):
            with self.subTest(side=side):
                self.assertEqual(_run_child(_CHILD_ARENAS, side)[1], 1)

    def test_glibc_settings_from_the_environment_win(self):
        for name, value in (("MALLOC_TRIM_THRESHOLD_", "262144"),
                            ("MALLOC_MMAP_THRESHOLD_", "262144"),
                            ("MALLOC_ARENA_MAX", "4"),
                            ("GLIBC_TUNABLES", "glibc.malloc.check=0")):
            with self.subTest(name=name):
                self.assertFalse(_run_child(**{name: value})[0])


# A thread holds the lock and defers a trim when the process forks: the child
# prints whether it can still take the lock and owes no deferral.
_CHILD_FORK = textwrap.dedent("""
    import os, threading
    from godot_ws.transport import memory
    held, release = threading.Event(), threading.Event()
    def deferring():
        with memory._lock:
            memory._deferred = True
            held.set()
            release.wait(10)
    thread = threading.Thread(target=deferring)
    thread.start()
    held.wait(10)
    pid = os.fork()
    if pid == 0:
        os._exit(0 if memory._lock.acquire(timeout=5) and not memory._deferred else 1)
    release.set()
    thread.join()
    print(True, os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
""")


class ForkTests(unittest.TestCase):
    def test_a_forked_child_starts_with_a_free_lock_and_no_deferral(self):
        self.assertEqual(_run_child(_CHILD_FORK)[1], 0)


class TrimAfterHeavyPeersTests(unittest.TestCase):
    def setUp(self) -> None:
        self.calls: list[int] = []
        self.waits: list[float] = []
        patches = [mock.patch.object(memory, "_trim", self.calls.append),
                   mock.patch.object(memory, "_last", 0.0),
                   mock.patch.object(memory, "_owed", False),
                   mock.patch.object(memory, "_deferred", False),
                   mock.patch.object(memory, "_sleep", self.waits.append)]
        for p in patches:
            p.start()
            self.addCleanup(p.stop)

    def test_light_peers_never_trim(self):
        memory.release_after_peer(memory.HEAVY_BYTES - 1)
        self.assertEqual(self.calls, [])

    def test_a_heavy_peer_trims_at_once(self):
        with mock.patch.object(memory, "_monotonic", return_value=1000.0):
            memory.release_after_peer(memory.HEAVY_BYTES)
        self.assertEqual((self.calls, self.waits), ([0], []))

    def test_a_heavy_peer_too_soon_after_a_trim_waits_for_the_interval(self):
        # Nobody else may ever leave: the departing thread pays its own debt.
        with mock.patch.object(memory, "_monotonic", return_value=1000.0):
            memory.release_after_peer(memory.HEAVY_BYTES)
        with mock.patch.object(memory, "_monotonic", return_value=1000.1):
            memory.release_after_peer(memory.HEAVY_BYTES)
        self.assertEqual(self.calls, [0, 0])
        self.assertEqual(len(self.waits), 1)
        self.assertAlmostEqual(self.waits[0], memory._MIN_INTERVAL - 0.1)

    def test_one_waiting_thread_covers_the_heavy_peers_leaving_meanwhile(self):
        with mock.patch.object(memory, "_deferred", True), \
                mock.patch.object(memory, "_monotonic", return_value=1000.0):
            memory.release_after_peer(memory.HEAVY_BYTES)
            self.assertTrue(memory._owed)
        self.assertEqual((self.calls, self.waits), ([], []))


if __name__ == "__main__":
    unittest.main()
