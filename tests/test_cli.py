"""python -m godot_ws: gen-cert, serve over wss (files and --self-signed), argument errors."""
import os
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import unittest

from websockets.sync.client import connect

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WAIT = 20.0


def cli(*args, **kw):
    return subprocess.run([sys.executable, "-m", "godot_ws", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=WAIT, **kw)


class ServeProcess:
    """``serve`` in a subprocess; lines read by a thread so every wait is bounded."""

    def __init__(self, *args):
        self.proc = subprocess.Popen([sys.executable, "-m", "godot_ws", "serve", "--port", "0", *args],
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


if __name__ == "__main__":
    unittest.main()
