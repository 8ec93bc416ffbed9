"""Faults from outside: clients that vanish, stall, half-close, flood, or go
silent under keepalive, and SIGTERM on the command-line server.

Memory figures come from this process's VmRSS (the server runs in-process);
tolerances are generous and stated next to each check.
"""
from __future__ import annotations

import os
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import unittest

from godot_ws.enums import Error
from godot_ws.transport.acceptor import peer_threads
from tests.conformance.harness import WAIT, EchoServerCase
from tests.conformance.wire import (
    OP_BINARY,
    OP_CLOSE,
    OP_CONT,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    Pump,
    close_payload,
    frame,
    handshake,
)

SLACK = 3.0


def rss_kb() -> int:
    """Resident set size of this process in KiB (Linux /proc)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


def reset(sock: socket.socket) -> None:
    """Close with SO_LINGER 0: the peer sees a TCP RST, not a FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


class VanishingClientTests(EchoServerCase):
    def test_rst_mid_message(self):
        _, good, _ = self.open_pump()
        _, gone, gone_id = self.open_pump()
        big = frame(OP_BINARY, b"v" * 50000)
        gone.send(big[:20000])
        self.clients.remove(gone.sock)
        reset(gone.sock)
        (pid, clean, _), = self.rec.wait("client_disconnected")
        self.assertEqual((pid, clean), (gone_id, False))
        self.assertEqual(self.rec.of("data_received"), [])
        good.send(frame(OP_TEXT, b"still here"))
        self.assertTrue(good.wait_events(1, WAIT))
        self.assertEqual(good.events, [("text", b"still here")])

    def test_rst_while_the_server_has_a_backlog_for_it(self):
        sock = small_buffer_socket(self.port)
        self.clients.append(sock)
        handshake(sock, self.port)
        (pid, _), = self.rec.wait("client_connected")
        peer = self.server.get_peer(pid)
        fill_output(self, peer)
        self.assertGreater(peer.get_current_outbound_buffered_amount(), 0)
        self.clients.remove(sock)
        reset(sock)
        (got_id, clean, _), = self.rec.wait("client_disconnected")
        self.assertEqual((got_id, clean), (pid, False))
        self.assertEqual(peer.put_packet(b"too late"), Error.FAILED)


