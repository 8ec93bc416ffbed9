"""Review: ``stop()`` called from a signal handler while ``poll()`` runs.

A SIGTERM/SIGINT handler that calls ``server.stop()`` runs on the polling
thread, inside ``poll()``. Then ``poll()`` must return, and no signal may fire
after ``stop()`` returned.
"""
import signal
import threading
import unittest

from godot_ws.server import WebSocketServer
from tests.support import TIMEOUT, ServerTestCase


@unittest.skipUnless(hasattr(signal, "setitimer"), "needs setitimer")
class StopFromSignalHandlerTests(unittest.TestCase):
    def test_poll_forever_returns_after_stop_in_handler(self):
        server = WebSocketServer()
        self.assertEqual(server.listen(0), 0)
        queue = server._events
        rescued = threading.Event()

        def rescue():  # a safety net: unblock the poll if stop() did not
            rescued.set()
            queue.wake()
        net = threading.Timer(5.0, rescue)
        previous = signal.signal(signal.SIGALRM, lambda *_: server.stop())
        try:
            net.start()
            signal.setitimer(signal.ITIMER_REAL, 0.2)
            server.poll(None)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
            net.cancel()
            net.join(TIMEOUT)
            server.stop()
        self.assertFalse(server.is_listening())
        self.assertFalse(rescued.is_set(), "poll(None) stayed blocked after stop()")


class StopBetweenTakeAndDispatchTests(ServerTestCase):
    def test_no_signal_after_stop_in_handler(self):
        queue = self.server._events
        data_queued = threading.Event()
        real_put_many = queue.put_many

        def put_many(events):
            real_put_many(events)
            data_queued.set()
        queue.put_many = put_many
        client = self.ws()
        client.send(b"hello")
        self.assertTrue(data_queued.wait(TIMEOUT), "no data event queued")
        real_take_all = queue.take_all

        def take_all_then_signal(timeout):
            events = real_take_all(timeout)
            self.server.stop()  # what a signal handler landing here does
            return events
        queue.take_all = take_all_then_signal
        self.server.poll(0)
        self.assertEqual(self.rec.calls, [], "signals fired after stop() returned")
        self.assertEqual(self.server.get_peer_ids(), [])


if __name__ == "__main__":
    unittest.main()
