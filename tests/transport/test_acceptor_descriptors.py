"""The acceptor out of descriptors: ``serve`` in a subprocess with RLIMIT_NOFILE=64
and 100 clients. It backs off (one log line per second at most), serves the
queued clients as soon as peers close, and is whole again after they all left."""
import base64
import os
import resource
import selectors
import socket
import subprocess
import sys
import threading
import time
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WAIT = 20.0
LIMIT = 64
CLIENTS = 100


def _limit_descriptors():
    resource.setrlimit(resource.RLIMIT_NOFILE, (LIMIT, LIMIT))


def upgrade_request():
    key = base64.b64encode(os.urandom(16)).decode()
    return (f"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode()


def answered(socks, timeout):
    """The sockets of ``socks`` that receive an HTTP 101 within ``timeout`` s."""
    sel = selectors.DefaultSelector()
    for s in socks:
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
    got = []
    end = time.monotonic() + timeout
    try:
        while len(got) < len(socks) and time.monotonic() < end:
            for key, _ in sel.select(max(0.0, end - time.monotonic())):
                s = key.fileobj
                sel.unregister(s)
                try:
                    if s.recv(4096).startswith(b"HTTP/1.1 101 "):
                        got.append(s)
                except OSError:
                    pass
    finally:
        sel.close()
    return got


class DescriptorExhaustionTests(unittest.TestCase):
    def setUp(self):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "godot_ws", "serve", "--port", "0", "--mode", "echo"],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            preexec_fn=_limit_descriptors)
        self.stderr = []
        self.stderr_reader = threading.Thread(target=lambda: self.stderr.extend(self.proc.stderr),
                                              daemon=True)
        self.stderr_reader.start()
        line = self.proc.stdout.readline()
        self.assertTrue(line.startswith("listening on "), line)
        self.port = int(line.rsplit(":", 1)[1])
        self.clients = []

    def tearDown(self):
        for s in self.clients:
            s.close()
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            self.proc.wait(WAIT)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(5)
            self.stderr_reader.join(5)
            self.proc.stdout.close()
            self.proc.stderr.close()

    def threads_and_fds(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            threads = int(next(line for line in f if line.startswith("Threads:")).split()[1])
        return threads, len(os.listdir(f"/proc/{self.proc.pid}/fd"))

    def accept_failures(self):
        return [line for line in self.stderr if "accept failed" in line]

    def wait_for(self, predicate, timeout=WAIT):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if predicate():
                return True
            time.sleep(0.05)
        return predicate()

    def test_backs_off_and_recovers(self):
        baseline = self.threads_and_fds()
        for _ in range(CLIENTS):
            s = socket.create_connection(("127.0.0.1", self.port), timeout=WAIT)
            s.sendall(upgrade_request())
            self.clients.append(s)
        served = answered(self.clients, 5.0)
        waiting = [s for s in self.clients if s not in served]
        self.assertGreater(len(served), 10)
        self.assertGreater(len(waiting), 10, "the limit should have been reached")
        self.assertTrue(self.wait_for(lambda: self.accept_failures()), "no accept failure logged")
        # The log while out of descriptors: at most one line per second.
        first = len(self.accept_failures())
        start = time.monotonic()
        time.sleep(3.0)  # a window to count log lines in (not a wait for a condition)
        lines = len(self.accept_failures()) - first
        self.assertLessEqual(lines, (time.monotonic() - start) + 1, self.accept_failures()[-3:])
        # Peers that close free descriptors, and queued clients are served at once.
        for s in served[:10]:
            s.close()
        resumed = answered(waiting, 5.0)
        self.assertEqual(len(resumed), 10, "queued clients must be served as peers leave")
        # Everybody leaves: threads and descriptors come back, new clients are served.
        for s in self.clients:
            s.close()
        self.clients = []
        self.assertTrue(self.wait_for(lambda: self.threads_and_fds() == baseline),
                        f"{self.threads_and_fds()} != {baseline}")
        s = socket.create_connection(("127.0.0.1", self.port), timeout=WAIT)
        self.clients.append(s)
        s.sendall(upgrade_request())
        self.assertEqual(answered([s], WAIT), [s])
        self.assertTrue(any("accepting again" in line for line in self.stderr), self.stderr[-3:])


if __name__ == "__main__":
    unittest.main()
