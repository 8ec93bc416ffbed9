"""Run the benchmark suite: every scenario against every server, one table.

``make bench`` builds ``bench/loadgen`` and runs this with the venv's Python.
Each server in ``bench/servers/`` runs as a subprocess on 127.0.0.1 (port 0,
read back from its ``listening on ws://HOST:PORT`` line); the C load
generator drives it, checks every echoed byte and reports its own CPU share
next to the server's. Timed scenarios run ``--runs`` times; the table shows
the run with the median result. Output: ``bench/results/latest.md`` (also
printed) and ``bench/results/latest.json`` (every run's raw numbers).

The TLS part (``--tls-only`` runs just it) measures godot_ws (tight poll) and
websockets over ws:// and wss:// side by side, with an RSA-2048 self-signed
pair made by ``godot_ws.crypto.Crypto`` for this run; the load generator
verifies the certificate and does a full handshake per connection.
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import os
import platform
import select
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
LOADGEN = HERE / "loadgen"
RESULTS = HERE / "results"
SERVERS_DIR = HERE / "servers"

#: Buffers for the echo/broadcast runs of ours: room for 1 MiB messages
#: (Godot's 64 KiB default drops them, as Godot would). Idle runs keep defaults.
BIG_BUFFERS = "4096,1024,4096,1024"


@dataclass
class Server:
    """One column of the table: a server script and its extra arguments."""
    key: str
    label: str
    script: str
    args: tuple[str, ...] = ()
    big_args: tuple[str, ...] = ()  # only for the echo/broadcast scenarios


SERVERS = [
    Server("ours", "godot_ws (tight poll)", "godot_ws_server.py", ("--loop", "tight"),
           ("--buffers", BIG_BUFFERS)),
    Server("ours60", "godot_ws (60 Hz poll)", "godot_ws_server.py", ("--loop", "60hz"),
           ("--buffers", BIG_BUFFERS)),
    Server("websockets", "websockets 17 sync.server", "websockets_server.py"),
    Server("simple", "simple-websocket 1.1 + acceptor", "simple_websocket_server.py"),
    # The reference, when godot3-server is installed (C++; drops empty messages, so its
    # byte-exact check fails on the first case: expected).
    Server("godot", "Godot 3.2.3 (C++, busy poll)", "godot_server.py", (),
           ("--buffers", BIG_BUFFERS)),
]


@dataclass
class Scenario:
    """A timed loadgen scenario: its arguments and its headline number."""
    key: str
    label: str
    loadgen: tuple[str, ...]
    metric: str                 # key of the loadgen JSON shown in the table
    mode: str = "echo"          # server mode
    fmt: str = "{:,.0f}"


SCENARIOS = [
    Scenario("pingpong", "1 conn ping-pong 32 B: msgs/s",
             ("echo", "--conns", "1", "--inflight", "1", "--size", "32"), "msgs_per_s"),
    Scenario("echo50", "50 conns × 16 in flight, 1 KiB: msgs/s",
             ("echo", "--conns", "50", "--inflight", "16", "--size", "1024"), "msgs_per_s"),
    Scenario("large", "1 MiB messages, 1 conn: MB/s (10⁶ B, one way)",
             ("echo", "--conns", "1", "--inflight", "1", "--size", "1048576"), "mb_per_s"),
    Scenario("connect", "connect + upgrade + close, 8 parallel: /s",
             ("connect", "--parallel", "8"), "conns_per_s"),
    Scenario("broadcast", "broadcast to 50 peers (≤ 32 msgs in flight, 32 B): delivered msgs/s",
             ("broadcast", "--conns", "50", "--inflight", "32", "--size", "32"), "msgs_per_s",
             mode="broadcast"),
]

#: The TLS table (issue 5): each scenario over ws:// and wss://, same server process kind.
TLS_SCENARIOS = [
    Scenario("connect", "handshakes: connect (+ TLS handshake) + upgrade + close, 8 parallel: /s",
             ("connect", "--parallel", "8"), "conns_per_s"),
    Scenario("echo50", "1 KiB echo, 50 conns × 16 in flight: msgs/s",
             ("echo", "--conns", "50", "--inflight", "16", "--size", "1024"), "msgs_per_s"),
    Scenario("pingpong", "1 KiB ping-pong, 1 conn: msgs/s",
             ("echo", "--conns", "1", "--inflight", "1", "--size", "1024"), "msgs_per_s"),
]
TLS_SERVERS = ("ours", "websockets")

#: Floors from issue 14, as (scenario, ratio to websockets needed); ratios are
#: "ours is better" > 1 (for latency: websockets' RTT / ours).
FLOORS = {"pingpong": 1.0, "latency": 1.0, "echo50": 2.0, "large": 1.0, "connect": 1.5,
          "broadcast": 3.0}
#: Idle peers (issue 14): at IDLE_FLOOR_PEERS, RSS per peer at most IDLE_FLOOR_KIB
#: (Godot 3.2.3: 23.4) and the burst (one message from each) answered within BURST_FLOOR_MS.
IDLE_FLOOR_PEERS, IDLE_FLOOR_KIB, BURST_FLOOR_MS = 10000, 23.5, 2000.0
#: Over wss:// (the TLS table), ratio to websockets over wss:// needed.
TLS_FLOORS = {"connect": 1.5, "pingpong": 1.0}


Result = dict[str, Any]


@dataclass
class SummaryRow:
    """One row of the summary table: one figure for godot_ws (tight poll),
    websockets and Godot from the same run, and what godot_ws must reach: a
    ratio to websockets (``floor``) or an absolute bound (``bound``, at most).
    Other parts of the suite add rows here for what they measure."""
    label: str
    fetch: Callable[[dict[str, Any], str], Result | None]  # (suite data, server key)
    value: Callable[[Result], float]
    fmt: str = "{:,.0f}"
    floor: float | None = None
    bound: float | None = None
    unit: str = ""
    lower_is_better: bool = False


def _main_result(sk: str) -> Callable[[dict[str, Any], str], Result | None]:
    return lambda data, key: data.get("servers", {}).get(key, {}).get(sk)


def _tls_result(sk: str) -> Callable[[dict[str, Any], str], Result | None]:
    return lambda data, key: data.get("tls", {}).get("columns", {}).get(f"{key}-wss", {}).get(sk)


def _idle_result(rss: bool) -> Callable[[dict[str, Any], str], Result | None]:
    def fetch(data: dict[str, Any], key: str) -> Result | None:
        r = (data.get("servers", {}).get(key, {}).get("idle") or {}).get(str(IDLE_FLOOR_PEERS))
        # RSS was measured even when the burst then failed
        return dict(r, ok=True) if rss and r and "rss_per_conn_kib" in r else r
    return fetch


def _burst_ms(r: Result) -> float:
    return r["burst_ms"] if r["answered"] == r["conns"] else float("inf")


SUMMARY_ROWS = [
    SummaryRow("1 conn ping-pong 32 B: msgs/s", _main_result("pingpong"),
               lambda r: r["msgs_per_s"], floor=FLOORS["pingpong"]),
    SummaryRow("↳ RTT p50 (µs)", _main_result("pingpong"), lambda r: r["rtt_p50_us"],
               floor=FLOORS["latency"], lower_is_better=True),
    SummaryRow("50 conns × 16 in flight, 1 KiB: msgs/s", _main_result("echo50"),
               lambda r: r["msgs_per_s"], floor=FLOORS["echo50"]),
    SummaryRow("1 MiB messages, 1 conn: MB/s", _main_result("large"),
               lambda r: r["mb_per_s"], floor=FLOORS["large"]),
    SummaryRow("connect + upgrade + close, 8 parallel: /s", _main_result("connect"),
               lambda r: r["conns_per_s"], floor=FLOORS["connect"]),
    SummaryRow("broadcast to 50 peers: delivered msgs/s", _main_result("broadcast"),
               lambda r: r["msgs_per_s"], floor=FLOORS["broadcast"]),
    SummaryRow(f"{IDLE_FLOOR_PEERS:,} idle peers: RSS per peer (KiB)", _idle_result(True),
               lambda r: r["rss_per_conn_kib"], "{:.1f}", bound=IDLE_FLOOR_KIB, unit=" KiB",
               lower_is_better=True),
    SummaryRow(f"{IDLE_FLOOR_PEERS:,} idle peers: burst, one msg each, all answered in (ms)",
               _idle_result(False), _burst_ms, bound=BURST_FLOOR_MS, unit=" ms",
               lower_is_better=True),
    SummaryRow("wss: connect + TLS + upgrade + close, 8 parallel: /s", _tls_result("connect"),
               lambda r: r["conns_per_s"], floor=TLS_FLOORS["connect"]),
    SummaryRow("wss: 1 KiB ping-pong, 1 conn: msgs/s", _tls_result("pingpong"),
               lambda r: r["msgs_per_s"], floor=TLS_FLOORS["pingpong"]),
]


# -- processes -------------------------------------------------------------------

class ServerProcess:
    """A benchmark server subprocess, started and waited for its listening line."""

    def __init__(self, server: Server, mode: str, big: bool, log_path: Path,
                 extra: Sequence[str] = ()) -> None:
        argv = [sys.executable, str(SERVERS_DIR / server.script), "0", "--mode", mode,
                *server.args, *(server.big_args if big else ()), *extra]
        self.log = open(log_path, "a")
        self.log.write(f"\n=== {' '.join(argv)}\n")
        self.log.flush()
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=self.log,
                                     cwd=str(ROOT), text=True)
        self.port = self._wait_listening(timeout=30.0)

    def _wait_listening(self, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        assert self.proc.stdout is not None
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.2)
            if ready:
                line = self.proc.stdout.readline()
                if line.startswith(("listening on ws://", "listening on wss://")):
                    return int(line.strip().rsplit(":", 1)[1])
                if not line and self.proc.poll() is not None:
                    break
            elif self.proc.poll() is not None:
                break
        self.stop()
        raise RuntimeError("server did not start (see the log in bench/results/logs/)")

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.proc.stdout:
            self.proc.stdout.close()
        self.log.close()


def loadgen_features() -> dict[str, Any]:
    """What this loadgen build supports: ``{"tls": bool, "openssl": version}``."""
    try:
        out = subprocess.run([str(LOADGEN), "features"], capture_output=True, text=True, timeout=10)
        return json.loads(out.stdout)
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return {"tls": False}  # a loadgen built before `features` existed


def make_cert_pair(directory: Path) -> tuple[str, str]:
    """A throwaway RSA-2048 self-signed certificate and its key, as PEM files."""
    from godot_ws.crypto import Crypto  # the venv's editable install
    crypto = Crypto()
    key = crypto.generate_rsa(2048)
    cert = crypto.generate_self_signed_certificate(key)
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    if cert.save(cert_path) or key.save(key_path):
        raise RuntimeError(f"cannot write the certificate pair in {directory}")
    return str(cert_path), str(key_path)


def server_openssl_versions() -> str:
    """Which OpenSSL each server links: pyOpenSSL's (godot_ws) and Python's ssl (websockets)."""
    import ssl
    try:
        from OpenSSL import SSL
        ours = SSL.OpenSSL_version(SSL.OPENSSL_VERSION).decode()
    except Exception:  # noqa: BLE001 - reporting only
        ours = "?"
    return f"godot_ws via pyOpenSSL: {ours}; websockets via Python ssl: {ssl.OPENSSL_VERSION}"


def run_loadgen(args: Sequence[str], port: int, pid: int, timeout: float) -> dict[str, Any]:
    """One loadgen run; its JSON, or {"ok": False, "error": ...}."""
    argv = [str(LOADGEN), *args, "--port", str(port), "--server-pid", str(pid)]
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"ok": False, "error": f"loadgen timed out after {timeout:.0f} s"}
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
    if not lines:
        return {"ok": False, "error": f"loadgen exit {out.returncode}: {out.stderr.strip()[:200]}"}
    return json.loads(lines[-1])


# -- the suite ---------------------------------------------------------------------

@dataclass
class Suite:
    """What to run and how long; collects every result in ``data``."""
    duration: float
    warmup: float
    runs: int
    idle_sizes: tuple[int, ...]
    scaling_sizes: tuple[int, ...]
    burst_timeout: float
    servers: list[Server]
    tls_duration: float = 2.0
    data: dict[str, Any] = field(default_factory=dict)

    def timing(self, duration: float | None = None) -> tuple[str, ...]:
        return ("--duration", str(duration or self.duration), "--warmup", str(self.warmup))

    def timeout(self, duration: float | None = None) -> float:
        return (duration or self.duration) + self.warmup + 60.0

    def log(self, msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    def start(self, server: Server, mode: str, big: bool,
              extra: Sequence[str] = ()) -> ServerProcess | None:
        try:
            return ServerProcess(server, mode, big, RESULTS / "logs" / f"{server.key}.log", extra)
        except RuntimeError as exc:
            self.log(f"  {server.key}: {exc}")
            return None

    def timed(self, server: Server, sc: Scenario, proc: ServerProcess,
              extra: Sequence[str] = (), duration: float | None = None) -> dict[str, Any]:
        """``runs`` runs of a scenario; the median run (by its metric) plus all runs."""
        runs = []
        for _ in range(self.runs):
            if not proc.alive():
                runs.append({"ok": False, "error": "server process died"})
                break
            r = run_loadgen((*sc.loadgen, *extra, *self.timing(duration)), proc.port, proc.pid,
                            self.timeout(duration))
            runs.append(r)
            self.log(f"  {server.key:<14} {sc.key:<10} " + (
                f"{sc.fmt.format(r[sc.metric])}" if r.get("ok") else f"FAILED: {r['error']}"))
            if not r.get("ok"):
                break
        good = [r for r in runs if r.get("ok")]
        if len(good) < len(runs) or not good:
            bad = next(r for r in runs if not r.get("ok"))
            return {"ok": False, "error": bad["error"], "runs": runs}
        good.sort(key=lambda r: r[sc.metric])
        median = dict(good[len(good) // 2])
        median["runs"] = runs
        median["spread"] = [r[sc.metric] for r in runs]
        return median

    def run_echo_server(self, server: Server, scenarios: Sequence[Scenario], res: dict[str, Any],
                        server_args: Sequence[str] = (), loadgen_args: Sequence[str] = (),
                        duration: float | None = None) -> None:
        """The byte-exact check, then each scenario, against one echo server process
        (restarted if it died); results in ``res`` by scenario key."""
        proc = self.start(server, "echo", True, server_args)
        if not proc:
            return
        res["verify"] = run_loadgen(("verify", "--stall", "5", *loadgen_args), proc.port,
                                    proc.pid, 60.0)
        self.log(f"  {server.key:<14} verify     "
                 + ("ok" if res["verify"].get("ok") else f"FAILED: {res['verify']['error']}"))
        for sc in scenarios:
            if not proc.alive():
                proc.stop()
                proc = self.start(server, "echo", True, server_args)
                if not proc:
                    return
            res[sc.key] = self.timed(server, sc, proc, loadgen_args, duration)
        proc.stop()

    def run_server(self, server: Server) -> None:
        """Every scenario against one server; results in data[server.key]."""
        res: dict[str, Any] = {}
        self.data.setdefault("servers", {})[server.key] = res
        self.run_echo_server(server, [s for s in SCENARIOS if s.mode == "echo"], res)
        for sc in (s for s in SCENARIOS if s.mode == "broadcast"):
            proc = self.start(server, "broadcast", big=True)
            if proc:
                res[sc.key] = self.timed(server, sc, proc)
                proc.stop()
        res["idle"] = self.run_idle(server)

    def run_idle(self, server: Server) -> dict[str, Any]:
        """Idle peers at each size, each on a fresh server with default buffers."""
        out: dict[str, Any] = {}
        failed_at = None
        per_peer = 0.0  # server threads per idle peer, from the previous size
        for n in self.idle_sizes:
            if failed_at and not server.key.startswith("ours"):
                out[str(n)] = {"ok": False, "error": f"skipped (failed at {failed_at:,})",
                               "skipped": True}
                continue
            budget = thread_budget()
            if per_peer * n > budget:
                # other processes on this machine need pids too
                out[str(n)] = {"ok": False, "skipped": True, "error":
                               f"skipped: would need ~{per_peer * n:,.0f} threads, "
                               f"{budget:,} available"}
                self.log(f"  {server.key:<14} idle {n:<6} {out[str(n)]['error']}")
                continue
            proc = self.start(server, "echo", big=False)
            if not proc:
                out[str(n)] = {"ok": False, "error": "server did not start"}
                failed_at = n
                continue
            r = run_loadgen(("idle", "--conns", str(n), "--settle", "1.0", "--stall", "20",
                             "--open-timeout", "60", "--burst-timeout", str(self.burst_timeout)),
                            proc.port, proc.pid, 120.0 + self.burst_timeout)
            proc.stop()
            out[str(n)] = r
            if r.get("threads1", -1) > 0 and n > 16:
                per_peer = (r["threads1"] - r["threads0"]) / (n - 16)
            self.log(f"  {server.key:<14} idle {n:<6} " + (
                f"{r['rss_per_conn_kib']:.1f} KiB/peer, burst {r['answered']} in "
                f"{r['burst_ms']:.0f} ms" if "answered" in r else "")
                + ("" if r.get("ok") else f" FAILED: {r['error']}"))
            if not r.get("ok"):
                failed_at = n
        return out

    def run_scaling(self, server: Server) -> None:
        """1-conn ping-pong while 0..N other peers sit connected and idle."""
        sc = SCENARIOS[0]
        out: dict[str, Any] = {}
        proc = self.start(server, "echo", big=False)
        if not proc:
            self.data["scaling"] = {"error": "server did not start"}
            return
        for n in self.scaling_sizes:
            label = Scenario(f"idle{n}", sc.label, sc.loadgen, sc.metric)
            out[str(n)] = self.timed(server, label, proc, ("--idle", str(n)))
        proc.stop()
        self.data["scaling"] = {"server": server.key, "results": out}

    def run_tls(self) -> None:
        """ws:// then wss:// for godot_ws (tight poll) and websockets, in data["tls"]."""
        servers = [s for s in self.servers if s.key in TLS_SERVERS]
        feats = loadgen_features()
        out: dict[str, Any] = {"columns": {}, "duration": self.tls_duration,
                               "loadgen_openssl": feats.get("openssl", "?"),
                               "server_openssl": server_openssl_versions()}
        self.data["tls"] = out
        if not feats.get("tls"):
            out["error"] = ("skipped: bench/loadgen was built without OpenSSL (install "
                            "libssl-dev, then `make bench` rebuilds it)")
            self.log(f"  {out['error']}")
            return
        with tempfile.TemporaryDirectory(prefix="godot_ws-bench-tls-") as tmp:
            cert, key = make_cert_pair(Path(tmp))
            for server in servers:
                for scheme in ("ws", "wss"):
                    col = dataclasses.replace(server, key=f"{server.key}-{scheme}")
                    tls = scheme == "wss"
                    res: dict[str, Any] = {}
                    out["columns"][col.key] = res
                    self.run_echo_server(
                        col, TLS_SCENARIOS, res,
                        server_args=("--tls-cert", cert, "--tls-key", key) if tls else (),
                        loadgen_args=("--tls-ca", cert) if tls else (),
                        duration=self.tls_duration)

    def run_py_clients(self, quick: bool) -> None:
        """bench/py_clients.py: N Python clients in one process, ours and websockets."""
        n, duration = (50, 2.0) if quick else (500, 5.0)
        self.log(f"  {n} Python clients in one process")
        found: dict[str, Any] = {}
        for kind in ("ours", "websockets"):
            argv = [sys.executable, str(HERE / "py_clients.py"), "--client", kind,
                    "--clients", str(n), "--duration", str(duration)]
            try:
                out = subprocess.run(argv, capture_output=True, text=True, timeout=300,
                                     cwd=str(ROOT))
                found[kind] = json.loads(out.stdout.strip().splitlines()[-1])
            except (subprocess.TimeoutExpired, ValueError, IndexError) as exc:
                found[kind] = {"error": f"{type(exc).__name__}: {exc}"}
        self.data["py_clients"] = found

    def run_variant_bench(self, quick: bool) -> None:
        script = HERE / "bench_variant.py"
        if not script.exists():
            self.data["variant"] = None
            return
        self.log("  variant codec bench")
        argv = [sys.executable, str(script)] + (["--quick"] if quick else [])
        try:
            out = subprocess.run(argv, capture_output=True, text=True, timeout=300, cwd=str(ROOT))
            self.data["variant"] = out.stdout.strip() or f"(no output; exit {out.returncode}: " \
                                                         f"{out.stderr.strip()[-300:]})"
        except subprocess.TimeoutExpired:
            self.data["variant"] = "(bench_variant.py timed out after 300 s)"


