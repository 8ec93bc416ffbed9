"""A real browser against our server: headless Chromium runs ``page.html``.

The page, served by a localhost HTTP server, opens ``ws://`` and ``wss://``
connections to raw-mode echo servers (text, binary and a 1 MiB message, then a
close with code 4000), and joins relay-mode (``gd_mp_api``) servers as two
players, the way a Godot HTML5 export does (``binaryType`` "arraybuffer",
9-byte framed binary packets, spec §5). It POSTs what it saw to ``/result``
while this thread polls our servers; the checks are here, on both sides.

Chromium trusts the test chain's leaf through ``--ignore-certificate-errors-spki-list``
(nothing is installed system-wide). A missing ``chromium`` fails loudly (CI must
not skip) unless ``GODOT_WS_ALLOW_SKIP=1`` is set.
"""
from __future__ import annotations

import base64
import hashlib
import http.server
import json
import os
import shutil
import signal
import struct
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.parse
from pathlib import Path
from typing import Any
from unittest import mock

from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from godot_ws.enums import Error, WriteMode
from godot_ws.server import WebSocketServer
from tests.interop.test_wss_godot import configure_tls
from tests.tls_fixtures import make_chain

PAGE = Path(__file__).resolve().parent / "page.html"
RUN_TIMEOUT = 25.0      # Chromium start-up plus the whole page, seconds
STEP_MS = 5000          # the page's bound on each await
SETTLE_TIMEOUT = 5.0    # for the servers' last signals after the page reported
BIG_LEN = 1 << 20
TEXT = "héllo ✓ 🎮 from Chromium"
PROTOCOL = "godot-test"
CLIENT_PROTOCOLS = ["x-unknown", PROTOCOL]   # the server picks the first one it knows


def find_chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def require_chromium() -> str:
    """Path of chromium; SkipTest only with GODOT_WS_ALLOW_SKIP=1, else a loud failure."""
    path = find_chromium()
    if path:
        return path
    if os.environ.get("GODOT_WS_ALLOW_SKIP") == "1":
        raise unittest.SkipTest("chromium is not on PATH (skipping: GODOT_WS_ALLOW_SKIP=1)")
    raise RuntimeError("chromium is not on PATH: the browser test needs headless Chromium. "
                       "Install it ('apt-get install chromium', or 'make chromium' as root), "
                       "or set GODOT_WS_ALLOW_SKIP=1 to skip this test locally.")


def spki_pin(cert) -> str:
    """base64(SHA-256(SubjectPublicKeyInfo)): what Chromium's SPKI allow-list takes."""
    spki = cert.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(spki).digest()).decode("ascii")


def big_payload(n: int) -> bytes:
    """The page's ``pattern(n)``."""
    return bytes((i * 7 + (i >> 11)) & 255 for i in range(n))


def gd_string(s: str) -> bytes:
    """Variant encoding of a String (type 4, length, UTF-8, padded to 4)."""
    raw = s.encode("utf-8")
    return struct.pack("<II", 4, len(raw)) + raw + b"\0" * (-len(raw) % 4)


def mp_frame(kind: int, sender: int, to: int, payload: bytes = b"") -> bytes:
    return struct.pack("<Bii", kind, sender, to) + payload


def sys_msg(kind: int, peer_id: int) -> str:
    """A system message (SYS_ADD 1, SYS_DEL 2, SYS_ID 3) as the page reports it: hex."""
    return mp_frame(kind, 1, 0, struct.pack("<i", peer_id)).hex()


# -- the page's HTTP server ----------------------------------------------------

