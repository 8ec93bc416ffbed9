"""The event queue between peer threads and poll(): wake-ups, timeouts, interruption."""
import threading
import time
import unittest

from godot_ws.transport.events import EventQueue


class EventQueueTests(unittest.TestCase):
    def test_take_returns_batches_in_order(self):
        q = EventQueue()
        q.put((1, None, None, None))
        q.put_many([(2, None, None, None), (3, None, None, None)])
        self.assertEqual([e[0] for e in q.take_all(0)], [1, 2, 3])
        self.assertEqual(q.take_all(0), [])

    def test_wait_is_woken_by_a_producer(self):
        q = EventQueue()
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
        q = EventQueue()
        self.assertEqual(q.take_all(0.05), [])
        threading.Timer(0.05, q.wake).start()
        self.assertEqual(q.take_all(5), [])

    def test_many_cycles_never_release_an_unlocked_lock(self):
        q = EventQueue()
        errors = []
        stop = threading.Event()

        def produce():
            try:
                while not stop.is_set():
                    q.put((0, None, None, None))
            except RuntimeError as exc:
                errors.append(exc)
        t = threading.Thread(target=produce)
        t.start()
        end = time.monotonic() + 0.5
        n = 0
        while time.monotonic() < end:
            n += len(q.take_all(0.001))
        stop.set()
        t.join(5)
        self.assertEqual(errors, [])
        self.assertGreater(n, 0)

    def test_interrupted_wait_leaves_queue_usable(self):
        q = EventQueue()
        q._wakeup = _InterruptOnce(q._wakeup)
        with self.assertRaises(KeyboardInterrupt):
            q.take_all(1)
        # A queue left "waiting" would let two producers release the semaphore twice.
        self.assertFalse(q._waiting)
        q.put((5, None, None, None))
        self.assertEqual([e[0] for e in q.take_all(1)], [5])
        q.put((6, None, None, None))
        self.assertEqual([e[0] for e in q.take_all(1)], [6])


class _InterruptOnce:
    """A lock whose first timed acquire is interrupted, as Ctrl-C would."""

    def __init__(self, lock):
        self.lock = lock
        self.interrupted = False

    def acquire(self, *args, **kwargs):
        if not self.interrupted and kwargs.get("timeout", -1) != -1:
            self.interrupted = True
            raise KeyboardInterrupt
        return self.lock.acquire(*args, **kwargs)

    def release(self):
        self.lock.release()


if __name__ == "__main__":
    unittest.main()