# -- machine and report ----------------------------------------------------------

def machine_info() -> dict[str, str]:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for mod in ("websockets", "simple_websocket", "wsproto"):
        try:
            from importlib.metadata import version
            versions[mod] = version(mod.replace("_", "-"))
        except Exception:  # noqa: BLE001 - reporting only
            versions[mod] = "?"
    try:
        commit = subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty"],
                                capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        commit = "?"
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": str(os.cpu_count()),
        "cpu": cpu,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "versions": ", ".join(f"{k.replace('_', '-')} {v}" for k, v in versions.items()),
        "commit": commit or "?",
        "loadavg": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def thread_budget(reserve: int = 4096) -> int:
    """Threads a server may still create without starving the machine of pids."""
    limits = []
    for path in ("/proc/sys/kernel/pid_max", "/proc/sys/kernel/threads-max"):
        try:
            limits.append(int(Path(path).read_text()))
        except (OSError, ValueError):
            pass
    in_use = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                in_use += len(os.listdir(f"/proc/{entry}/task"))
            except OSError:
                pass
    return max(0, min(limits or [32768]) - in_use - reserve)


def godot_available() -> bool:
    return bool(os.environ.get("GODOT_BIN") or shutil.which("godot3-server"))


def fmt_num(v: float, fmt: str = "{:,.0f}") -> str:
    return fmt.format(v)


