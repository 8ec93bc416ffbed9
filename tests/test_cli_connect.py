"""``python -m godot_ws connect`` driven through pipes against an in-process server
on 127.0.0.1 port 0 (polled by a thread): echo, hex, --var, --protocols, --mp,
wss with --ca and --insecure, the exit codes, Ctrl-D and Ctrl-C."""
from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import unittest
from collections.abc import Callable
from typing import TypeVar

from godot_ws import Error, WebSocketServer, WriteMode, X509Certificate, bytes2var, var2bytes
from godot_ws.cli_connect import EXIT_CLEAN, EXIT_CLOSED_BY_SERVER, EXIT_CONNECT_FAILED, EXIT_USAGE
from tests.support import TIMEOUT, default_signals, echo_same_type
from tests.tls_fixtures import make_chain
from tests.transport.test_client_connection import HostileServer, upgrade

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


T = TypeVar("T")


def take(items: queue.Queue[T], failure: Callable[[], str]) -> T:
    """The next item, waiting at most TIMEOUT s (then fail with ``failure()``)."""
    try:
        return items.get(timeout=TIMEOUT)
    except queue.Empty:
        raise AssertionError(failure()) from None


class PolledServer:
    """A WebSocketServer on 127.0.0.1:0 whose poll() runs on its own thread, so the
    test thread is free to talk to the CLI; ``record`` collects signals in order."""

    def __init__(self, configure: Callable[[WebSocketServer], None] | None = None,
                 protocols: tuple[str, ...] = (), mp: bool = False) -> None:
        self.server = WebSocketServer()
        self.events: queue.Queue[tuple] = queue.Queue()
        for name in ("client_connected", "client_close_request", "client_disconnected",
                     "peer_connected", "peer_disconnected"):
            self.server.connect(name, lambda *args, name=name: self.events.put((name, *args)))
        if configure is not None:
            configure(self.server)
        if self.server.listen(0, list(protocols), gd_mp_api=mp) != Error.OK:
            raise AssertionError("listen failed")
        self.running = threading.Event()
        self.running.set()
        self.thread = threading.Thread(target=self._poll, name="test-poller", daemon=True)
        self.thread.start()

    def _poll(self) -> None:
        while self.running.is_set():
            self.server.poll(0.05)

    def url(self, scheme: str = "ws", host: str = "127.0.0.1") -> str:
        return f"{scheme}://{host}:{self.server.get_port()}/"

    def expect(self, name: str) -> tuple:
        """The next recorded signal called ``name`` (others before it are skipped)."""
        while True:
            event = take(self.events, lambda: f"no {name} signal within {TIMEOUT} s")
            if event[0] == name:
                return event

    def close(self) -> None:
        self.running.clear()
        self.thread.join(TIMEOUT)
        self.server.stop()