class PageServer(http.server.ThreadingHTTPServer):
    """Serves page.html on 127.0.0.1:0 and keeps the first JSON POSTed to /result."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _PageHandler)
        self.result: dict[str, Any] | None = None
        self.reported = threading.Event()
        self.thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05},
                                       name="browser-page-http", daemon=True)
        self.thread.start()

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def close(self) -> None:
        self.shutdown()
        self.server_close()
        self.thread.join(5)


class _PageHandler(http.server.BaseHTTPRequestHandler):
    server: PageServer

    def do_GET(self) -> None:
        if urllib.parse.urlsplit(self.path).path != "/page.html":
            self.send_error(404)
            return
        body = PAGE.read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send_response(204)
        self.end_headers()
        if self.path == "/result" and not self.server.reported.is_set():
            try:
                self.server.result = json.loads(body)
            except ValueError:
                self.server.result = {"error": f"unparsable report: {body[:200]!r}"}
            self.server.reported.set()

    def log_message(self, *args: Any) -> None:
        pass


# -- our servers -------------------------------------------------------------

class OurServer:
    """A WebSocketServer on 127.0.0.1, speaking TLS (the test chain) if ``tls``."""

    def __init__(self, tls: bool) -> None:
        self.scheme = "wss" if tls else "ws"
        self.server = WebSocketServer()
        self.server.bind_ip = "127.0.0.1"
        if tls:
            configure_tls(self.server)

    def listen(self, protocols: list[str], gd_mp_api: bool, path: str) -> None:
        if self.server.listen(0, protocols, gd_mp_api) != Error.OK:
            raise AssertionError(f"{type(self).__name__} did not listen")
        self.url = f"{self.scheme}://127.0.0.1:{self.server.get_port()}{path}"


class EchoServer(OurServer):
    """Raw mode: greets each client in text, echoes each message with its own type."""

    def __init__(self, tls: bool) -> None:
        super().__init__(tls)
        self.server.set_buffers(4096, 64, 4096, 64)   # room for the 1 MiB echo
        self.connected: list[tuple] = []
        self.received: list[tuple] = []
        self.close_requests: list[tuple] = []
        self.disconnected: list[tuple] = []
        self.server.connect("client_connected", self._connected)
        self.server.connect("data_received", self._data)
        self.server.connect("client_close_request", lambda *a: self.close_requests.append(a))
        self.server.connect("client_disconnected", lambda *a: self.disconnected.append(a))
        self.listen([PROTOCOL], False, "/echo?room=1")

    def _connected(self, pid: int, protocol: str) -> None:
        peer = self.server.get_peer(pid)
        self.connected.append((pid, protocol, peer.get_request_path(), peer.get_request_headers()))
        peer.set_write_mode(WriteMode.WRITE_MODE_TEXT)
        peer.put_packet(f"welcome {pid}".encode())

    def _data(self, pid: int) -> None:
        peer = self.server.get_peer(pid)
        data = peer.get_packet()
        text = peer.was_string_packet()
        self.received.append((pid, text, data))
        peer.set_write_mode(WriteMode.WRITE_MODE_TEXT if text else WriteMode.WRITE_MODE_BINARY)
        peer.put_packet(data)

    def settled(self) -> bool:
        return bool(self.disconnected) and not self.server.get_peer_ids()


class RelayServer(OurServer):
    """Multiplayer mode: records what it is sent and answers "hello server"."""

    def __init__(self, tls: bool) -> None:
        super().__init__(tls)
        self.joined: list[int] = []
        self.left: list[int] = []
        self.packets: list[tuple] = []
        self.server.connect("peer_connected", self.joined.append)
        self.server.connect("peer_disconnected", self.left.append)
        self.server.connect("peer_packet", self._packet)
        self.listen([], True, "/game")

    def _packet(self, pid: int) -> None:
        sender = self.server.get_packet_peer()
        value = self.server.get_var()
        self.packets.append((pid, sender, value))
        if value == "hello server":
            self.server.set_target_peer(sender)
            self.server.put_var("hello browser")

    def settled(self) -> bool:
        return len(self.left) >= 2 and not self.server.get_peer_ids()


# -- Chromium ----------------------------------------------------------------

class Chromium:
    """Headless Chromium on one URL, in its own process group (killed whole on close)."""

    def __init__(self, binary: str, url: str, spki: str, ports: list[int]) -> None:
        self.tmp = tempfile.TemporaryDirectory(prefix="godot_ws_chromium_")
        home = Path(self.tmp.name)
        self.log_path = home / "chromium.log"
        env = dict(os.environ, HOME=str(home), XDG_CONFIG_HOME=str(home / "config"),
                   XDG_CACHE_HOME=str(home / "cache"))
        args = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--no-first-run", "--no-default-browser-check", "--disable-extensions",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-quic", "--no-proxy-server", "--password-store=basic",
                f"--user-data-dir={home / 'profile'}",
                f"--ignore-certificate-errors-spki-list={spki}",
                f"--explicitly-allowed-ports={','.join(map(str, ports))}",
                url]
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, env=env, start_new_session=True)

    def log_tail(self, n: int = 3000) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        lines = [ln for ln in text.splitlines() if "dbus" not in ln]   # no system bus here
        return "\n".join(lines)[-n:]

    def strays(self) -> list[int]:
        """Pids of processes (crashpad handlers start their own session) naming our profile."""
        mark = self.tmp.name.encode()
        pids = []
        for entry in os.listdir("/proc"):
            try:
                if entry.isdigit() and mark in Path("/proc", entry, "cmdline").read_bytes():
                    pids.append(int(entry))
            except OSError:
                pass
        return pids

    def close(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(10)
            for pid in self.strays():
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        finally:
            self.tmp.cleanup()


# -- the test ------------------------------------------------------------------

class ChromiumTests(unittest.TestCase):
    """One Chromium run (in setUpClass); each test checks one part of it."""

    result: dict[str, Any]

    @classmethod
    def setUpClass(cls) -> None:
        binary = require_chromium()
        cls.echo_ws, cls.echo_wss = EchoServer(tls=False), EchoServer(tls=True)
        cls.relay_ws, cls.relay_wss = RelayServer(tls=False), RelayServer(tls=True)
        servers = [cls.echo_ws, cls.echo_wss, cls.relay_ws, cls.relay_wss]
        for s in servers:
            cls.addClassCleanup(s.server.stop)
        cls.page = PageServer()
        cls.addClassCleanup(cls.page.close)
        config = {"echo": [cls.echo_ws.url, cls.echo_wss.url],
                  "relay": [cls.relay_ws.url, cls.relay_wss.url],
                  "protocols": CLIENT_PROTOCOLS, "text": TEXT, "big_len": BIG_LEN,
                  "step_ms": STEP_MS}
        url = f"{cls.page.origin}/page.html#{urllib.parse.quote(json.dumps(config))}"
        ports = [cls.page.server_address[1]] + [s.server.get_port() for s in servers]
        browser = Chromium(binary, url, spki_pin(make_chain().leaf_cert), ports)
        cls.addClassCleanup(browser.close)

        def poll_all() -> None:
            for s in servers:
                s.server.poll(0.005)

        end = time.monotonic() + RUN_TIMEOUT
        while not cls.page.reported.is_set() and time.monotonic() < end \
                and browser.proc.poll() is None:
            poll_all()
        if not cls.page.reported.is_set():
            why = (f"exited with {browser.proc.returncode}" if browser.proc.poll() is not None
                   else f"sent no result within {RUN_TIMEOUT} s")
            raise AssertionError(f"Chromium {why}. Its log:\n{browser.log_tail()}")
        end = time.monotonic() + SETTLE_TIMEOUT
        while not all(s.settled() for s in servers) and time.monotonic() < end:
            poll_all()
        cls.result = cls.page.result or {}

    def setUp(self) -> None:
        self.assertNotIn("error", self.result, f"the page failed: {self.result.get('error')}")

    def check_echo(self, echo: EchoServer) -> None:
        seen = self.result["echo"][echo.url]
        (pid, protocol, path, headers), = echo.connected
        self.assertEqual(protocol, PROTOCOL)
        self.assertEqual(seen["protocol"], PROTOCOL)
        self.assertEqual(path, "/echo?room=1")
        self.assertEqual(headers.get("origin"), self.page.origin)
        self.assertIn("HeadlessChrome", headers.get("user-agent", ""))
        self.assertEqual(seen["welcome"], {"text": f"welcome {pid}"})
        # What the server got, with its type, and what the page got back.
        self.assertEqual([(p, t, d[:300]) for p, t, d in echo.received],
                         [(pid, True, TEXT.encode()), (pid, False, bytes(range(256))),
                          (pid, False, big_payload(300))])
        self.assertEqual(echo.received[2][2], big_payload(BIG_LEN))
        self.assertEqual(seen["text"], {"text": TEXT})
        self.assertEqual(seen["binary"], {"hex": bytes(range(256)).hex()})
        self.assertEqual(seen["big"], {"binary": True, "length": BIG_LEN, "same": True})
        # The page closed with 4000: the server saw it, echoed it, and both call it clean.
        self.assertEqual(echo.close_requests, [(pid, 4000, "bye from chromium")])
        self.assertEqual(echo.disconnected, [(pid, True)])
        self.assertEqual(seen["close"], {"code": 4000, "reason": "bye from chromium",
                                         "wasClean": True})

    def test_ws_echo(self):
        self.check_echo(self.echo_ws)

    def test_wss_echo(self):
        self.check_echo(self.echo_wss)

    def check_relay(self, relay: RelayServer) -> None:
        seen = self.result["relay"][relay.url]
        self.assertEqual(len(relay.joined), 2, relay.joined)
        a, b = relay.joined
        self.assertEqual(seen["a"], [
            sys_msg(3, a), sys_msg(1, 1),             # SYS_ID a, SYS_ADD server
            sys_msg(1, b),                            # SYS_ADD b when b joined
            mp_frame(0, 1, a, gd_string("hello browser")).hex()])
        self.assertEqual(seen["b"], [
            sys_msg(3, b), sys_msg(1, 1), sys_msg(1, a),
            mp_frame(0, a, b, gd_string("hello B")).hex(),      # relayed verbatim
            mp_frame(0, a, 0, gd_string("hello all")).hex(),
            sys_msg(2, a)])                           # SYS_DEL a when a left
        # The server keeps what was sent to it (to=1) and to everyone (to=0), from a.
        self.assertEqual(relay.packets, [(a, a, "hello server"), (a, a, "hello all")])
        self.assertEqual(relay.left, [a, b])
        self.assertEqual(seen["a_close"]["code"], 1000)
        self.assertTrue(seen["a_close"]["wasClean"])
        self.assertEqual(seen["b_close"]["code"], 1000)

    def test_ws_relay(self):
        self.check_relay(self.relay_ws)

    def test_wss_relay(self):
        self.check_relay(self.relay_wss)

    def test_page_ran_in_headless_chromium(self):
        self.assertIn("HeadlessChrome", self.result["user_agent"])


class RequireChromiumTests(unittest.TestCase):
    def test_missing_chromium_fails_unless_skip_allowed(self):
        with mock.patch.object(shutil, "which", return_value=None):
            with mock.patch.dict("os.environ", {"GODOT_WS_ALLOW_SKIP": ""}):
                with self.assertRaisesRegex(RuntimeError, "chromium is not on PATH"):
                    require_chromium()
            with mock.patch.dict("os.environ", {"GODOT_WS_ALLOW_SKIP": "1"}):
                with self.assertRaises(unittest.SkipTest):
                    require_chromium()


if __name__ == "__main__":
    unittest.main()