def cell(r: dict[str, Any] | None, fn: Callable[[dict[str, Any]], str]) -> str:
    if r is None:
        return "—"
    if not r.get("ok"):
        return "FAILED: " + str(r.get("error", "?"))[:100].replace("|", "/")
    return fn(r)


def ratio_cell(ours: dict[str, Any] | None, ref: dict[str, Any] | None,
               get: Callable[[dict[str, Any]], float], invert: bool = False,
               floor: float | None = None) -> tuple[str, str]:
    """``ours / ref`` (``ref / ours`` for latencies) and the floor verdict."""
    floor_txt = f"≥ {floor:.1f}×" if floor else ""
    if not (ours and ref and ours.get("ok") and ref.get("ok")):
        return "—", floor_txt
    a, b = get(ours), get(ref)
    if invert:
        a, b = b, a
    if not b:
        return "—", floor_txt
    q = a / b
    verdict = ("  ✓" if q >= floor else "  ✗") if floor else ""
    return f"{q:.2f}×", floor_txt + verdict


def report(suite: Suite, info: dict[str, str], elapsed: float) -> str:
    servers = suite.servers
    sres = suite.data.get("servers", {})
    get = lambda key, sk: sres.get(key, {}).get(sk)  # noqa: E731
    has_ref = "ours" in sres and "websockets" in sres
    head = ["scenario"] + [s.label for s in servers]
    if has_ref:
        head += ["ours / websockets", "floor"]
    rows: list[list[str]] = []

    def add(label: str, sk: str, fn: Callable[[dict[str, Any]], str],
            ratio: tuple[Callable[[dict[str, Any]], float], bool, float | None] | None = None,
            fetch: Callable[[str, str], dict[str, Any] | None] = get) -> None:
        row = [label] + [cell(fetch(s.key, sk), fn) for s in servers]
        if has_ref:
            if ratio:
                row += list(ratio_cell(fetch("ours", sk), fetch("websockets", sk), *ratio))
            else:
                row += ["", ""]
        rows.append(row)

    add("byte-exact echo check (sizes 0 B–1 MiB, text/binary, fragments, pings)", "verify",
        lambda r: "pass")
    for sc in SCENARIOS:
        add(sc.label, sc.key, lambda r, sc=sc: fmt_num(r[sc.metric], sc.fmt),
            (lambda r, sc=sc: r[sc.metric], False, FLOORS.get(sc.key)))
        if sc.key == "pingpong":
            add("↳ RTT p50 / p99 (µs)", sc.key,
                lambda r: f"{r['rtt_p50_us']:,.0f} / {r['rtt_p99_us']:,.0f}",
                (lambda r: r["rtt_p50_us"], True, FLOORS["latency"]))
    sizes = [str(n) for n in suite.idle_sizes]

    def idle_fetch(key: str, n: str) -> dict[str, Any] | None:
        return (sres.get(key, {}).get("idle") or {}).get(n)

    def idle_fetch_rss(key: str, n: str) -> dict[str, Any] | None:
        # RSS was measured even when the burst then timed out
        r = idle_fetch(key, n)
        return dict(r, ok=True) if r and "rss_per_conn_kib" in r else r

    for n in sizes:
        at_floor = int(n) == IDLE_FLOOR_PEERS
        add(f"{int(n):,} idle peers: server RSS per peer (KiB), threads", n,
            lambda r: f"{r['rss_per_conn_kib']:.1f} KiB, {r['threads1']:,} thr",
            (lambda r: r["rss_per_conn_kib"], True, None), fetch=idle_fetch_rss)
        if has_ref and at_floor:
            rows[-1][-1] = f"≤ {IDLE_FLOOR_KIB} KiB" + _idle_verdict(idle_fetch_rss("ours", n))
        add(f"{int(n):,} idle peers: burst, one msg each: answered in", n,
            lambda r: f"{r['answered']:,} in {r['burst_ms']:,.0f} ms",
            (lambda r: r["burst_ms"], True, None), fetch=idle_fetch)
        if has_ref:
            rows[-1][-1] = (f"all in {BURST_FLOOR_MS / 1000:g} s" if at_floor else "all") \
                + _burst_verdict(idle_fetch("ours", n), int(n), at_floor)

    cpu_rows: list[list[str]] = []
    for sc in SCENARIOS:
        cpu_rows.append([sc.label] + [
            cell(get(s.key, sc.key),
                 lambda r: f"{r['server_cpu'] * 100:.0f}% / {r['loadgen_cpu'] * 100:.0f}%")
            for s in servers])

    tls_timing = (f" (TLS table: {suite.tls_duration:g} s per run)"
                  if "tls" in suite.data else "")
    out = [f"# godot_ws benchmark ({info['date']})", "",
           f"Machine: {info['nproc']} cores, {info['cpu']}, Linux {info['kernel']}, "
           f"Python {info['python']}; {info['versions']}; godot_ws {info['commit']}. "
           f"Load average at start: {info['loadavg']}. "
           f"godot_ws servers' GIL switch interval: {info['switch_interval']} s. "
           f"Each timed scenario: {suite.runs} run(s) × {suite.duration:g} s after a "
           f"{suite.warmup:g} s warm-up{tls_timing}; the table shows the median run. "
           f"Total time {elapsed / 60:.1f} min.", "",
           "Every echoed or broadcast byte is checked by the load generator (content, "
           "length, frame type, order) before it counts. Ratios: > 1 means godot_ws (tight "
           "poll) is better (for latency and RSS: websockets' value / ours).", ""]
    out += _summary_section(suite)
    if sres:
        out += ["## Every scenario", "", _md_table(head, rows), "",
                "## CPU share during the measured window: server / load generator "
                "(100% = one core)", "",
                _md_table(["scenario"] + [s.label for s in servers], cpu_rows), ""]
        out += _scaling_section(suite)
    out += _tls_section(suite)
    out += _py_clients_section(suite)
    if "variant" in suite.data:
        v = suite.data["variant"]
        out += ["## Variant codec", "", v if v else "(bench/bench_variant.py not present)", ""]
    return "\n".join(out)