class Cli:
    """``python -m godot_ws connect ...`` with stdin, stdout and stderr as pipes;
    threads read stdout and stderr so every wait has a timeout."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "godot_ws", "connect", *args],
                                     cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, encoding="utf-8",
                                     preexec_fn=default_signals)
        self.out: queue.Queue[str] = queue.Queue()
        self.err: queue.Queue[str] = queue.Queue()
        self.err_lines: list[str] = []
        self.readers = [threading.Thread(target=self._read, args=(s, q), daemon=True)
                        for s, q in ((self.proc.stdout, self.out), (self.proc.stderr, self.err))]
        for reader in self.readers:
            reader.start()

    @staticmethod
    def _read(stream, lines: queue.Queue[str]) -> None:
        for line in stream:
            lines.put(line.rstrip("\n"))

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def end_input(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()

    def line(self) -> str:
        return take(self.out, lambda: f"no stdout line; stderr {self.drain_err()}")

    def told(self, prefix: str) -> str:
        """Wait for a stderr line starting with ``prefix``."""
        while True:
            line = take(self.err, lambda: f"no stderr line {prefix!r}; got {self.err_lines}")
            self.err_lines.append(line)
            if line.startswith(prefix):
                return line

    def drain_err(self) -> list[str]:
        while not self.err.empty():
            self.err_lines.append(self.err.get_nowait())
        return self.err_lines

    def wait(self) -> int:
        try:
            return self.proc.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"connect did not exit; stderr {self.drain_err()}") from None

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(TIMEOUT)
        for reader in self.readers:
            reader.join(TIMEOUT)
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


class ConnectCliTestCase(unittest.TestCase):
    def serve(self, configure: Callable[[WebSocketServer], None] | None = None,
              **kw) -> PolledServer:
        server = PolledServer(configure, **kw)
        self.addCleanup(server.close)
        return server

    def cli(self, *args: str) -> Cli:
        cli = Cli(*args)
        self.addCleanup(cli.close)
        return cli


def echo(server: WebSocketServer) -> None:
    server.connect("data_received", lambda pid: echo_same_type(server, pid))


class RawModeTest(ConnectCliTestCase):
    def test_lines_echo_as_text_and_end_of_input_closes_with_1000(self):
        srv = self.serve(echo)
        cli = self.cli(srv.url())
        self.assertEqual(cli.told("# connected to "), f"# connected to {srv.url()}")
        for text in ("hello", "wörld ✓", ""):
            cli.send(text)
            self.assertEqual(cli.line(), text)
        cli.end_input()
        self.assertEqual(srv.expect("client_close_request")[2], 1000)
        self.assertEqual(cli.wait(), EXIT_CLEAN)
        cli.told("# closed")

    def test_binary_is_printed_as_hex(self):
        def configure(server: WebSocketServer) -> None:
            def greet(pid: int, protocol: str) -> None:
                peer = server.get_peer(pid)
                peer.set_write_mode(WriteMode.WRITE_MODE_BINARY)
                peer.put_packet(b"\x00\x01\xfe\xff")
            server.connect("client_connected", greet)
        srv = self.serve(configure)
        cli = self.cli(srv.url())
        self.assertEqual(cli.line(), "0001feff")

    def test_var_sends_strings_and_decodes_what_arrives(self):
        got: queue.Queue[tuple[bytes, bool]] = queue.Queue()

        def configure(server: WebSocketServer) -> None:
            def answer(pid: int) -> None:
                peer = server.get_peer(pid)
                data = peer.get_packet()
                got.put((data, peer.was_string_packet()))
                peer.set_write_mode(WriteMode.WRITE_MODE_BINARY)
                peer.put_packet(var2bytes({"echo": bytes2var(data), "n": 3}))
            server.connect("data_received", answer)
        srv = self.serve(configure)
        cli = self.cli("--var", srv.url())
        cli.send("héllo")
        self.assertEqual(cli.line(), repr({"echo": "héllo", "n": 3}))
        self.assertEqual(got.get(timeout=TIMEOUT), (var2bytes("héllo"), False))

    def test_var_shows_hex_for_what_is_not_a_variant(self):
        def configure(server: WebSocketServer) -> None:
            def greet(pid: int, protocol: str) -> None:
                server.get_peer(pid).put_packet(b"\xff\xff")
            server.connect("client_connected", greet)
        srv = self.serve(configure)
        cli = self.cli("--var", srv.url())
        self.assertEqual(cli.line(), "ffff")
        cli.told("# not a Variant")

    def test_protocols_are_offered_and_the_choice_shown(self):
        srv = self.serve(echo, protocols=("chat",))
        cli = self.cli("--protocols", "x-other, chat", srv.url())
        self.assertEqual(cli.told("# connected"), f"# connected to {srv.url()} (subprotocol chat)")
        self.assertEqual(srv.expect("client_connected")[2], "chat")

    def test_linger_prints_answers_that_arrive_after_the_end_of_input(self):
        srv = self.serve(echo)
        cli = self.cli("--linger", "5", srv.url())
        cli.told("# connected")
        lines = [f"line {i}" for i in range(20)]
        for text in lines:
            cli.send(text)
        cli.end_input()
        self.assertEqual([cli.line() for _ in lines], lines)
        self.assertEqual(cli.wait(), EXIT_CLEAN)

    def test_ctrl_c_closes_with_1000(self):
        srv = self.serve(echo)
        cli = self.cli(srv.url())
        cli.told("# connected")
        srv.expect("client_connected")
        cli.proc.send_signal(signal.SIGINT)
        self.assertEqual(srv.expect("client_close_request")[2], 1000)
        self.assertEqual(cli.wait(), EXIT_CLEAN)


class ExitCodeTest(ConnectCliTestCase):
    def closing_with(self, code: int, reason: str) -> Cli:
        def configure(server: WebSocketServer) -> None:
            server.connect("data_received",
                           lambda pid: server.disconnect_peer(pid, code, reason))
        srv = self.serve(configure)
        cli = self.cli(srv.url())
        cli.send("close please")
        return cli

    def test_server_close_with_4000_is_3(self):
        cli = self.closing_with(4000, "bye")
        self.assertEqual(cli.told("# server closed"), "# server closed with 4000: bye")
        self.assertEqual(cli.wait(), EXIT_CLOSED_BY_SERVER)

    def test_server_close_with_1000_is_0(self):
        cli = self.closing_with(1000, "")
        self.assertEqual(cli.told("# server closed"), "# server closed with 1000")
        self.assertEqual(cli.wait(), EXIT_CLEAN)

    def test_dropped_connection_is_3(self):
        def upgrade_then_drop(sock: socket.socket, head: bytes) -> None:
            sock.sendall(upgrade(head))
            sock.shutdown(socket.SHUT_RDWR)
        hostile = HostileServer(upgrade_then_drop)
        self.addCleanup(hostile.close)
        cli = self.cli(f"ws://127.0.0.1:{hostile.port}/")
        cli.told("# connection dropped")
        self.assertEqual(cli.wait(), EXIT_CLOSED_BY_SERVER)

    def test_refused_is_1_with_the_reason(self):
        with socket.socket() as s:  # a port nobody listens on
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        cli = self.cli(f"ws://127.0.0.1:{port}/")
        self.assertEqual(cli.wait(), EXIT_CONNECT_FAILED)
        self.assertTrue(any("Connection refused" in line for line in cli.drain_err()),
                        cli.err_lines)

    def test_bad_arguments_are_2(self):
        for args in (["http://example.com/"], ["--linger", "-1", "ws://127.0.0.1:1/"],
                     ["--ca", "x.pem", "--insecure", "wss://127.0.0.1:1/"]):
            with self.subTest(args=args):
                cli = self.cli(*args)
                self.assertEqual(cli.wait(), EXIT_USAGE)


class MultiplayerTest(ConnectCliTestCase):
    def test_two_players_see_each_other_and_exchange_variants(self):
        srv = self.serve(lambda server: server.connect("peer_packet",
                                                       lambda pid: server.get_packet()), mp=True)
        alice = self.cli("--mp", "--var", srv.url())
        alice_id = int(alice.told("# connected").rsplit(" ", 1)[1])
        bob = self.cli("--mp", "--var", srv.url())
        bob_id = int(bob.told("# connected").rsplit(" ", 1)[1])
        self.assertEqual(alice.told(f"# peer {bob_id}"), f"# peer {bob_id} joined")
        self.assertEqual(bob.told(f"# peer {alice_id}"), f"# peer {alice_id} joined")
        alice.send("hi bob")
        self.assertEqual(bob.line(), f"{alice_id}: 'hi bob'")
        bob.end_input()
        self.assertEqual(bob.wait(), EXIT_CLEAN)
        self.assertEqual(alice.told(f"# peer {bob_id}"), f"# peer {bob_id} left")

    def test_a_packet_without_var_is_hex_from_its_sender(self):
        def configure(server: WebSocketServer) -> None:
            def greet(pid: int) -> None:
                server.set_target_peer(pid)
                server.put_packet(b"\x01\x02")
            server.connect("peer_connected", greet)
        srv = self.serve(configure, mp=True)
        cli = self.cli("--mp", srv.url())
        self.assertEqual(cli.line(), "1: 0102")


class WssTest(ConnectCliTestCase):
    def setUp(self) -> None:
        chain = make_chain()

        def configure(server: WebSocketServer) -> None:
            server.private_key = chain.leaf_crypto_key()
            server.ssl_certificate = X509Certificate.from_cryptography(chain.leaf_cert)
            server.ca_chain = X509Certificate.from_cryptography(chain.inter_cert)
            echo(server)
        self.srv = self.serve(configure)
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.ca = os.path.join(tmp.name, "root.pem")
        with open(self.ca, "w") as f:
            f.write(chain.root_pem())

    def round_trip(self, *args: str) -> None:
        cli = self.cli(*args)
        cli.send("over tls")
        self.assertEqual(cli.line(), "over tls")
        cli.end_input()
        self.assertEqual(cli.wait(), EXIT_CLEAN)

    def test_trusted_ca_verifies_name_and_address(self):
        for host in ("localhost", "127.0.0.1"):
            with self.subTest(host=host):
                self.round_trip("--ca", self.ca, self.srv.url("wss", host))

    def test_insecure_skips_verification(self):
        self.round_trip("--insecure", self.srv.url("wss"))

    def test_unverified_certificate_is_1(self):
        cli = self.cli(self.srv.url("wss"))
        self.assertEqual(cli.wait(), EXIT_CONNECT_FAILED)
        self.assertTrue(any("certificate" in line for line in cli.drain_err()), cli.err_lines)

    def test_unreadable_ca_file_is_1(self):
        cli = self.cli("--ca", self.ca + ".missing", self.srv.url("wss"))
        self.assertEqual(cli.wait(), EXIT_CONNECT_FAILED)
        cli.told("error: cannot load the certificate")


if __name__ == "__main__":
    unittest.main()
