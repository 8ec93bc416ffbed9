"""The samples: every one compiles; the game sample plays with two real Godot 3.2.3 clients.

The echo, chat and relay samples listen on a fixed port and loop forever, so they are only
compiled. samples/graceful_shutdown.py runs as a child process that gets bursts of signals.
samples/game_server.py takes its port from argv (0: any free port) and prints it; it runs
as a child process with two samples/godot/game_client.gd clients.
"""
from __future__ import annotations

import importlib.util
import os
import py_compile
import re
import signal
import subprocess
import sys
import tempfile
import threading
import unittest
from pathlib import Path

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from godot_ws.variant.types import Vector2
from tests.interop import godot
from tests.interop.godot import GodotRun
from tests.support import default_signals

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
GAME_SECONDS = 3
RUN_TIMEOUT = 15.0
_POSITION = re.compile(r"(\d+) at \(([-\d.e]+), ([-\d.e]+)\)")


def load_game_sample():
    """samples/game_server.py as a module (its server only starts in main())."""
    spec = importlib.util.spec_from_file_location("game_server_sample", SAMPLES / "game_server.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class CompileTest(unittest.TestCase):
    def test_every_python_sample_compiles(self):
        samples = sorted(SAMPLES.glob("*.py"))
        self.assertGreaterEqual(len(samples), 4, samples)
        with tempfile.TemporaryDirectory() as scratch:
            for path in samples:
                with self.subTest(sample=path.name):
                    py_compile.compile(str(path), cfile=os.path.join(scratch, path.name + "c"), doraise=True)


class FakeMultiplayer:
    """What Game uses of the MultiplayerAPI: the sender of the call being run."""
    sender = 0

    def get_rpc_sender_id(self) -> int:
        return self.sender


class GameRulesTest(unittest.TestCase):
    """The sample's Game without a network: input validation and movement."""

    def setUp(self):
        self.sample = load_game_sample()
        self.multiplayer = FakeMultiplayer()
        self.game = self.sample.Game(self.multiplayer)
        self.game.join(7)
        self.start = self.game.positions[7]

    def move(self, sender, *args):
        self.multiplayer.sender = sender
        self.game.move(*args)
        self.game.step()
        return self.game.positions.get(7)

    def test_direction_is_cut_to_full_speed(self):
        step = self.sample.SPEED * self.sample.TICK
        self.assertEqual(self.move(7, 1000, 0), self.start + Vector2(step, 0))
        self.assertEqual(self.move(7, 0, 0.5), self.start + Vector2(step, step / 2))

    def test_bad_input_is_ignored_and_logged(self):
        self.move(7, 0, 1)
        before = self.game.positions[7]
        for args in (("left", 0), (True, 0), (float("nan"), 0), (None, None), ([1], 0)):
            with self.subTest(args=args), self.assertLogs("game", "WARNING") as logs:
                self.assertEqual(self.move(7, *args), before + Vector2(0, 10))  # last valid input goes on
                before = self.game.positions[7]
            self.assertIn("ignored bad input from 7", logs.output[0])
        with self.assertLogs("game", "WARNING"):
            self.move(99, 1, 0)  # not a player
        self.assertNotIn(99, self.game.positions)

    def test_players_stay_on_the_board(self):
        for _ in range(100):
            self.move(7, -1, -1)
        self.assertEqual(self.game.positions[7], Vector2(0, 0))
        self.game.leave(7)
        self.assertEqual(self.game.positions, {})


class SampleServerCase(unittest.TestCase):
    """``python samples/<sample> 0`` as a child process, its output read by a thread."""

    sample = "game_server.py"
    env: dict = {}

    def setUp(self):
        godot.require_godot()
        env = dict(os.environ, PYTHONPATH=str(SAMPLES.parent), PYTHONUNBUFFERED="1", **self.env)
        self.server = subprocess.Popen(preexec_fn=default_signals, args=[sys.executable, str(SAMPLES / self.sample), "0"],
                                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        self.addCleanup(self.stop_server)
        self.server_lines: list[str] = []
        self.new_line = threading.Condition()
        self.listening = threading.Event()
        self.reader = threading.Thread(target=self.read_server, daemon=True)
        self.reader.start()

    def read_server(self) -> None:
        for line in self.server.stdout:
            with self.new_line:
                self.server_lines.append(line.rstrip("\n"))
                self.new_line.notify_all()
            if "listening on" in line:
                self.listening.set()
        self.listening.set()  # exited: let the test see why

    def stop_server(self) -> None:
        if self.server.poll() is None:
            self.server.send_signal(signal.SIGINT)  # the sample stops its server on Ctrl-C
            try:
                self.server.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.server.kill()
                self.server.wait(timeout=5)
        self.reader.join(timeout=5)
        self.server.stdout.close()

    def server_output(self) -> str:
        return "\n".join(["--- server:"] + self.server_lines)

    def server_port(self) -> str:
        self.assertTrue(self.listening.wait(10), self.server_output())
        port = re.search(r"ws://127\.0\.0\.1:(\d+)", "\n".join(self.server_lines))
        self.assertIsNotNone(port, self.server_output())
        return port.group(1)


class GameSampleTest(SampleServerCase):
    """python samples/game_server.py 0, and two samples/godot/game_client.gd."""

    def test_two_godot_clients_play(self):
        env = {"GODOT_WS_URL": f"ws://127.0.0.1:{self.server_port()}", "GAME_SECONDS": GAME_SECONDS}
        runs = [GodotRun(SAMPLES / "godot" / "game_client.gd", env, RUN_TIMEOUT).start() for _ in range(2)]
        for run in runs:
            self.addCleanup(run.kill)
        codes = [run.wait() for run in runs]
        outputs = self.server_output() + "".join(f"\n--- client:\n{r.output()}" for r in runs)
        self.assertEqual(codes, [0, 0], outputs)

        ids = [int(re.search(r"joined the game as player (\d+)", r.output()).group(1)) for r in runs]
        step = 10.0 * 5 + 0.01  # SPEED * TICK per update, and the client prints every 5th update
        for run in runs:
            self.assertIn("board is 400x300", run.lines, outputs)
            self.assertRegex(run.output(), r"left the game after \d\d+ updates")
            tracks = {i: [] for i in ids}
            for line in run.lines:
                if line.startswith("positions: "):
                    for found in _POSITION.finditer(line):
                        tracks[int(found.group(1))].append((float(found.group(2)), float(found.group(3))))
            for i, track in tracks.items():
                self.assertGreaterEqual(len(track), 3, outputs)
                self.assertNotEqual(track[0], track[-1], outputs)  # the player moved
                for (x0, y0), (x1, y1) in zip(track, track[1:]):
                    self.assertLessEqual(((x1 - x0) ** 2 + (y1 - y0) ** 2) ** 0.5, step, outputs)
                    self.assertTrue(0 <= x1 <= 400 and 0 <= y1 <= 300, outputs)
        for i in ids:
            self.assertIn(f"ignored bad input from {i}: move('left', 0)", outputs)
        self.stop_server()
        self.assertEqual(self.server.returncode, 0, outputs)
        for i in ids:
            self.assertRegex(outputs, rf"player {i} joined at")
            self.assertRegex(outputs, rf"player {i} left")


class RoomsSampleTest(SampleServerCase):
    """python samples/rooms_server.py 0, and three samples/godot/rooms_client.gd: two meet in
    room red (the second one picks it from the lobby), one stays alone in blue."""

    sample = "rooms_server.py"
    env = {"ROOMS_GRACE": "0.5"}

    def test_rooms_are_separate_games(self):
        url = f"ws://127.0.0.1:{self.server_port()}"
        runs = [GodotRun(SAMPLES / "godot" / "rooms_client.gd",
                         {"GODOT_WS_URL": url, "GODOT_WS_ROOM": room, "GAME_SECONDS": GAME_SECONDS},
                         RUN_TIMEOUT) for room in ("red", "", "blue")]
        for run in runs:
            self.addCleanup(run.kill)
        red, picker, blue = runs
        red.start()
        red.wait_for_line("joined room red")
        picker.start()
        blue.start()
        codes = [run.wait() for run in runs]
        outputs = self.server_output() + "".join(f"\n--- client:\n{r.output()}" for r in runs)
        self.assertEqual(codes, [0, 0, 0], outputs)
        ids = [int(re.search(r"joined room \w+ as player (\d+)", r.output()).group(1)) for r in runs]
        self.assertIn("lobby: room red, 1/4 players", picker.lines, outputs)
        self.assertIn("joining room red", picker.lines, outputs)
        for run, other in ((red, ids[1]), (picker, ids[0])):
            self.assertIn(f"player {other} is in the room", run.lines, outputs)
            # the second player's hello reached both; the first one's was said before it came
            self.assertIn(f"player {ids[1]} says: hello from {ids[1]}", run.lines, outputs)
        self.assertIn(f"player {ids[2]} says: hello from {ids[2]}", blue.lines, outputs)
        for i in ids[:2]:  # nothing of red reached blue
            self.assertNotIn(str(i), blue.output(), outputs)
        self.assertTrue(self.wait_for_line("room red closed") and self.wait_for_line("room blue closed"),
                        outputs)
        for room, i in (("red", ids[0]), ("red", ids[1]), ("blue", ids[2])):
            self.assertIn(f"player {i} joined room {room}", self.server_output())

    def wait_for_line(self, text: str, timeout: float = 10.0) -> bool:
        """Wait until the server printed a line containing ``text``."""
        with self.new_line:
            return self.new_line.wait_for(lambda: any(text in line for line in self.server_lines),
                                          timeout)


class GracefulShutdownSampleTest(unittest.TestCase):
    """samples/graceful_shutdown.py: a burst of SIGTERM or SIGINT, and every peer gets 1001."""

    def run_sample(self, signum):
        proc = subprocess.Popen(preexec_fn=default_signals, args=[sys.executable, str(SAMPLES / "graceful_shutdown.py"), "0"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                cwd=SAMPLES.parent)
        try:
            line = proc.stdout.readline()
            self.assertTrue(line.startswith("listening on ws://"), line)
            url = line.split()[-1]
            with connect(url, open_timeout=RUN_TIMEOUT) as a, connect(url, open_timeout=RUN_TIMEOUT) as b:
                a.send("ping")
                self.assertEqual(a.recv(timeout=RUN_TIMEOUT), "ping")
                for _ in range(10):
                    proc.send_signal(signum)
                codes = []
                for ws in (a, b):
                    with self.assertRaises(ConnectionClosed) as closed:
                        ws.recv(timeout=RUN_TIMEOUT)
                    codes.append(closed.exception.rcvd.code if closed.exception.rcvd else None)
            self.assertEqual(proc.wait(RUN_TIMEOUT), 0)
            self.assertEqual(codes, [1001, 1001])
            self.assertEqual(proc.stdout.read(), "stopped\n")
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)
            proc.stdout.close()
            proc.stderr.close()

    def test_sigterm_burst(self):
        self.run_sample(signal.SIGTERM)

    def test_sigint_burst(self):
        self.run_sample(signal.SIGINT)


if __name__ == "__main__":
    unittest.main()