def _summary_section(suite: Suite) -> list[str]:
    """The floors of issue 14: godot_ws next to websockets and Godot, ratio, verdict."""
    data = suite.data
    keys = [k for k in ("ours", "websockets", "godot") if k in {s.key for s in suite.servers}]
    label = {"ours": "godot_ws (tight poll)", "websockets": "websockets",
             "godot": "Godot 3.2.3 (C++)"}
    rows = []
    for row in SUMMARY_ROWS:
        results = {k: row.fetch(data, k) for k in keys}
        if not any(results.values()):
            continue  # not measured in this run (e.g. --tls-only, --no-tls)
        cells = [cell(results[k], lambda r: row.fmt.format(row.value(r))) for k in keys]
        ours, ref = results.get("ours"), results.get("websockets")
        ratio = "—"
        if row.floor is not None:
            ratio, floor = ratio_cell(ours, ref, row.value, row.lower_is_better, row.floor)
        else:
            held = bool(ours and ours.get("ok") and row.value(ours) <= (row.bound or 0))
            floor = f"≤ {row.fmt.format(row.bound)}{row.unit}" + ("  ✓" if held else "  ✗")
            if ours and ref and ours.get("ok") and ref.get("ok") and row.value(ours):
                ratio = f"{row.value(ref) / row.value(ours):.2f}×"
        rows.append([row.label, *cells, ratio, floor])
    if not rows:
        return []
    return ["## Floors (issue 14), same run", "",
            "Ratio: ours / websockets (for RTT, RSS and burst time: websockets' / ours), "
            "so > 1 is better for godot_ws; the floor is what godot_ws must reach.", "",
            _md_table(["row", *(label[k] for k in keys), "ours / websockets", "floor"], rows),
            ""]


