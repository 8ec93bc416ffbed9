"""transport/acceptor.py: the Registry stop() relies on, the listener, the refusal path."""
import socket
import threading
import unittest

from godot_ws.transport.acceptor import Acceptor, Registry, _plain_host, open_listener
from godot_ws.transport.connection import ConnectionConfig
from godot_ws.transport.events import EventQueue
from tests.support import TIMEOUT


class RegistryTest(unittest.TestCase):
    def setUp(self):
        self.a, self.b = socket.socketpair()
        self.addCleanup(self.a.close)
        self.addCleanup(self.b.close)
        self.thread = threading.Thread(target=lambda: None)

    def test_add_adopt_release(self):
        reg = Registry()
        reg.add(self.a, self.thread)
        self.assertEqual(reg.snapshot(), [(self.a, self.thread, None)])
        conn = object()
        self.assertTrue(reg.adopt(self.a, conn))
        self.assertEqual(reg.snapshot(), [(self.a, self.thread, conn)])
        self.assertEqual(len(reg), 1)
        reg.release(self.a)
        reg.release(self.a)  # twice is harmless
        self.assertEqual((len(reg), reg.snapshot()), (0, []))

    def test_adopt_refuses_after_close_or_release(self):
        reg = Registry()
        self.assertFalse(reg.adopt(self.a, object()), "never added")
        reg.add(self.a, self.thread)
        reg.close()  # stop() took its snapshot: a late upgrade must drop itself
        self.assertFalse(reg.adopt(self.a, object()))
        self.assertEqual(reg.snapshot(), [(self.a, self.thread, None)])

    def test_snapshot_is_a_copy(self):
        reg = Registry()
        reg.add(self.a, self.thread)
        snap = reg.snapshot()
        reg.add(self.b, self.thread)
        self.assertEqual(len(snap), 1)
        self.assertEqual(len(reg.snapshot()), 2)


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
