"""Soak of issue 12: does a long-running echo server give its memory back, and
does one flooding client stall the others?

One echo server (``bench/servers/godot_ws_server.py``, a subprocess; its RSS,
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
import socket
import struct
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

from run import RESULTS, SERVERS, ServerProcess  # noqa: E402

from tests.conformance.wire import OP_BINARY, ServerFrames, frame, upgrade_request  # noqa: E402
from tests.support import read_http_head  # noqa: E402

MIB = 1 << 20
#: set_buffers(): 32 MiB in and out, packet counts that leave the byte limits binding.
BUFFERS = (32768, 4096, 32768, 4096)
IO_TIMEOUT = 15.0


def proc_status(pid: int) -> dict[str, int]:
    """``VmRSS`` (KiB), ``Threads`` and open descriptors of process ``pid``."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "Threads"):
                out[key] = int(value.split()[0])
    out["fds"] = len(os.listdir(f"/proc/{pid}/fd"))
    return out


def rss_mib(pid: int) -> float:
    return proc_status(pid)["VmRSS"] / 1024


class PeakSampler:
    """Samples a process's RSS every ``interval`` s on a thread; ``peak`` in MiB."""

    def __init__(self, pid: int, interval: float = 0.02) -> None:
        self.pid, self.interval = pid, interval
        self.peak = rss_mib(pid)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.peak = max(self.peak, rss_mib(self.pid))
            except OSError:
                return

    def stop(self) -> float:
        self._stop.set()
        self._thread.join(5)
        self.peak = max(self.peak, rss_mib(self.pid))
        return self.peak


@contextmanager
def peak_of(pid: int, into: dict[str, float], key: str) -> Iterator[None]:
    sampler = PeakSampler(pid)
    try:
        yield
    finally:
        into[key] = sampler.stop()


# -- clients --------------------------------------------------------------------