def _tls_section(suite: Suite) -> list[str]:
    """ws:// next to wss:// for godot_ws and websockets: values, TLS cost, ours / websockets."""
    tls = suite.data.get("tls")
    if tls is None:
        return []
    out = ["## TLS: ws:// and wss:// in the same run", ""]
    if "error" in tls:
        return out + [tls["error"], ""]
    cols = tls["columns"]
    keys = [k for k in TLS_SERVERS if f"{k}-ws" in cols]
    label = {"ours": "godot_ws", "websockets": "websockets"}
    head = ["scenario"] + [f"{label[k]} {sch}" for k in keys for sch in ("ws", "wss")]
    head += [f"{label[k]} wss / ws" for k in keys]
    both = len(keys) == 2
    if both:
        head += ["godot_ws / websockets, ws", "godot_ws / websockets, wss"]
    col_keys = [f"{k}-{sch}" for k in keys for sch in ("ws", "wss")]

    def row(title: str, sk: str, fn: Callable[[dict[str, Any]], str],
            get: Callable[[dict[str, Any]], float] | None = None) -> list[str]:
        fetch = lambda c: cols.get(c, {}).get(sk)  # noqa: E731
        r = [title] + [cell(fetch(c), fn) for c in col_keys]
        ratios = [(f"{k}-wss", f"{k}-ws") for k in keys]
        if both:
            ratios += [("ours-ws", "websockets-ws"), ("ours-wss", "websockets-wss")]
        r += [ratio_cell(fetch(a), fetch(b), get)[0] if get else "" for a, b in ratios]
        return r

    rows = [row("byte-exact echo check (sizes 0 B–1 MiB, text/binary, fragments, pings)",
                "verify", lambda r: "pass")]
    cpu_rows = []
    for sc in TLS_SCENARIOS:
        rows.append(row(sc.label, sc.key, lambda r, sc=sc: fmt_num(r[sc.metric], sc.fmt),
                        lambda r, sc=sc: r[sc.metric]))
        if sc.key == "pingpong":
            rows.append(row("↳ RTT p50 / p99 (µs)", sc.key,
                            lambda r: f"{r['rtt_p50_us']:,.0f} / {r['rtt_p99_us']:,.0f}"))
        cpu_rows.append(row(sc.label, sc.key, lambda r: f"{r['server_cpu'] * 100:.0f}% / "
                                                        f"{r['loadgen_cpu'] * 100:.0f}%")
                        [:1 + len(col_keys)])
    rows.append(row("server ended TLS with close_notify / bare TCP EOF (all runs)", "connect",
                    _close_counts))
    negotiated = sorted({r["tls"] for c in cols.values() for r in c.values()
                         if isinstance(r, dict) and r.get("tls")})
    out += [f"wss: {', '.join(negotiated) or '?'}; a fresh RSA-2048 self-signed certificate "
            "(godot_ws.crypto.Crypto) that the load generator verifies; every connection "
            "makes a full handshake (no session resumption). OpenSSL: "
            f"{tls['server_openssl']}; load generator: {tls['loadgen_openssl']}. "
            "wss / ws: the share of plain-ws throughput left over TLS.", "",
            _md_table(head, rows), "",
            "CPU share during the measured window: server / load generator (100% = one core)",
            "", _md_table(head[:1 + len(col_keys)], cpu_rows), ""]
    return out


