"""The multi-process recipe: samples/nginx/rooms.conf (Debian's nginx) in front of two
``serve --rooms`` processes. Rooms land on both processes, every client of a room on the
same one, and two real Godot 3.2.3 clients of one room meet through nginx.

nginx runs in the foreground (``daemon off``) with its own temporary prefix, pid file and
logs, on a free port; the test kills and reaps it and both servers.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import unittest
import urllib.request
from pathlib import Path

from websockets.sync.client import connect

from tests.interop import godot
from tests.interop.godot import GodotRun
from tests.interop.test_mp_godot import RUN_TIMEOUT, SAMPLE_CLIENT, check_sample_clients
from tests.test_cli import ServeProcess

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "samples" / "nginx" / "rooms.conf"
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None)
WAIT = 20.0


def require_nginx() -> str:
    """Path of nginx; SkipTest only with GODOT_WS_ALLOW_SKIP=1, else a loud failure."""
    if NGINX:
        return NGINX
    if os.environ.get("GODOT_WS_ALLOW_SKIP") == "1":
        raise unittest.SkipTest("nginx is not installed (skipping: GODOT_WS_ALLOW_SKIP=1)")
    raise RuntimeError("nginx is not installed: the multi-process rooms test needs Debian's nginx "
                       "(make test installs it), or set GODOT_WS_ALLOW_SKIP=1 to skip it locally.")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def lobby(port: int) -> dict[str, int]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/rooms", timeout=WAIT) as answer:
        return {r["name"]: r["players"] for r in json.loads(answer.read())["rooms"]}


class NginxRoomsTest(unittest.TestCase):
    def setUp(self):
        nginx = require_nginx()
        godot.require_godot()
        self.backends = []
        for _ in range(2):
            server = ServeProcess("--rooms")
            self.addCleanup(server.stop)
            self.backends.append(int(server.url().rsplit(":", 1)[1]))
        prefix = Path(tempfile.mkdtemp(prefix="godot_ws_nginx_"))
        self.addCleanup(shutil.rmtree, prefix, True)
        (prefix / "logs").mkdir()
        (prefix / "tmp").mkdir()
        self.port = free_port()
        conf = CONFIG.read_text()
        for old, new in (("127.0.0.1:9080", self.port), ("127.0.0.1:9081", self.backends[0]),
                         ("127.0.0.1:9082", self.backends[1])):
            self.assertIn(old, conf)
            conf = conf.replace(old, f"127.0.0.1:{new}")
        (prefix / "nginx.conf").write_text(conf)
        self.prefix = prefix
        self.nginx = subprocess.Popen([nginx, "-p", str(prefix), "-e", "logs/error.log",
                                       "-c", str(prefix / "nginx.conf"), "-g", "daemon off;"],
                                      stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, text=True)
        self.addCleanup(self.stop_nginx)
        end = time.monotonic() + WAIT
        while True:  # nginx is ready once it accepts
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if self.nginx.poll() is not None or time.monotonic() > end:
                    self.fail(f"nginx did not start:\n{self.nginx_output()}")
                time.sleep(0.05)  # bounded: a handful of retries while nginx starts

    def nginx_output(self) -> str:
        log = self.prefix / "logs" / "error.log"
        return log.read_text() if log.exists() else ""

    def stop_nginx(self) -> None:
        if self.nginx.poll() is None:
            self.nginx.terminate()  # SIGTERM: fast shutdown of master and workers
        try:
            self.nginx.wait(10)
        finally:
            if self.nginx.poll() is None:
                self.nginx.kill()
                self.nginx.wait(5)
            self.nginx.stdout.close()

    def test_rooms_spread_and_two_godot_clients_meet(self):
        url = f"ws://127.0.0.1:{self.port}/rooms"
        # Twelve rooms, one raw client each, held open: where did they land?
        names = [f"room{i}" for i in range(12)]
        with contextlib.ExitStack() as stack:
            clients = [stack.enter_context(connect(f"{url}/{name}", open_timeout=WAIT)) for name in names]
            for ws in clients:
                ws.recv(timeout=WAIT)  # SYS_ID: the backend took it
            first, second = lobby(self.backends[0]), lobby(self.backends[1])
            self.assertTrue(first and second, (first, second))  # both processes have rooms
            self.assertEqual(sorted(list(first) + list(second)), sorted(names))  # each in one place
            # A second client of a room goes where the first one is.
            with connect(f"{url}/{names[0]}", open_timeout=WAIT) as again:
                again.recv(timeout=WAIT)
                where = lobby(self.backends[0] if names[0] in first else self.backends[1])
                self.assertEqual(where[names[0]], 2)
        # Two real Godot clients of one room meet through nginx.
        runs = [GodotRun(SAMPLE_CLIENT, {"GODOT_WS_URL": f"{url}/meet"}, RUN_TIMEOUT).start()
                for _ in range(2)]
        for run in runs:
            self.addCleanup(run.kill)
        self.assertEqual([run.wait() for run in runs], [0, 0],
                         "\n".join(r.output() for r in runs) + self.nginx_output())
        check_sample_clients(self, *runs)


if __name__ == "__main__":
    unittest.main()