def reset(sock: socket.socket) -> None:
    """Close with SO_LINGER 0: the server sees a TCP RST."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


class Client:
    """One upgraded client socket with a strict parser of what comes back."""

    def __init__(self, port: int, rcvbuf: int = 0) -> None:
        self.sock = socket.socket()
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(IO_TIMEOUT)
        self.sock.connect(("127.0.0.1", port))
        self.sock.sendall(upgrade_request(port))
        head, rest = read_http_head(self.sock, IO_TIMEOUT)
        if not head.startswith(b"HTTP/1.1 101 "):
            raise RuntimeError(f"upgrade refused: {head[:80]!r}")
        self.frames = ServerFrames()
        self.frames.feed(rest)

    def messages(self, count: int) -> list[bytes]:
        """Wait for ``count`` data messages; return them (and forget them)."""
        events = self.frames.events
        while len(events) < count:
            data = self.sock.recv(65536)
            if not data:
                raise RuntimeError("server closed the connection")
            self.frames.feed(data)
        got, events[:] = events[:count], events[count:]
        return [e[1] for e in got]

    def echo(self, payloads: list[bytes]) -> None:
        self.sock.sendall(b"".join(frame(OP_BINARY, p) for p in payloads))
        if self.messages(len(payloads)) != payloads:
            raise RuntimeError("echo mismatch")

    def close(self) -> None:
        self.sock.close()


def on_threads(count: int, workers: int, job: Callable[[int], None]) -> None:
    """Run ``job(i)`` for i in range(count) on ``workers`` threads; re-raise the first error."""
    errors: list[BaseException] = []
    lock = threading.Lock()
    todo = iter(range(count))

    def worker() -> None:
        while not errors:
            with lock:
                i = next(todo, None)
            if i is None:
                return
            try:
                job(i)
            except BaseException as exc:  # noqa: BLE001 - reported by the caller
                errors.append(exc)
    threads = [threading.Thread(target=worker, daemon=True) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def cycles(port: int, n: int = 2000) -> None:
    def one(i: int) -> None:
        c = Client(port)
        c.echo([os.urandom(16 + i % 512)])
        c.close()
    on_threads(n, 8, one)


def rst_drops(port: int, n: int = 500) -> None:
    big = frame(OP_BINARY, os.urandom(65536))

    def one(i: int) -> None:
        c = Client(port)
        if i % 2:
            c.sock.sendall(big[:len(big) // 2])  # mid-message
        else:
            c.echo([b"x" * 100])
        reset(c.sock)
    on_threads(n, 8, one)


def half_handshakes(port: int, n: int = 500) -> None:
    req = upgrade_request(port)

    def one(i: int) -> None:
        with socket.create_connection(("127.0.0.1", port), IO_TIMEOUT) as s:
            s.sendall(req[:len(req) // 2])
    on_threads(n, 8, one)


def concurrent(port: int, n: int = 200, rounds: int = 10) -> None:
    clients = [Client(port) for _ in range(n)]
    try:
        for _ in range(rounds):
            payload = os.urandom(1024)
            for c in clients:
                c.sock.sendall(frame(OP_BINARY, payload))
            for c in clients:
                if c.messages(1) != [payload]:
                    raise RuntimeError("echo mismatch")
    finally:
        for c in clients:
            c.close()


def slow_reader(port: int, seconds: float = 12.0, total: int = 128 * MIB,
                size: int = 16384) -> int:
    """Push ``size``-byte messages without ever reading; returns the bytes pushed."""
    c = Client(port, rcvbuf=65536)
    batch = frame(OP_BINARY, os.urandom(size)) * 64
    pushed = 0
    deadline = time.monotonic() + seconds
    try:
        while pushed < total:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            c.sock.settimeout(left)
            try:
                c.sock.sendall(batch)
            except socket.timeout:
                break
            pushed += 64 * size
    finally:
        reset(c.sock)
    return pushed


@dataclass
class RoundTrips:
    """Echo round trips, in seconds."""
    times: list[float] = field(default_factory=list)

    def percentile(self, p: float) -> float:
        s = sorted(self.times)
        return s[min(len(s) - 1, int(p / 100 * len(s)))] if s else float("nan")

    def summary(self) -> dict[str, float]:
        return {"count": len(self.times), "p50_ms": self.percentile(50) * 1000,
                "p99_ms": self.percentile(99) * 1000,
                "max_ms": max(self.times, default=float("nan")) * 1000}


class Prober:
    """Another client during a flood: it sends a small numbered message every
    ``interval`` s whether or not the previous ones came back (so a stall
    delays every probe sent during it, not just one) and records each echo's
    round trip in ``trips``. A probe still unanswered after ``per_echo`` s is
    an error (``socket.timeout``)."""

    def __init__(self, port: int, trips: RoundTrips, interval: float = 0.01,
                 per_echo: float = IO_TIMEOUT) -> None:
        self.client = Client(port)
        self.client.echo([b"warm"])
        self.trips, self.interval, self.per_echo = trips, interval, per_echo
        self.sent: dict[int, float] = {}

    def run(self, busy: Callable[[], bool]) -> None:
        """Probe while ``busy()``, then wait for the last echoes."""
        sock, frames = self.client.sock, self.client.frames
        seq, next_send = 0, time.perf_counter()
        while busy() or self.sent:
            now = time.perf_counter()
            if self.sent and now - min(self.sent.values()) > self.per_echo:
                raise socket.timeout(f"an echo took more than {self.per_echo} s")
            if now >= next_send and busy():
                self.sent[seq] = now
                sock.sendall(frame(OP_BINARY, seq.to_bytes(8, "big")))
                seq += 1
                next_send += self.interval
            sock.settimeout(max(0.001, min(next_send - now, self.per_echo)))
            try:
                data = sock.recv(65536)
            except socket.timeout:
                continue
            if not data:
                raise RuntimeError("server closed the prober")
            frames.feed(data)
            now = time.perf_counter()
            for event in frames.events:
                self.trips.times.append(now - self.sent.pop(int.from_bytes(event[1], "big")))
            frames.events.clear()

    def close(self) -> None:
        self.client.close()


def flood_frames(n: int, size: int = 16) -> bytes:
    one = frame(OP_BINARY, b"f" * size, key=b"\x01\x02\x03\x04")
    return one * n


def server_unread(port: int, client: socket.socket) -> int:
    """Bytes from ``client`` that the server on ``port`` has not read yet
    (its socket's receive queue in /proc/net/tcp)."""
    local = f"0100007F:{port:04X}"
    remote = f"0100007F:{client.getsockname()[1]:04X}"
    with open("/proc/net/tcp") as f:
        for line in f:
            fields = line.split()
            if fields[1] == local and fields[2] == remote:
                return int(fields[4].split(":")[1], 16)
    return 0


def flood(port: int, n: int = 200_000, probers: int = 4, per_echo: float = IO_TIMEOUT,
          settle: float = 0.3) -> RoundTrips:
    """One client sends ``n`` messages and reads nothing while ``probers``
    other clients measure their echo round trips, until the server has read
    the whole flood (plus ``settle`` s for its last batch to be dispatched)."""
    trips = RoundTrips()
    others = [Prober(port, trips, per_echo=per_echo) for _ in range(probers)]
    flooder = Client(port, rcvbuf=65536)
    blob = flood_frames(n)
    stop_at = [float("inf")]

    def push() -> None:
        try:
            flooder.sock.settimeout(60.0)
            flooder.sock.sendall(blob)
            deadline = time.monotonic() + 60.0
            while server_unread(port, flooder.sock) and time.monotonic() < deadline:
                time.sleep(0.01)
        finally:
            stop_at[0] = time.monotonic() + settle
    try:
        on_threads(probers + 1, probers + 1,
                   lambda i: push() if i == probers else others[i].run(
                       lambda: time.monotonic() < stop_at[0]))
    finally:
        reset(flooder.sock)
        for p in others:
            p.close()
    return trips


# -- the soak --------------------------------------------------------------------

def wait_settled(pid: int, idle_threads: int, timeout: float = 30.0,
                 settle: float = 1.0) -> dict[str, int]:
    """Wait until the server has no peer thread left, then ``settle`` s more."""
    deadline = time.monotonic() + timeout
    while proc_status(pid)["Threads"] > idle_threads and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(settle)
    return proc_status(pid)


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
            out["flood_rtt"] = flood(port, self.flood).summary()
        out["after"] = wait_settled(pid, self.idle_threads)
        out["seconds"] = time.monotonic() - t0
        return out


def run(rounds: int, env: dict[str, str], log: Callable[[str], None],
        timeout: float = 600.0) -> dict[str, Any]:
    """Start the server with ``env`` added to its environment, soak it for
    ``rounds`` rounds; kill it and exit(2) if it all takes over ``timeout`` s."""
    server = next(s for s in SERVERS if s.key == "ours")
    (RESULTS / "logs").mkdir(parents=True, exist_ok=True)
    log_path = RESULTS / "logs" / "soak.log"
    log_path.unlink(missing_ok=True)
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        proc = ServerProcess(server, "echo", False, log_path,
                             ("--buffers", ",".join(map(str, BUFFERS))))
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
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
