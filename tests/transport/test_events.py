"""The event queue between peer threads and poll(): wake-ups, timeouts, interruption."""
import signal
import socket
import threading
import time
import unittest

from godot_ws.transport.events import EventQueue

TIMEOUT = 10.0


class EventQueueTests(unittest.TestCase):
    def queue(self):
        q = EventQueue()
        self.addCleanup(q.close)
        return q

    def test_take_returns_batches_in_order(self):
        q = self.queue()
        q.put((1, None, None, None))
        q.put_many([(2, None, None, None), (3, None, None, None)])
        self.assertEqual([e[0] for e in q.take_all(0)], [1, 2, 3])
        self.assertEqual(q.take_all(0), [])

    def test_wait_is_woken_by_a_producer(self):
        q = self.queue()
        started = threading.Event()

        def produce():
            started.wait(5)
            q.put_many([(7, None, None, None)])
        t = threading.Thread(target=produce)
        t.start()
        started.set()
        got = q.take_all(5)
        t.join(5)
        self.assertEqual([e[0] for e in got], [7])

    def test_timeout_and_wake(self):
        q = self.queue()
        self.assertEqual(q.take_all(0.05), [])
        threading.Timer(0.05, q.wake).start()
        self.assertEqual(q.take_all(5), [])

    def test_many_cycles_lose_nothing(self):
        q = self.queue()
        stop = threading.Event()
        produced = []

        def produce():
            i = 0
            while not stop.is_set():
                q.put((i, None, None, None))
                i += 1
            produced.append(i)
        t = threading.Thread(target=produce)
        t.start()
        end = time.monotonic() + 0.5
        got = []
        while time.monotonic() < end:
            got += [e[0] for e in q.take_all(0.001)]
        stop.set()
        t.join(5)
        got += [e[0] for e in q.take_all(0)]
        self.assertGreater(len(got), 0)
        self.assertEqual(got, list(range(produced[0])))

    def test_interrupted_wait_leaves_queue_usable(self):
        q = self.queue()
        previous = signal.signal(signal.SIGALRM, _raise_interrupt)
        try:
            signal.setitimer(signal.ITIMER_REAL, 0.1)
            with self.assertRaises(KeyboardInterrupt):
                q.take_all(TIMEOUT)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
        self.assertFalse(q._waiting)
        q.put((5, None, None, None))
        self.assertEqual([e[0] for e in q.take_all(1)], [5])
        q.put((6, None, None, None))
        self.assertEqual([e[0] for e in q.take_all(1)], [6])

    def test_a_signal_ends_the_wait_on_the_main_thread(self):
        q = self.queue()
        seen = []
        previous = signal.signal(signal.SIGALRM, lambda *_: seen.append(1))
        try:
            signal.setitimer(signal.ITIMER_REAL, 0.1)
            start = time.monotonic()
            self.assertEqual(q.take_all(TIMEOUT), [])
            waited = time.monotonic() - start
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
        self.assertEqual(seen, [1], "the handler ran before take_all returned")
        self.assertLess(waited, TIMEOUT / 2)
        self.assertEqual(signal.set_wakeup_fd(-1), -1, "the wakeup fd was not restored")

    def test_an_application_wakeup_fd_is_left_alone(self):
        q = self.queue()
        r, w = socket.socketpair()
        self.addCleanup(r.close)
        self.addCleanup(w.close)
        w.setblocking(False)
        signal.set_wakeup_fd(w.fileno())
        try:
            self.assertEqual(q.take_all(0.05), [])
        finally:
            self.assertEqual(signal.set_wakeup_fd(-1), w.fileno())

    def test_a_second_waiting_thread_is_refused_at_once(self):
        q = self.queue()
        waiting = threading.Event()
        got = []

        def first():
            waiting.set()
            got.append(q.take_all(TIMEOUT))
        t = threading.Thread(target=first)
        t.start()
        self.assertTrue(waiting.wait(TIMEOUT))
        end = time.monotonic() + TIMEOUT
        while not q._waiting and time.monotonic() < end:
            time.sleep(0.001)
        with self.assertRaises(RuntimeError):
            q.take_all(TIMEOUT)
        q.put((9, None, None, None))  # the first waiter still gets it
        t.join(TIMEOUT)
        self.assertEqual([[e[0] for e in b] for b in got], [[9]])

    def test_close_during_a_wait_ends_it(self):
        q = EventQueue()
        threading.Timer(0.05, q.close).start()
        self.assertEqual(q.take_all(TIMEOUT), [])
        self.assertEqual(q._waker.fileno(), -1, "closed once the wait ended")


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


if __name__ == "__main__":
    unittest.main()