def _close_counts(r: dict[str, Any]) -> str:
    runs = [x for x in r.get("runs", [r]) if "tls" in x]
    if not runs:
        return "—"
    return (f"{sum(x['tls_close_notify'] for x in runs):,} / "
            f"{sum(x['tls_bare_eof'] for x in runs):,}")


def _idle_verdict(r: dict[str, Any] | None) -> str:
    if not r or not r.get("ok"):
        return "  ✗"
    return "  ✓" if r["rss_per_conn_kib"] <= IDLE_FLOOR_KIB else "  ✗"


def _burst_verdict(r: dict[str, Any] | None, n: int, timed: bool) -> str:
    if not r or not r.get("ok"):
        return "  ✗"
    in_time = not timed or r["burst_ms"] <= BURST_FLOOR_MS
    return "  ✓" if r["answered"] == n and in_time else "  ✗"


def _scaling_section(suite: Suite) -> list[str]:
    sc = suite.data.get("scaling")
    if not sc:
        return []
    if "error" in sc:
        return ["## Scaling", "", f"FAILED: {sc['error']}", ""]
    rows = []
    for n, r in sc["results"].items():
        rows.append([f"{int(n):,}", cell(r, lambda r: f"{r['msgs_per_s']:,.0f}"),
                     cell(r, lambda r: f"{r['rtt_p50_us']:,.0f} / {r['rtt_p99_us']:,.0f}"),
                     cell(r, lambda r: f"{r['server_cpu'] * 100:.0f}% / "
                                       f"{r['loadgen_cpu'] * 100:.0f}%")])
    label = next((s.label for s in SERVERS if s.key == sc["server"]), sc["server"])
    return [f"## Scaling: 1-connection ping-pong (32 B) with N idle peers connected, "
            f"{label}", "",
            _md_table(["idle peers", "msgs/s", "RTT p50 / p99 (µs)", "CPU server / loadgen"],
                      rows), ""]


