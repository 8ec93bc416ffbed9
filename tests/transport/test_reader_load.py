"""Memory that comes back and fairness under a flood, against a server in a
subprocess (its RSS from /proc). Bounds are generous; the figures are in the bench."""
from __future__ import annotations

import os
import unittest

from tests.load import (
    MIB,
    Client,
    EchoServer,
    flood,
    proc_status,
    rss_mib,
    slow_reader,
    wait_settled,
)


class MemoryComesBackTests(unittest.TestCase):
    def test_rss_returns_near_baseline_after_heavy_peers(self):
        # A slow reader fills its limits, then big messages pass: once everyone has
        # left, the server's RSS is back within 6 MiB of its baseline (before the
        # reused read buffer and the heap trim it stayed 25-39 MiB up about half the
        # time; with a trim but per-thread malloc arenas, 3-18.5 MiB; now 0-1).
        server = EchoServer((32768, 4096, 32768, 4096))
        try:
            idle_threads = proc_status(server.pid)["Threads"]
            c = Client(server.port)
            c.echo([b"warm up"])
            c.close()
            baseline = wait_settled(server.pid, idle_threads, settle=0.3)["VmRSS"] / 1024
            worst = 0.0
            for _ in range(3):
                slow_reader(server.port, seconds=2.0, total=64 * MIB)
                c = Client(server.port)
                for _ in range(12):
                    c.echo([os.urandom(MIB)])
                c.close()
                wait_settled(server.pid, idle_threads, settle=0.3)
                worst = max(worst, rss_mib(server.pid) - baseline)
            self.assertLess(worst, 6.0, f"RSS stayed {worst:.1f} MiB over its baseline")
        finally:
            server.stop()


class IdlePeerMemoryTests(unittest.TestCase):
    def test_an_idle_peer_costs_less_than_22_kib(self):
        # Measured as the bench's idle scenario does: Godot 3.2.3 holds 23.4 KiB per
        # idle peer, this server about 17.5 (27 before its peer threads kept two
        # stack pages and held no threading.Thread, docs/topics/performance.md).
        server = EchoServer((64, 1024, 64, 1024))
        clients: list[Client] = []
        try:
            threads = proc_status(server.pid)["Threads"]
            for _ in range(16):
                clients.append(Client(server.port))
                clients[-1].echo([b"warm up"])
            before = wait_settled(server.pid, threads + 16, settle=0.3)["VmRSS"]
            idle = 1000
            clients += [Client(server.port) for _ in range(idle)]
            after = wait_settled(server.pid, threads + 16 + idle, settle=0.3)["VmRSS"]
            self.assertLess((after - before) / idle, 22.0, "KiB per idle peer")
        finally:
            for c in clients:
                c.close()
            server.stop()


class FairnessTests(unittest.TestCase):
    def test_a_flood_does_not_stall_other_clients(self):
        server = EchoServer((64, 1024, 64, 1024))
        try:
            # flood() raises if any other client's echo takes more than 2 s meanwhile.
            trips = flood(server.port, server.pid, n=50_000, probers=2, per_echo=2.0)
            self.assertGreater(len(trips.times), 0)
            self.assertLess(max(trips.times), 2.0)
        finally:
            server.stop()


if __name__ == "__main__":
    unittest.main()
