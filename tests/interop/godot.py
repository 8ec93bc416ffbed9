"""Run real Godot 3.2.3 client scripts (tests/interop/gd/) against our server.

A script runs as ``godot3-server --no-window --script <script>`` in a child
process while the test thread keeps calling our server's ``poll()``. Scripts
print ``RESULT <name> OK|FAIL <details>`` per check and ``DONE`` at the end,
and exit with 0 only if every check passed; ``GodotRun`` collects all of it.

A missing ``godot3-server`` fails the test loudly (CI must never skip), unless
``GODOT_WS_ALLOW_SKIP=1`` is set, which turns it into a skip for local runs.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
import unittest
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

__all__ = ["GODOT", "GD_DIR", "Result", "GodotRun", "require_godot", "run_godot_script"]

GODOT = shutil.which("godot3-server")
GD_DIR = Path(__file__).resolve().parent / "gd"
POLL_STEP = 0.05  # seconds per server.poll() while Godot runs

_RESULT_LINE = re.compile(r"RESULT (\S+) (OK|FAIL)(?: (.*))?$")
_STDBUF = shutil.which("stdbuf")  # line-buffered Godot output, so lines arrive while it runs


def require_godot() -> str:
    """Path of godot3-server; SkipTest only with GODOT_WS_ALLOW_SKIP=1, else a loud failure."""
    if GODOT:
        return GODOT
    if os.environ.get("GODOT_WS_ALLOW_SKIP") == "1":
        raise unittest.SkipTest("godot3-server is not on PATH (skipping: GODOT_WS_ALLOW_SKIP=1)")
    raise RuntimeError("godot3-server is not on PATH: the interop tests need Godot 3.2.3 headless. "
                       "Install it, or set GODOT_WS_ALLOW_SKIP=1 to skip these tests locally.")


@dataclass(frozen=True)
class Result:
    """One ``RESULT`` line of a Godot script."""
    name: str
    ok: bool
    details: str


class GodotRun:
    """One Godot script run: start it, poll our server while it runs, read its verdicts.

    Use as a context manager (or call ``kill()``) so the process never outlives the test.
    Environment: the caller's ``env`` on top of ours (a non-ASCII value is passed as
    ``KEY_HEX``, its UTF-8 in hex, which the scripts decode); ``GODOT_WS_TIMEOUT`` defaults
    to ``timeout - 1`` so the script reports its own timeout (with its state) before we kill it.
    """

    def __init__(self, script: str | os.PathLike, env: Mapping[str, object] | None = None,
                 timeout: float = 30.0) -> None:
        path = Path(script)
        self.script = path if path.is_absolute() else GD_DIR / path
        if not self.script.is_file():
            raise FileNotFoundError(f"no Godot script {self.script}")
        self.env = {}
        for key, value in (env or {}).items():
            value = str(value)
            if value.isascii():
                self.env[key] = value
            else:  # Godot 3.2 drops non-ASCII from the environment; the scripts read KEY_HEX
                self.env[key + "_HEX"] = value.encode("utf-8").hex()
        self.timeout = timeout
        self._lines: list[str] = []
        self._lock = threading.Lock()
        self._eof = threading.Event()
        self._proc: subprocess.Popen | None = None
        self._reader: threading.Thread | None = None
        self._scratch: tempfile.TemporaryDirectory | None = None
        self._deadline = 0.0

    # ------------------------------------------------------------------ process

    def start(self) -> GodotRun:
        godot = require_godot()
        env = dict(os.environ)
        env.pop("LC_ALL", None)
        env["LANG"] = "en"  # Godot logs locale errors for C/POSIX locales
        env.setdefault("GODOT_WS_TIMEOUT", str(max(1.0, self.timeout - 1.0)))
        env.update(self.env)
        # res:// is the working directory, where Godot also writes logs/: use a scratch one.
        # `extends "raw_common.gd"` still resolves next to the (absolute) script path.
        self._scratch = tempfile.TemporaryDirectory(prefix="godot_ws_interop_")
        cmd = [godot, "--no-window", "--script", str(self.script)]
        if _STDBUF:
            cmd = [_STDBUF, "-oL", "-eL"] + cmd
        self._deadline = time.monotonic() + self.timeout
        self._proc = subprocess.Popen(cmd, cwd=self._scratch.name, env=env, stdin=subprocess.DEVNULL,
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                      text=True, encoding="utf-8", errors="replace")
        self._reader = threading.Thread(target=self._read, name=f"godot-{self.script.stem}", daemon=True)
        self._reader.start()
        return self

    def _read(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        try:
            for line in self._proc.stdout:
                with self._lock:
                    self._lines.append(line.rstrip("\n"))
        finally:
            self._eof.set()

    def is_done(self) -> bool:
        """True once Godot has exited and all its output has been read (never blocks)."""
        return self._proc is not None and self._eof.is_set() and self._proc.poll() is not None

    @property
    def returncode(self) -> int | None:
        return None if self._proc is None else self._proc.poll()

    def remaining(self) -> float:
        """Seconds left before this run's timeout."""
        return self._deadline - time.monotonic()

    def wait(self, timeout: float | None = None, poll: Callable[[float], object] | None = None) -> int:
        """Wait for Godot to exit, calling ``poll(POLL_STEP)`` meanwhile if given; return its exit code.

        ``timeout`` defaults to what is left of the run's timeout. On timeout, Godot is
        killed and ``TimeoutError`` carries its output.
        """
        self._until(self.is_done, "exit", timeout, poll)
        assert self._proc is not None
        return self._proc.wait()

    def wait_for_result(self, name: str, timeout: float | None = None,
                        poll: Callable[[float], object] | None = None) -> Result:
        """Wait (polling as ``wait`` does) until the script printed ``RESULT <name> ...``."""
        self._until(lambda: name in self.results or self.is_done(), f"RESULT {name}", timeout, poll)
        if name not in self.results:
            raise AssertionError(f"Godot exited without RESULT {name}\n{self.output()}")
        return self.results[name]

    def wait_for_line(self, text: str, timeout: float | None = None,
                      poll: Callable[[float], object] | None = None) -> str:
        """Wait (polling as ``wait`` does) until Godot printed a line containing ``text``."""
        def found() -> list[str]:
            return [line for line in self.lines if text in line]
        self._until(lambda: bool(found()) or self.is_done(), repr(text), timeout, poll)
        if not found():
            raise AssertionError(f"Godot exited without printing {text!r}\n{self.output()}")
        return found()[0]

    def _until(self, condition: Callable[[], bool], what: str, timeout: float | None,
               poll: Callable[[float], object] | None) -> None:
        if self._proc is None:
            raise RuntimeError("GodotRun.start() was not called")
        end = time.monotonic() + (self.remaining() if timeout is None else timeout)
        while not condition():
            left = end - time.monotonic()
            if left <= 0:
                self.kill()
                raise TimeoutError(f"Godot script {self.script.name}: no {what} in time\n{self.output()}")
            if poll is not None:
                poll(min(POLL_STEP, left))
            else:
                self._eof.wait(min(POLL_STEP, left))

    def kill(self) -> None:
        """Stop Godot if it still runs and reap it; safe to call twice."""
        if self._proc is None:
            return
        if self._proc.poll() is None:
            self._proc.kill()
        try:
            self._proc.wait(timeout=10)
        finally:
            if self._reader is not None:
                self._reader.join(timeout=10)
            if self._proc.stdout is not None:
                self._proc.stdout.close()
            if self._scratch is not None:
                self._scratch.cleanup()
                self._scratch = None

    def __enter__(self) -> GodotRun:
        return self if self._proc is not None else self.start()

    def __exit__(self, *exc: object) -> None:
        self.kill()

    # ------------------------------------------------------------------ output

    @property
    def lines(self) -> list[str]:
        """Every output line so far (stdout and stderr)."""
        with self._lock:
            return list(self._lines)

    @property
    def result_list(self) -> list[Result]:
        """The RESULT lines so far, in order."""
        found = []
        for line in self.lines:
            m = _RESULT_LINE.match(line)
            if m:
                found.append(Result(m.group(1), m.group(2) == "OK", m.group(3) or ""))
        return found

    @property
    def results(self) -> dict[str, Result]:
        """RESULT lines by name (the last one wins)."""
        return {r.name: r for r in self.result_list}

    @property
    def done(self) -> bool:
        """True once the script printed DONE."""
        return "DONE" in self.lines

    def output(self) -> str:
        return "\n".join(self.lines)

    def assert_ok(self, test: unittest.TestCase, *expected: str) -> None:
        """Fail ``test`` unless Godot printed DONE, exited 0, every RESULT is OK and
        every name in ``expected`` was reported."""
        out = f"Godot output of {self.script.name}:\n{self.output()}"
        test.assertTrue(self.done, f"no DONE line\n{out}")
        test.assertEqual(self.returncode, 0, out)
        results = self.result_list
        test.assertTrue(results, f"no RESULT line\n{out}")
        test.assertEqual([r.name for r in results if not r.ok], [], out)
        test.assertEqual(sorted(set(expected) - {r.name for r in results}), [], f"missing RESULTs\n{out}")


def run_godot_script(path: str | os.PathLike, env: Mapping[str, object] | None = None,
                     timeout: float = 30.0) -> GodotRun:
    """Start ``path`` (relative to tests/interop/gd/) under godot3-server and return the handle."""
    return GodotRun(path, env, timeout).start()
