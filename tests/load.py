"""Client load against a server in a subprocess, for the memory and fairness
tests (tests/transport/test_reader_load.py) and the soak (bench/soak.py).

The server (:class:`EchoServer`) is a ``WebSocketServer`` in raw echo mode,
``set_buffers`` as asked, run by a child Python so that its RSS, threads and
descriptors (from ``/proc``) are its own. Clients are raw sockets with the
conformance suite's hand-made frames and strict parser. Every socket has a
timeout: nothing here waits unbounded. Linux only (``/proc``).
"""
from __future__ import annotations

import os
import select
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Callable

from tests.conformance.wire import OP_BINARY, ServerFrames, frame, upgrade_request
from tests.support import read_http_head

MIB = 1 << 20
IO_TIMEOUT = 15.0

_SERVER = """
import sys
from godot_ws.enums import WriteMode
from godot_ws.server import WebSocketServer
server = WebSocketServer()
server.bind_ip = "127.0.0.1"
server.set_buffers(*map(int, sys.argv[1:5]))
def echo(peer_id):
    peer = server.get_peer(peer_id)
    data = peer.get_packet()
    peer.set_write_mode(WriteMode.WRITE_MODE_TEXT if peer.was_string_packet()
                        else WriteMode.WRITE_MODE_BINARY)
    peer.put_packet(data)
server.connect("data_received", echo)
assert server.listen(0) == 0
print(server.get_port(), flush=True)
while True:
    server.poll(1.0)
"""


class EchoServer:
    """A raw echo ``WebSocketServer`` in a child process, ``set_buffers(*buffers)``;
    its stderr goes to ``log`` (a path, or discarded)."""

    def __init__(self, buffers: Sequence[int], log: Path | None = None,
                 env: dict[str, str] | None = None, timeout: float = 30.0) -> None:
        self._log: IO[bytes] = open(log if log is not None else os.devnull, "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _SERVER, *map(str, buffers)], stdout=subprocess.PIPE,
            stderr=self._log, env={**os.environ, **(env or {})})
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        line = self.proc.stdout.readline() if ready else b""
        if not line.strip().isdigit():
            self.stop()
            raise RuntimeError("the echo server did not start")
        self.port = int(line)
        self.pid = self.proc.pid

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self._log.close()


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


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_quiet(pid: int, timeout: float, window: float = 0.1, share: float = 0.3) -> None:
    """Wait until process ``pid`` uses less than ``share`` of a core over ``window`` s."""
    deadline = time.monotonic() + timeout
    last = cpu_seconds(pid)
    while time.monotonic() < deadline:
        time.sleep(window)
        now = cpu_seconds(pid)
        if now - last < share * window:
            return
        last = now


def flood(port: int, pid: int, n: int = 200_000, probers: int = 4,
          per_echo: float = IO_TIMEOUT) -> RoundTrips:
    """One client sends ``n`` messages and reads nothing while ``probers``
    other clients measure their echo round trips, until the server has read
    the whole flood and gone quiet (its CPU use falls: the last batches were
    parsed and dispatched)."""
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
            wait_quiet(pid, 30.0)
        finally:
            stop_at[0] = time.monotonic()
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
