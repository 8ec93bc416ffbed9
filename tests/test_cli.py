"""python -m godot_ws: gen-cert, serve over wss (files and --self-signed), argument errors, signal bursts."""
import contextlib
import os
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.support import default_signals

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WAIT = 20.0


def cli(*args, **kw):
    return subprocess.run([sys.executable, "-m", "godot_ws", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=WAIT, **kw)


class ServeProcess:
    """``serve`` in a subprocess; lines read by a thread so every wait is bounded."""

    def __init__(self, *args):
        self.proc = subprocess.Popen(preexec_fn=default_signals, args=[sys.executable, "-m", "godot_ws", "serve", "--port", "0", *args],
                                     cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True)
        self.lines = []
        self.listening = threading.Event()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))
            if line.startswith("listening on "):
                self.listening.set()

    def url(self):
        if not self.listening.wait(WAIT):
            raise AssertionError(f"no listening line; output {self.lines}")
        return self.lines[-1][len("listening on "):]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(WAIT)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(5)
            self.reader.join(5)
            self.stderr = self.proc.stderr.read()
            self.proc.stdout.close()
            self.proc.stderr.close()
        return code


class CliTests(unittest.TestCase):
    def echo_over(self, url, ctx):
        with connect(url, ssl=ctx, open_timeout=WAIT, close_timeout=5) as ws:
            ws.send("over tls")
            return ws.recv(timeout=WAIT)

    def test_gen_cert_then_serve_with_the_files(self):
        with tempfile.TemporaryDirectory() as tmp:
            key, cert = os.path.join(tmp, "key.pem"), os.path.join(tmp, "cert.pem")
            done = cli("gen-cert", "--key", key, "--cert", cert, "--cn", "localhost")
            self.assertEqual(done.returncode, 0, done.stderr)
            with open(cert) as f:
                self.assertIn("BEGIN CERTIFICATE", f.read())
            server = ServeProcess("--mode", "echo", "--tls-cert", cert, "--tls-key", key)
            try:
                url = server.url()
                self.assertRegex(url, r"^wss://127\.0\.0\.1:\d+$")
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
                ctx.load_verify_locations(cert)
                port = url.rsplit(":", 1)[1]
                self.assertEqual(self.echo_over(f"wss://localhost:{port}", ctx), "over tls")
            finally:
                self.assertEqual(server.stop(), 0)

    def test_self_signed_prints_fingerprint(self):
        server = ServeProcess("--mode", "echo", "--self-signed")
        try:
            url = server.url()
            self.assertEqual(len(server.lines), 1, "stdout must be the listening line only")
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            self.assertEqual(self.echo_over(url, ctx), "over tls")
        finally:
            self.assertEqual(server.stop(), 0)
        self.assertRegex(server.stderr, r"SHA-256 fingerprint: ([0-9A-F]{2}:){31}[0-9A-F]{2}")

    def test_bad_arguments(self):
        done = cli("serve", "--tls-cert", "x.pem")
        self.assertEqual(done.returncode, 2)
        self.assertIn("go together", done.stderr)
        done = cli("serve", "--bind", "localhost")
        self.assertEqual(done.returncode, 2)
        self.assertIn("bind_ip must be", done.stderr)
        done = cli("serve", "--mode", "nope")
        self.assertEqual(done.returncode, 2)
        done = cli("serve", "--tls-cert", "/nonexistent.pem", "--tls-key", "/nonexistent.pem")
        self.assertEqual(done.returncode, 1)
        self.assertIn("cannot load", done.stderr)


class SignalBurstTests(unittest.TestCase):
    """Bursts of SIGTERM/SIGINT (a process-group kill, an impatient double Ctrl-C):
    every peer gets 1001 and ``serve`` exits 0, every time (its handler only sets
    a flag; a handler taking a lock deadlocked when a signal re-entered it)."""

    TRIALS = 20
    PEERS = 2
    BURST = 30

    def trial(self, signum):
        server = ServeProcess("--mode", "echo")
        try:
            with contextlib.ExitStack() as clients:
                url = server.url()
                peers = [clients.enter_context(connect(url, open_timeout=WAIT, close_timeout=5))
                         for _ in range(self.PEERS)]
                for ws in peers:
                    ws.send("up")
                    self.assertEqual(ws.recv(timeout=WAIT), "up")
                start = time.monotonic()
                for i in range(self.BURST):
                    server.proc.send_signal(signum)
                    if i % 3 == 2:
                        time.sleep(0.002)  # spread the burst over the wake-up and stop()
                code = server.proc.wait(WAIT)
                elapsed = time.monotonic() - start
                codes = []
                for ws in peers:
                    with self.assertRaises(ConnectionClosed) as closed:
                        ws.recv(timeout=WAIT)
                    codes.append(closed.exception.rcvd.code if closed.exception.rcvd else None)
        finally:
            server.stop()
        self.assertEqual(code, 0, server.stderr)
        self.assertEqual(codes, [1001] * self.PEERS)
        self.assertNotIn("Traceback", server.stderr)
        return elapsed

    def bursts(self, signum):
        times = [self.trial(signum) for _ in range(self.TRIALS)]
        self.assertLess(max(times), WAIT / 2)
        if os.environ.get("GODOT_WS_FIGURES"):
            print(f"\n{signal.Signals(signum).name} x{self.BURST}: {self.TRIALS}/{self.TRIALS} "
                  f"exited 0 with 1001; exit after the first signal: median "
                  f"{sorted(times)[len(times) // 2] * 1000:.0f} ms, max {max(times) * 1000:.0f} ms",
                  file=sys.stderr)

    def test_sigterm_bursts(self):
        self.bursts(signal.SIGTERM)

    def test_sigint_bursts(self):
        self.bursts(signal.SIGINT)


if __name__ == "__main__":
    unittest.main()
