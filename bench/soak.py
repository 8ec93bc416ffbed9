"""Soak of issue 12: does a long-running echo server give its memory back, and
does one flooding client stall the others?

One echo server (``tests/load.py``'s ``EchoServer``, a subprocess; its RSS,
threads and descriptors read from ``/proc``) with ``set_buffers`` of 32 MiB
each way lives through ``--rounds`` rounds of:

1. 2,000 connect / echo / close cycles (8 client threads);
2. 500 RST drops (half of them in the middle of a 64 KiB message);
3. 500 half handshakes (half a request, then FIN);
4. 200 concurrent clients, 10 echoes of 1 KiB each;
5. a slow reader: one client that never reads pushes 16 KiB messages for
   12 s or 128 MiB, whichever comes first (RSS sampled every 20 ms: its peak);
6. a flood: one client sends 200,000 small messages and reads nothing while
   another client measures echo round trips (p50 / p99 / max).

RSS is read at the start (``baseline``, after a short warm-up), at each
phase's peak and after every client has left (the server's threads back to
their idle count, then a short settle). Bounded: every socket has a timeout
and the whole run stops at ``--timeout``.

    .venv/bin/python bench/soak.py                # 3 rounds, ~2-4 minutes on 2 busy cores
    .venv/bin/python bench/soak.py --rounds 1 --env GLIBC_TUNABLES=glibc.malloc.arena_max=1
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
sys.path.insert(0, str(HERE.parent))

from tests.load import (  # noqa: E402
    MIB,
    EchoServer,
    concurrent,
    cycles,
    flood,
    half_handshakes,
    peak_of,
    rst_drops,
    slow_reader,
    wait_settled,
)

#: set_buffers(): 32 MiB in and out, packet counts that leave the byte limits binding.
BUFFERS = (32768, 4096, 32768, 4096)


@dataclass
class Soak:
    """One soak against one running server process."""
    pid: int
    port: int
    log: Callable[[str], None] = print
    cycles: int = 2000
    drops: int = 500
    halves: int = 500
    concurrent: int = 200
    slow_seconds: float = 12.0
    slow_total: int = 128 * MIB
    flood: int = 200_000

    def baseline(self) -> dict[str, int]:
        cycles(self.port, 20)  # imports and first-use caches are not the subject
        status = wait_settled(self.pid, 0, timeout=0.0)
        self.idle_threads = status["Threads"]
        return wait_settled(self.pid, self.idle_threads)

    def round(self) -> dict[str, Any]:
        pid, port = self.pid, self.port
        peaks: dict[str, float] = {}
        out: dict[str, Any] = {"peaks_mib": peaks}
        t0 = time.monotonic()
        with peak_of(pid, peaks, "cycles"):
            cycles(port, self.cycles)
            rst_drops(port, self.drops)
            half_handshakes(port, self.halves)
        with peak_of(pid, peaks, "concurrent"):
            concurrent(port, self.concurrent)
        out["before_slow"] = wait_settled(pid, self.idle_threads)
        with peak_of(pid, peaks, "slow_reader"):
            out["slow_pushed_mib"] = slow_reader(port, self.slow_seconds, self.slow_total) / MIB
        with peak_of(pid, peaks, "flood"):
            out["flood_rtt"] = flood(port, pid, self.flood).summary()
        out["after"] = wait_settled(pid, self.idle_threads)
        out["seconds"] = time.monotonic() - t0
        return out


def run(rounds: int, env: dict[str, str], log: Callable[[str], None],
        timeout: float = 600.0) -> dict[str, Any]:
    """Start the server with ``env`` added to its environment, soak it for
    ``rounds`` rounds; kill it and exit(2) if it all takes over ``timeout`` s."""
    (RESULTS / "logs").mkdir(parents=True, exist_ok=True)
    proc = EchoServer(BUFFERS, RESULTS / "logs" / "soak.log", env)
    watchdog = threading.Timer(timeout, lambda: (log(f"soak: over {timeout:.0f} s, giving up"),
                                                 proc.proc.kill(), os._exit(2)))
    watchdog.daemon = True
    watchdog.start()
    try:
        soak = Soak(proc.pid, proc.port)
        base = soak.baseline()
        log(f"baseline: RSS {base['VmRSS'] / 1024:.1f} MiB, {base['Threads']} threads, "
            f"{base['fds']} fds")
        result: dict[str, Any] = {"env": env, "baseline": base, "rounds": []}
        for i in range(rounds):
            r = soak.round()
            result["rounds"].append(r)
            log(format_round(i + 1, base, r))
        return result
    finally:
        watchdog.cancel()
        proc.stop()


def format_round(i: int, base: dict[str, int], r: dict[str, Any]) -> str:
    b = base["VmRSS"] / 1024
    p, a, rtt = r["peaks_mib"], r["after"], r["flood_rtt"]
    return (f"round {i}: after {a['VmRSS'] / 1024 - b:+.1f} MiB "
            f"(threads {a['Threads'] - base['Threads']:+d}, fds {a['fds'] - base['fds']:+d}); "
            f"peaks cycles {p['cycles'] - b:+.1f}, concurrent {p['concurrent'] - b:+.1f}, "
            f"slow reader {p['slow_reader'] - b:+.1f} "
            f"(over its start {p['slow_reader'] - r['before_slow']['VmRSS'] / 1024:+.1f}; "
            f"pushed {r['slow_pushed_mib']:.0f} MiB), flood {p['flood'] - b:+.1f} MiB; "
            f"other client's echo during the flood: p50 {rtt['p50_ms']:.1f} ms, "
            f"p99 {rtt['p99_ms']:.1f} ms, max {rtt['max_ms']:.1f} ms ({rtt['count']} echoes); "
            f"{r['seconds']:.0f} s")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                   help="environment of the server process (e.g. GLIBC_TUNABLES=...)")
    p.add_argument("--timeout", type=float, default=600.0, help="give up after this many s")
    p.add_argument("--json", type=Path, default=RESULTS / "soak.json")
    args = p.parse_args(argv)
    env = dict(kv.split("=", 1) for kv in args.env)
    result = run(args.rounds, env, lambda s: print(s, flush=True), args.timeout)
    args.json.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
