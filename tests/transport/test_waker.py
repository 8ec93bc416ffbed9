"""Waker: readable after wake(), empty after drain(), on both implementations."""
from __future__ import annotations

import os
import select
import threading
import unittest
from unittest import mock

from godot_ws.transport import waker as waker_module
from godot_ws.transport.waker import Waker
from tests.support import TIMEOUT


def _readable(w: Waker, timeout_ms: int = 0) -> bool:
    poller = select.poll()
    poller.register(w, select.POLLIN)
    return bool(poller.poll(timeout_ms))


class WakerTests(unittest.TestCase):
    """Runs on the platform's choice (an eventfd on Linux with Python 3.10+)."""

    def make(self) -> Waker:
        w = Waker()
        self.addCleanup(w.close)
        return w

    def test_wake_makes_it_readable_and_drain_empties_it(self):
        w = self.make()
        self.assertFalse(_readable(w))
        for wakes in (1, 2, 4095, 4096, 4097, 3 * 4096):
            for _ in range(wakes):
                w.wake()
            self.assertTrue(_readable(w), f"{wakes} wake-ups")
            w.drain()
            self.assertFalse(_readable(w), f"drained after {wakes} wake-ups")

    def test_drain_when_nothing_is_pending_returns(self):
        w = self.make()
        w.drain()
        self.assertFalse(_readable(w))

    def test_wake_from_another_thread_ends_a_wait(self):
        w = self.make()
        threading.Timer(0.05, w.wake).start()
        self.assertTrue(_readable(w, int(TIMEOUT * 1000)))

    def test_close_releases_the_descriptors_and_later_wakes_are_ignored(self):
        before = len(os.listdir("/proc/self/fd"))
        w = Waker()
        self.assertGreater(len(os.listdir("/proc/self/fd")), before)
        w.close()
        self.assertEqual(len(os.listdir("/proc/self/fd")), before)
        self.assertEqual(w.fileno(), -1)
        w.wake()   # no exception
        w.drain()
        w.close()  # twice: nothing to release

    def test_a_wake_after_close_never_reaches_a_reused_descriptor_number(self):
        w = Waker()
        number = w.fileno()
        w.close()
        r, s = os.pipe()  # the lowest free numbers: the waker's come back
        self.addCleanup(os.close, r)
        self.addCleanup(os.close, s)
        self.assertIn(number, (r, s))
        w.wake()
        w.drain()
        os.set_blocking(r, False)
        with self.assertRaises(BlockingIOError, msg="nothing was written to the reused number"):
            os.read(r, 1)


class PipeWakerTests(WakerTests):
    """The same behaviour where there is no eventfd (macOS, BSD, Python 3.9)."""

    def setUp(self) -> None:
        patcher = mock.patch.object(waker_module, "_EVENTFD", False)
        patcher.start()
        self.addCleanup(patcher.stop)

    def test_it_is_a_pipe(self):
        w = self.make()
        self.assertNotEqual(w._rfile.fileno(), w._wfile.fileno())


class ChoiceTests(unittest.TestCase):
    def test_one_eventfd_where_there_is_one_else_a_pipe(self):
        w = Waker()
        self.addCleanup(w.close)
        target = os.readlink(f"/proc/self/fd/{w.fileno()}")
        if hasattr(os, "eventfd"):
            self.assertIs(w._rfile, w._wfile)
            self.assertIn("eventfd", target)
        else:
            self.assertNotEqual(w._rfile.fileno(), w._wfile.fileno())
            self.assertIn("pipe", target)


if __name__ == "__main__":
    unittest.main()
