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


def _run_child(**env: str) -> tuple[bool, float]:
    clean = {k: v for k, v in os.environ.items()
             if k not in ("GODOT_WS_NO_MALLOC_TRIM",) + memory._GLIBC_ENV}
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    clean["PYTHONPATH"] = root
    proc = subprocess.run([sys.executable, "-c", _CHILD], env={**clean, **env},
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

    def test_glibc_settings_from_the_environment_win(self):
        for name, value in (("MALLOC_TRIM_THRESHOLD_", "262144"),
                            ("MALLOC_MMAP_THRESHOLD_", "262144"),
                            ("GLIBC_TUNABLES", "glibc.malloc.check=0")):
            with self.subTest(name=name):
                self.assertFalse(_run_child(**{name: value})[0])


class TrimAfterHeavyPeersTests(unittest.TestCase):
    def setUp(self) -> None:
        self.calls: list[int] = []
        patches = [mock.patch.object(memory, "_trim", self.calls.append),
                   mock.patch.object(memory, "_last", 0.0),
                   mock.patch.object(memory, "_owed", False)]
        for p in patches:
            p.start()
            self.addCleanup(p.stop)

    def test_light_peers_never_trim(self):
        memory.release_after_peer(memory.HEAVY_BYTES - 1)
        self.assertEqual(self.calls, [])

    def test_a_heavy_peer_trims_at_most_once_per_interval_and_is_owed_later(self):
        with mock.patch.object(memory.time, "monotonic", return_value=1000.0):
            memory.release_after_peer(memory.HEAVY_BYTES)
            memory.release_after_peer(memory.HEAVY_BYTES)  # too soon: owed
        self.assertEqual(self.calls, [0])
        with mock.patch.object(memory.time, "monotonic", return_value=1001.0):
            memory.release_after_peer(0)  # a light peer pays the debt
        self.assertEqual(self.calls, [0, 0])


if __name__ == "__main__":
    unittest.main()
