"""transport/acceptor.py: the Registry stop() relies on, the listener, the refusal path."""
import _thread
import socket
import threading
import time
import unittest

from godot_ws.transport.acceptor import Acceptor, Registry, _plain_host, open_listener, peer_threads
from godot_ws.transport.connection import ConnectionConfig
from godot_ws.transport.events import EventQueue
from tests.support import TIMEOUT


class RegistryTest(unittest.TestCase):
    def setUp(self):
        self.a, self.b = socket.socketpair()
        self.addCleanup(self.a.close)
        self.addCleanup(self.b.close)
        self.before = peer_threads()

    def test_add_adopt_release(self):
        reg = Registry()
        reg.add(self.a)
        self.assertEqual(reg.snapshot(), [(self.a, None)])
        self.assertEqual(peer_threads(), self.before + 1)
        conn = object()
        self.assertTrue(reg.adopt(self.a, conn))
        self.assertEqual(reg.snapshot(), [(self.a, conn)])
        self.assertEqual(len(reg), 1)
        reg.release(self.a)
        self.assertEqual((len(reg), reg.snapshot()), (0, []))
        self.assertEqual(peer_threads(), self.before)

    def test_adopt_refuses_after_close_or_release(self):
        reg = Registry()
        self.assertFalse(reg.adopt(self.a, object()), "never added")
        reg.add(self.a)
        self.addCleanup(reg.release, self.a)
        reg.close()  # stop() took its snapshot: a late upgrade must drop itself
        self.assertFalse(reg.adopt(self.a, object()))
        self.assertEqual(reg.snapshot(), [(self.a, None)])

    def test_snapshot_is_a_copy(self):
        reg = Registry()
        reg.add(self.a)
        self.addCleanup(reg.release, self.a)
        snap = reg.snapshot()
        reg.add(self.b)
        self.addCleanup(reg.release, self.b)
        self.assertEqual(len(snap), 1)
        self.assertEqual(len(reg.snapshot()), 2)

    def test_wait_empty_returns_when_the_last_thread_releases(self):
        reg = Registry()
        self.assertTrue(reg.wait_empty(0.0))
        reg.add(self.a)
        self.assertFalse(reg.wait_empty(0.01), "a peer thread still runs")
        waiter = threading.Thread(target=lambda: done.append(reg.wait_empty(TIMEOUT)))
        done: list[bool] = []
        waiter.start()
        end = time.monotonic() + TIMEOUT
        while not reg._empty._waiters and time.monotonic() < end:  # type: ignore[attr-defined]
            time.sleep(0.001)  # until the waiter waits: the release must wake it
        reg.release(self.a)
        waiter.join(TIMEOUT / 4)  # without the notify it would sleep its whole TIMEOUT
        self.assertFalse(waiter.is_alive(), "the release did not wake the waiter")
        self.assertEqual(done, [True])

    def test_a_second_release_does_not_count_the_thread_again(self):
        reg = Registry()
        before = peer_threads()
        reg.add(self.a)
        self.assertEqual(peer_threads(), before + 1)
        reg.release(self.a)
        reg.release(self.a)
        self.assertEqual(peer_threads(), before)

    def test_release_forgets_the_dummy_thread_of_a_thread_started_with_thread(self):
        released = threading.Event()

        def body():
            threading.current_thread()  # logging does this: threading registers a dummy
            reg.release(self.a)
            released.set()

        def dummies() -> int:
            return sum(isinstance(t, threading._DummyThread) for t in threading.enumerate())

        reg = Registry()
        reg.add(self.a)
        before, dummies_before = threading.active_count(), dummies()
        _thread.start_new_thread(body, ())
        self.assertTrue(released.wait(TIMEOUT))
        self.assertEqual(threading.active_count(), before, "the dummy Thread stayed")
        self.assertEqual(dummies(), dummies_before)


class ListenerTest(unittest.TestCase):
    def test_bind_forms(self):
        for bind_ip, family in (("127.0.0.1", socket.AF_INET), ("*", None)):
            with self.subTest(bind_ip=bind_ip):
                listener = open_listener(bind_ip, 0)
                self.addCleanup(listener.close)
                if family is not None:
                    self.assertEqual(listener.family, family)
                self.assertGreater(listener.getsockname()[1], 0)

    def test_plain_host(self):
        self.assertEqual(_plain_host("::ffff:127.0.0.1"), "127.0.0.1")
        self.assertEqual(_plain_host("::1"), "::1")
        self.assertEqual(_plain_host("10.0.0.1"), "10.0.0.1")


class RefusingAcceptorTest(unittest.TestCase):
    def test_refused_connections_are_closed_and_never_registered(self):
        listener = open_listener("127.0.0.1", 0)
        port = listener.getsockname()[1]
        registry = Registry()
        events = EventQueue()
        self.addCleanup(events.close)
        cfg = ConnectionConfig(events=events, writer=None)
        acceptor = Acceptor(listener, cfg, registry, refuse=lambda: True)
        acceptor.start()
        self.addCleanup(acceptor.stop)
        client = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        self.addCleanup(client.close)
        self.assertEqual(client.recv(1), b"", "a refused connection reads EOF")
        self.assertEqual(len(registry), 0)
        acceptor.stop()
        self.assertFalse(acceptor.thread.is_alive())


if __name__ == "__main__":
    unittest.main()