def small_buffer_socket(port: int) -> socket.socket:
    """A client socket with a tiny receive window (set before connect)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(WAIT)
    sock.connect(("127.0.0.1", port))
    return sock


def fill_output(test: unittest.TestCase, peer) -> list[Error]:
    """put_packet 60000-byte packets until the output limit answers ERR_OUT_OF_MEMORY."""
    results = []
    for _ in range(400):
        results.append(peer.put_packet(b"s" * 60000))
        if results[-1] != Error.OK:
            break
    test.assertEqual(results[-1], Error.ERR_OUT_OF_MEMORY)
    return results


class StuckReaderTests(EchoServerCase):
    STALL = 0.5

    def configure(self, server):
        super().configure(server)
        server.output_stall_timeout = self.STALL
        server.close_timeout = 60.0  # nothing here may wait for it

    def test_never_reading_client_is_refused_then_dropped_others_unaffected(self):
        threads = peer_threads()
        stuck = small_buffer_socket(self.port)
        self.clients.append(stuck)
        handshake(stuck, self.port)
        (stuck_id, _), = self.rec.wait("client_connected")
        _, good, _ = self.open_pump()
        peer = self.server.get_peer(stuck_id)
        start = time.monotonic()
        fill_output(self, peer)
        self.assertIn("output buffer full", self.logs.text())
        # Others are served while the stuck peer's output is full.
        for i in range(5):
            good.send(frame(OP_BINARY, bytes([i]) * 100))
            self.assertTrue(good.wait_events(i + 1, WAIT))
        disconnected = self.rec.wait("client_disconnected", timeout=self.STALL + 1.0 + SLACK + 5)
        self.assertEqual([d[:2] for d in disconnected], [(stuck_id, False)])
        # The writer checks stalls at least once a second.
        self.assertLess(time.monotonic() - start, self.STALL + 1.0 + SLACK + 5)
        self.assertIn("output stalled", self.logs.text())
        self.assertTrue(good.send(frame(OP_TEXT, b"after")))
        self.assertTrue(good.wait_events(6, WAIT))
        # Its thread ends with its backlog dropped, not after close_timeout.
        self.assertTrue(good.wait_for(lambda: peer_threads() == threads + 1, WAIT),
                        f"{peer_threads() - threads} peer threads left, 1 expected")
        self.assertEqual(self.logs.text().count("output stalled"), 1)


class PingFloodTests(EchoServerCase):
    """A client floods pings and never reads the pongs: the server's output
    for it must stay within the peer's output limits (RFC 6455 5.5.3 lets it
    answer only the most recent ping), not grow with the flood."""

    def test_ping_flood_from_a_non_reader_keeps_output_bounded(self):
        sock = small_buffer_socket(self.port)
        self.clients.append(sock)
        handshake(sock, self.port)
        (pid, _), = self.rec.wait("client_connected")
        peer = self.server.get_peer(pid)
        blob = frame(OP_PING, b"p" * 125, key=b"abcd") * 512   # 65 KB of pings
        stop = threading.Event()
        sent = [0]

        def flood():
            sock.settimeout(0.2)
            while not stop.is_set():
                try:
                    sock.sendall(blob)
                    sent[0] += len(blob)
                except socket.timeout:
                    pass    # the server stopped reading: back-pressure is fine too
                except OSError:
                    return  # the server dropped us: fine too
        t = threading.Thread(target=flood, daemon=True)
        rss0 = rss_kb()
        t.start()
        end = time.monotonic() + 1.5
        worst = 0
        while time.monotonic() < end:
            self.server.poll(0.05)
            if self.server.has_peer(pid) and peer.is_connected_to_host():
                worst = max(worst, peer.get_current_outbound_buffered_amount())
        stop.set()
        t.join(WAIT)
        self.assertFalse(t.is_alive())
        self.assertGreater(sent[0], 0)
        limit = 65536 + 127  # the default output buffer, plus one pong frame
        self.assertLessEqual(worst, limit,
                             f"{worst} bytes of pongs queued after {sent[0]} bytes of pings")
        self.assertLess(rss_kb() - rss0, 32 * 1024)


class EmptyFragmentFloodTests(EchoServerCase):
    """Empty continuation frames add nothing to a message, so an endless run
    of them must not make the server allocate per frame (the message size
    limit never triggers on them)."""

    FRAGMENTS = 80000    # 480 KB on the wire
    #: Socket read buffers (two of 64 KiB may be alive) plus slack.
    HELD_LIMIT = 2 * 65536 + 100 * 1024

    def test_empty_fragments_do_not_accumulate(self):
        import tracemalloc
        _, pump, pid = self.open_pump()
        pump.send(frame(OP_TEXT, b"start", fin=False))
        empty = frame(OP_CONT, b"", fin=False, key=b"abcd")
        tracemalloc.start()
        try:
            before = tracemalloc.take_snapshot()
            pump.send(empty * self.FRAGMENTS + frame(OP_PING, b"sync"))
            self.assertTrue(pump.wait_events(1, 60), "no pong after the fragments")
            after = tracemalloc.take_snapshot()
        finally:
            tracemalloc.stop()
        self.assertEqual(pump.events, [("pong", b"sync")])
        held = sum(stat.size_diff for stat in after.compare_to(before, "filename")
                   if "godot_ws" in stat.traceback[0].filename
                   or "wsproto" in stat.traceback[0].filename)
        self.assertLess(held, self.HELD_LIMIT, f"{held} bytes held for {self.FRAGMENTS} empty "
                                          "fragments of an unfinished message")
        pump.send(frame(OP_CONT, b"end"))
        self.assertTrue(pump.wait_events(2, WAIT))
        self.assertEqual(pump.events[1], ("text", b"startend"))


class HalfCloseTests(EchoServerCase):
    def configure(self, server):
        server.connect("data_received", self.collect)
        self.collected: list[bytes] = []

    def collect(self, pid):
        peer = self.server.get_peer(pid)
        while peer.get_available_packet_count():
            self.collected.append(peer.get_packet())

    def test_data_then_fin_is_delivered_then_disconnect(self):
        _, pump, pid = self.open_pump()
        pump.send(frame(OP_TEXT, b"before FIN") + frame(OP_BINARY, b"\x01" * 3000))
        pump.sock.shutdown(socket.SHUT_WR)
        self.assertTrue(pump.wait_eof(WAIT), "server kept a half-closed connection")
        disconnected = self.rec.wait("client_disconnected")
        self.assertEqual([d[:2] for d in disconnected], [(pid, False)])
        self.assertEqual(self.collected, [b"before FIN", b"\x01" * 3000])
        self.assertEqual(pump.events, [])  # nothing but EOF (parsed strictly)

    def test_close_then_fin_is_a_clean_close(self):
        _, pump, pid = self.open_pump()
        pump.send(frame(OP_CLOSE, close_payload(1000, b"bye")))
        pump.sock.shutdown(socket.SHUT_WR)
        self.assertTrue(pump.wait_eof(WAIT))
        self.assertEqual(pump.events, [("close", 1000, b"bye")])
        self.assertEqual([d[:2] for d in self.rec.wait("client_disconnected")], [(pid, True)])
        self.assertEqual(self.rec.of("client_close_request"), [(pid, 1000, "bye")])

    def test_fin_mid_frame(self):
        _, pump, pid = self.open_pump()
        pump.send(frame(OP_BINARY, b"x" * 1000)[:500])
        pump.sock.shutdown(socket.SHUT_WR)
        self.assertTrue(pump.wait_eof(WAIT))
        self.assertEqual([d[:2] for d in self.rec.wait("client_disconnected")], [(pid, False)])
        self.assertEqual(self.collected, [])


class FloodTests(EchoServerCase):
    """A client floods tiny messages while the server polls only every 20 ms."""

    def configure(self, server):
        server.connect("data_received", self.collect)
        self.collected: list[bytes] = []
        self.consume = True

    def collect(self, pid):
        if not self.consume:
            return
        peer = self.server.get_peer(pid)
        while peer.get_available_packet_count():
            self.collected.append(peer.get_packet())

    def flood(self, messages: list[bytes], seconds: float, rss_limit_kb: int) -> dict:
        """Send ``messages`` from a thread while polling every 20 ms, until all
        were consumed or ``seconds`` passed; return figures."""
        _, pump, pid = self.open_pump()
        if len(set(messages)) == 1:
            data = frame(OP_BINARY, messages[0]) * len(messages)
        else:
            data = b"".join(frame(OP_BINARY, m) for m in messages)
        sock = pump.sock
        sent = threading.Event()
        failure: list[BaseException] = []

        def sender():
            try:
                sock.setblocking(True)
                sock.sendall(data)
            except OSError as exc:
                if not stopping.is_set():
                    failure.append(exc)
            finally:
                sent.set()
        stopping = threading.Event()
        base = peak = rss_kb()
        t = threading.Thread(target=sender, daemon=True)
        t.start()
        end = time.monotonic() + seconds
        conn = self.server.get_peer(pid)._conn
        parked_seen = False
        while time.monotonic() < end:
            self.server.poll(0)
            peak = max(peak, rss_kb())
            parked_seen = parked_seen or conn.waiting or conn.parks > 0
            if sent.is_set() and conn.consumed >= len(messages):
                break
            time.sleep(0.02)  # the slow poller
        figures = {"pid": pid, "growth_kb": peak - base, "parked": parked_seen or conn.parks > 0,
                   "all_sent": sent.is_set(), "read_bytes": conn.produced_bytes}
        stopping.set()
        sock.shutdown(socket.SHUT_RDWR)  # unblocks the sender if still sending
        t.join(WAIT)
        self.assertFalse(t.is_alive())
        self.assertEqual(failure, [])
        self.assertLess(figures["growth_kb"], rss_limit_kb,
                        f"RSS grew {figures['growth_kb']} KiB during the flood")
        return figures

    def test_tiny_message_flood_loses_nothing_a_consumer_reads(self):
        messages = [i.to_bytes(4, "big") for i in range(30000)]
        figures = self.flood(messages, 60, rss_limit_kb=64 * 1024)
        self.assertTrue(figures["all_sent"])
        self.assertEqual(len(self.collected), len(messages))
        self.assertEqual(self.collected, messages)  # in order, none lost
        self.assertTrue(figures["parked"], "the peer thread never applied back-pressure")

    def test_flood_into_a_full_input_queue_is_bounded_and_dropped_as_godot(self):
        self.consume = False
        messages = [b"\x07" * 1000] * 64000  # 64 MB offered
        figures = self.flood(messages, 1.5, rss_limit_kb=16 * 1024)
        # TCP back-pressure: the server read a bounded part of the flood.
        self.assertFalse(figures["all_sent"], "64 MB went through a non-reading app")
        self.assertTrue(figures["parked"])
        peer = self.server.get_peer(figures["pid"])
        # Godot keeps what fits in the input ring: 65535 bytes -> 65 messages of 1000.
        self.assertEqual(peer.get_available_packet_count(), 65)
        self.assertEqual(peer.get_packet(), b"\x07" * 1000)
        self.assertIn("Buffer payload full! Dropping data.", self.logs.text())


class KeepaliveTests(EchoServerCase):
    INTERVAL = 0.3
    TIMEOUT = 0.3

    def configure(self, server):
        super().configure(server)
        server.ping_interval = self.INTERVAL
        server.ping_timeout = self.TIMEOUT

    def test_silent_peer_dropped_answering_peer_stays(self):
        _, silent, silent_id = self.open_pump()
        _, alive, alive_id = self.open_pump()
        answered = [0]

        def answer_pings() -> None:
            for event in alive.events[answered[0]:]:
                if event[0] == "ping":
                    alive.send(frame(OP_PONG, event[1]))
            answered[0] = len(alive.events)

        def step() -> None:
            alive.step()
            silent._read(0)
            answer_pings()

        start = time.monotonic()
        bound = self.INTERVAL + self.TIMEOUT + 1.0 + SLACK + 2
        while time.monotonic() < start + bound and not self.rec.of("client_disconnected"):
            step()
        elapsed = time.monotonic() - start
        disconnected = self.rec.of("client_disconnected")
        self.assertEqual([d[:2] for d in disconnected], [(silent_id, False)])
        self.assertLess(elapsed, bound)
        self.assertTrue(any(e[0] == "ping" for e in silent.events), "no ping was sent")
        self.assertTrue(silent.wait_eof(WAIT))
        # The answering client outlives several more intervals and still echoes.
        settle = time.monotonic() + 4 * self.INTERVAL
        while time.monotonic() < settle:
            step()
        self.assertGreaterEqual(sum(1 for e in alive.events if e[0] == "ping"), 2)
        mark = len(alive.events)
        alive.send(frame(OP_TEXT, b"alive"))
        end = time.monotonic() + WAIT
        while ("text", b"alive") not in alive.events[mark:] and time.monotonic() < end:
            step()
        self.assertIn(("text", b"alive"), alive.events[mark:])
        self.assertTrue(self.server.has_peer(alive_id))
        self.assertEqual(len(self.rec.of("client_disconnected")), 1)


class KeepaliveOffByDefaultTests(EchoServerCase):
    def test_no_pings_by_default(self):
        self.assertEqual((self.server.ping_interval, self.server.ping_timeout), (0.0, 0.0))
        _, pump, pid = self.open_pump()
        pump.wait_for(lambda: bool(pump.events), 0.6)
        self.assertEqual(pump.events, [])
        self.assertTrue(self.server.has_peer(pid))


class SigtermTests(unittest.TestCase):
    def test_sigterm_sends_1001_to_every_peer_and_exits_0(self):
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        proc = subprocess.Popen([sys.executable, "-m", "godot_ws", "serve", "--mode", "echo",
                                 "--bind", "127.0.0.1", "--port", "0"],
                                cwd=root, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        socks: list[socket.socket] = []
        try:
            line = read_line(proc, 20)
            m = re.match(r"listening on ws://([\d.]+):(\d+)", line)
            self.assertIsNotNone(m, f"unexpected first line {line!r}")
            port = int(m.group(2))
            pumps = []
            for i in range(3):
                s = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
                socks.append(s)
                head, rest = handshake(s, port)
                self.assertTrue(head.startswith(b"HTTP/1.1 101 "))
                pumps.append(Pump(_NoServer(), s, rest))
            pumps[0].send(frame(OP_TEXT, b"echo before SIGTERM"))
            self.assertTrue(pumps[0].wait_events(1, WAIT))
            self.assertEqual(pumps[0].events, [("text", b"echo before SIGTERM")])
            half = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
            socks.append(half)
            half.sendall(b"GET / HTTP/1.1\r\n")  # mid-handshake at SIGTERM
            proc.send_signal(signal.SIGTERM)
            for p in pumps:
                self.assertTrue(p.wait_eof(WAIT), "no EOF after SIGTERM")
                self.assertEqual(p.events[-1][:2], ("close", 1001))
            half.settimeout(WAIT)
            self.assertEqual(half.recv(100), b"")
            self.assertEqual(proc.wait(WAIT), 0)
            err = proc.stderr.read()
            self.assertNotIn("Traceback", err)
        finally:
            for s in socks:
                s.close()
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)
            proc.stdout.close()
            proc.stderr.close()


class _NoServer:
    """Stands in for the server when a Pump talks to another process."""

    def poll(self, timeout):
        pass


def read_line(proc: subprocess.Popen, timeout: float) -> str:
    """The first stdout line of ``proc``, within ``timeout`` seconds."""
    box: list[str] = []
    t = threading.Thread(target=lambda: box.append(proc.stdout.readline()), daemon=True)
    t.start()
    t.join(timeout)
    if not box:
        raise AssertionError(f"no output within {timeout} s")
    return box[0]


if __name__ == "__main__":
    unittest.main()
