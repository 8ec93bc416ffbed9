"""N Python WebSocket clients in one process against godot_ws's echo server.

Issue 15's load from Python: ``--client ours`` opens N ``WebSocketClient``s
(raw mode; one thread each, as the library's design) and drives them all from
the main thread with ``poll(0)``; ``--client websockets`` opens N
``websockets.sync.client`` connections (one background thread each, connected
by a pool of 16 threads since ``connect()`` blocks) and drives each with its
own thread (send, then ``recv``), websockets' natural threaded use. Both talk
to the same server: ``bench/servers/godot_ws_server.py --mode echo`` in a
subprocess on 127.0.0.1.

Measured: connect time (first connect started to all connected), RSS and
threads per client once all are connected (``/proc/self/status`` and
``threading.active_count()`` against before), echo throughput with one 64 B
text message in flight per client for ``--duration`` s with round-trip
p50/p99, and the time to close them all. One JSON object on stdout.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import json
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

from run import RESULTS, SERVERS, ServerProcess

from godot_ws import WebSocketClient, WriteMode

PAYLOAD = b"x" * 64
WAIT = 60.0


def rss_kib() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class _Ours:
    """N WebSocketClients polled from this thread."""

    def __init__(self, url: str, n: int) -> None:
        self.url, self.n = url, n
        self.clients: list[WebSocketClient] = []
        self.connected = 0
        self.closed = 0
        self.rtts: list[float] = []
        self.sent_at: dict[int, float] = {}
        self.running = False

    def poll_until(self, done: Any, what: str) -> None:
        end = time.monotonic() + WAIT
        while not done():
            if time.monotonic() > end:
                raise RuntimeError(f"timed out: {what}")
            for c in self.clients:
                c.poll(0)
            time.sleep(0)  # let the client threads have the GIL between sweeps

    def connect(self) -> None:
        for i in range(self.n):
            c = WebSocketClient()
            c.connect("connection_established", lambda _p: self._established())
            c.connect("connection_error", lambda: self._failed())
            c.connect("connection_closed", lambda _clean: self._closed())
            c.connect("data_received", lambda i=i, c=c: self._echoed(i, c))
            self.clients.append(c)
            c.connect_to_url(self.url)
        self.poll_until(lambda: self.connected == self.n, "connecting")
        for c in self.clients:
            peer = c.get_peer(1)
            assert peer is not None
            peer.set_write_mode(WriteMode.WRITE_MODE_TEXT)

    def _established(self) -> None:
        self.connected += 1

    def _failed(self) -> None:
        raise RuntimeError("a client could not connect")

    def _closed(self) -> None:
        self.closed += 1

    def _send(self, i: int, c: WebSocketClient) -> None:
        self.sent_at[i] = time.perf_counter()
        peer = c.get_peer(1)
        assert peer is not None
        peer.put_packet(PAYLOAD)

    def _echoed(self, i: int, c: WebSocketClient) -> None:
        peer = c.get_peer(1)
        assert peer is not None
        while peer.get_available_packet_count():
            peer.get_packet()
            self.rtts.append(time.perf_counter() - self.sent_at[i])
            if self.running:
                self._send(i, c)

    def echo(self, duration: float) -> int:
        self.running = True
        for i, c in enumerate(self.clients):
            self._send(i, c)
        end = time.monotonic() + duration
        self.poll_until(lambda: time.monotonic() >= end, "echo")
        self.running = False
        return len(self.rtts)

    def close(self) -> None:
        for c in self.clients:
            c.disconnect_from_host()
        self.poll_until(lambda: self.closed == self.n, "closing")
        for c in self.clients:
            c.stop()


class _Websockets:
    """N websockets.sync.client connections, each driven by its own thread."""

    def __init__(self, url: str, n: int) -> None:
        self.url, self.n = url, n
        self.conns: list[Any] = []
        self.rtts: list[list[float]] = []
        self.stack = contextlib.ExitStack()

    def connect(self) -> None:
        from websockets.sync.client import connect
        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            self.conns = list(pool.map(lambda _i: connect(self.url, open_timeout=WAIT,
                                                          compression=None), range(self.n)))
        for conn in self.conns:  # as websockets wants them used: closed on exit
            self.stack.enter_context(conn)

    def _drive(self, conn: Any, end: float, rtts: list[float]) -> None:
        text = PAYLOAD.decode()
        while time.monotonic() < end:
            t = time.perf_counter()
            conn.send(text)
            conn.recv(timeout=WAIT)
            rtts.append(time.perf_counter() - t)

    def echo(self, duration: float) -> int:
        end = time.monotonic() + duration
        self.rtts = [[] for _ in self.conns]
        drivers = [threading.Thread(target=self._drive, args=(c, end, r), daemon=True)
                   for c, r in zip(self.conns, self.rtts)]
        for d in drivers:
            d.start()
        for d in drivers:
            d.join(duration + WAIT)
        return sum(len(r) for r in self.rtts)

    def all_rtts(self) -> list[float]:
        return [x for r in self.rtts for x in r]

    def close(self) -> None:
        self.stack.close()


def measure(kind: str, url: str, n: int, duration: float) -> dict[str, Any]:
    threads0, rss0 = threading.active_count(), rss_kib()
    side: _Ours | _Websockets = _Ours(url, n) if kind == "ours" else _Websockets(url, n)
    t0 = time.monotonic()
    side.connect()
    connect_s = time.monotonic() - t0
    rss1, threads1 = rss_kib(), threading.active_count()
    echoes = side.echo(duration)
    rtts = side.rtts if isinstance(side, _Ours) else side.all_rtts()
    t1 = time.monotonic()
    side.close()
    close_s = time.monotonic() - t1
    end = time.monotonic() + WAIT
    while threading.active_count() > threads0 and time.monotonic() < end:
        time.sleep(0.01)
    return {"client": kind, "clients": n, "connect_s": connect_s,
            "rss_kib_per_client": (rss1 - rss0) / n, "threads_per_client": (threads1 - threads0) / n,
            "echo_msgs_per_s": echoes / duration, "echoes": echoes,
            "rtt_p50_ms": percentile(rtts, 0.5) * 1000, "rtt_p99_ms": percentile(rtts, 0.99) * 1000,
            "rtt_mean_ms": statistics.fmean(rtts) * 1000 if rtts else 0.0,
            "close_s": close_s, "threads_left": threading.active_count() - threads0}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--client", choices=("ours", "websockets"), default="ours")
    p.add_argument("--clients", type=int, default=500, metavar="N")
    p.add_argument("--duration", type=float, default=5.0, help="seconds of echo (default 5)")
    args = p.parse_args(argv)
    if args.clients < 1 or args.duration <= 0:
        p.error("--clients must be >= 1 and --duration > 0")
    ours = next(s for s in SERVERS if s.key == "ours")
    logs = Path(RESULTS) / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    server = ServerProcess(ours, "echo", False, logs / "py_clients_server.log")
    try:
        result = measure(args.client, f"ws://127.0.0.1:{server.port}/", args.clients, args.duration)
    finally:
        server.stop()
    print(json.dumps(result))
    print(f"{args.client}: {args.clients} clients connected in {result['connect_s']:.2f} s, "
          f"{result['rss_kib_per_client']:.1f} KiB and {result['threads_per_client']:.2f} threads "
          f"each, {result['echo_msgs_per_s']:,.0f} echoes/s (p50 {result['rtt_p50_ms']:.1f} ms, "
          f"p99 {result['rtt_p99_ms']:.1f} ms), closed in {result['close_s']:.2f} s",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
