"""bench/py_clients.py with a few clients: both kinds connect, echo and close, and the
report's table shows them (no timing is asserted: the numbers are the bench's)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
import run  # noqa: E402  (bench/run.py)

KEYS = {"client", "clients", "connect_s", "rss_kib_per_client", "threads_per_client",
        "echo_msgs_per_s", "echoes", "rtt_p50_ms", "rtt_p99_ms", "rtt_mean_ms", "close_s",
        "threads_left"}


def py_clients(kind: str) -> dict:
    done = subprocess.run([sys.executable, os.path.join("bench", "py_clients.py"), "--client", kind,
                           "--clients", "5", "--duration", "0.5"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise AssertionError(f"py_clients.py --client {kind} failed: {done.stderr}")
    return json.loads(done.stdout)


class PyClientsBenchTest(unittest.TestCase):
    def test_both_clients_connect_echo_and_release_their_threads(self):
        found = {}
        for kind in ("ours", "websockets"):
            with self.subTest(kind=kind):
                result = py_clients(kind)
                self.assertEqual(set(result), KEYS)
                self.assertEqual((result["client"], result["clients"]), (kind, 5))
                self.assertGreater(result["echoes"], 0)
                self.assertGreaterEqual(result["threads_per_client"], 1.0)
                self.assertEqual(result["threads_left"], 0)
                self.assertLessEqual(result["rtt_p50_ms"], result["rtt_p99_ms"])
                found[kind] = result
        suite = run.Suite(duration=1, warmup=0, runs=1, idle_sizes=(), scaling_sizes=(),
                          burst_timeout=1, servers=[], data={"py_clients": found})
        table = "\n".join(run._py_clients_section(suite))
        self.assertIn("## 5 Python clients in one process", table)
        self.assertIn("| threads left after close | 0 | 0 |", table)


if __name__ == "__main__":
    unittest.main()