def _py_clients_section(suite: Suite) -> list[str]:
    """bench/py_clients.py's table: godot_ws's WebSocketClient against websockets' client."""
    found = suite.data.get("py_clients")
    if not found:
        return []
    ours, ref = found.get("ours", {}), found.get("websockets", {})
    n = ours.get("clients") or ref.get("clients")

    def row(label: str, key: str, fmt: str, higher_better: bool) -> list[str]:
        cells = [fmt.format(r[key]) if key in r else r.get("error", "—") for r in (ours, ref)]
        if key in ours and key in ref and ours[key] and ref[key]:
            q = ours[key] / ref[key] if higher_better else ref[key] / ours[key]
            cells.append(f"{q:.2f}×")
        else:
            cells.append("—")
        return [label] + cells

    rows = [row("connect all: s", "connect_s", "{:.2f}", False),
            row("RSS per client: KiB", "rss_kib_per_client", "{:.1f}", False),
            row("threads per client", "threads_per_client", "{:.2f}", False),
            row("echo, 1 × 64 B in flight each: msgs/s", "echo_msgs_per_s", "{:,.0f}", True),
            row("↳ RTT p50: ms", "rtt_p50_ms", "{:.1f}", False),
            row("↳ RTT p99: ms", "rtt_p99_ms", "{:.1f}", False),
            row("close all: s", "close_s", "{:.2f}", False),
            row("threads left after close", "threads_left", "{:d}", False)]
    return [f"## {n} Python clients in one process (bench/py_clients.py)", "",
            "godot_ws's `WebSocketClient`s polled from one thread against websockets' sync "
            "clients, each driven by its own thread; both against the godot_ws echo server. "
            "Ratio > 1: godot_ws better.", "",
            _md_table(["", "godot_ws WebSocketClient", "websockets sync client", "ours / websockets"],
                      rows), ""]


def _md_table(head: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


# -- main ----------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true",
                   help="smoke run: 1 run × 1 s per scenario, 1k idle peers only")
    p.add_argument("--duration", type=float, help="seconds per timed run (default 3; quick 1)")
    p.add_argument("--runs", type=int, help="runs per timed scenario (default 3; quick 1)")
    p.add_argument("--servers", help="comma-separated subset of: "
                                     + ", ".join(s.key for s in SERVERS))
    p.add_argument("--idle", help="idle peer counts (default 1000,5000,10000; quick 1000)")
    p.add_argument("--no-scaling", action="store_true")
    p.add_argument("--no-variant", action="store_true")
    p.add_argument("--no-py-clients", action="store_true",
                   help="skip the table of N Python clients in one process")
    p.add_argument("--py-clients-only", action="store_true",
                   help="only that table (bench/py_clients.py, ours and websockets)")
    p.add_argument("--tls-only", action="store_true",
                   help="only the TLS table (ws:// vs wss://, godot_ws and websockets)")
    p.add_argument("--no-tls", action="store_true", help="skip the TLS table")
    p.add_argument("--tls-duration", type=float,
                   help="seconds per timed run of the TLS table (default 2; quick 1)")
    p.add_argument("--switch-interval", type=float,
                   help="sys.setswitchinterval() for the godot_ws servers (default: CPython's "
                        "0.005, untouched); the other servers always keep the default")
    args = p.parse_args(argv)
    if args.tls_only and args.no_tls:
        p.error("--tls-only and --no-tls exclude each other")
    if args.py_clients_only and (args.tls_only or args.no_py_clients):
        p.error("--py-clients-only excludes --tls-only and --no-py-clients")
    if not os.access(LOADGEN, os.X_OK):
        print(f"{LOADGEN} is missing: build it with `make bench/loadgen` "
              f"(gcc -O2 -o bench/loadgen bench/loadgen.c)", file=sys.stderr)
        return 2
    servers = [s for s in SERVERS if s.key != "godot" or godot_available()]
    if args.servers:
        keys = args.servers.split(",")
        unknown = set(keys) - {s.key for s in SERVERS}
        if unknown:
            p.error(f"unknown servers: {', '.join(sorted(unknown))}")
        servers = [s for s in SERVERS if s.key in keys]
    if args.switch_interval:
        extra = ("--switch-interval", str(args.switch_interval))
        servers = [dataclasses.replace(s, args=s.args + extra) if s.key.startswith("ours") else s
                   for s in servers]
    idle = tuple(int(x) for x in (args.idle or ("1000" if args.quick else "1000,5000,10000"))
                 .split(","))
    suite = Suite(duration=args.duration or (1.0 if args.quick else 3.0),
                  warmup=0.3 if args.quick else 0.5,
                  runs=args.runs or (1 if args.quick else 3),
                  idle_sizes=idle,
                  scaling_sizes=(10, 1000) if args.quick else (10, 100, 1000),
                  burst_timeout=10.0 if args.quick else 20.0,
                  servers=servers,
                  tls_duration=args.tls_duration or (1.0 if args.quick else 2.0))
    (RESULTS / "logs").mkdir(parents=True, exist_ok=True)
    for f in (RESULTS / "logs").glob("*.log"):
        f.unlink()
    info = machine_info()
    info["switch_interval"] = str(args.switch_interval or sys.getswitchinterval())
    t0 = time.monotonic()
    if args.py_clients_only:
        suite.run_py_clients(args.quick)
    elif not args.tls_only:
        for server in servers:
            suite.log(f"{server.label}:")
            suite.run_server(server)
        if not args.no_scaling and any(s.key == "ours" for s in servers):
            suite.log("scaling (godot_ws, tight poll):")
            suite.run_scaling(next(s for s in servers if s.key == "ours"))
    if not (args.no_tls or args.py_clients_only) and any(s.key in TLS_SERVERS for s in servers):
        suite.log("TLS (ws:// and wss://):")
        suite.run_tls()
    if not (args.no_py_clients or args.tls_only or args.py_clients_only):
        suite.run_py_clients(args.quick)
    if not (args.no_variant or args.tls_only or args.py_clients_only):
        suite.run_variant_bench(args.quick)
    text = report(suite, info, time.monotonic() - t0)
    (RESULTS / "latest.md").write_text(text + "\n")
    (RESULTS / "latest.json").write_text(json.dumps({"machine": info, **suite.data}, indent=1))
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
