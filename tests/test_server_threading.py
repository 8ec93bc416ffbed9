"""WebSocketServer.poll() under misuse: several polling threads, poll() inside a
handler, and Ctrl-C (KeyboardInterrupt) in the middle of poll() or stop()."""
import signal
import threading
import time
import unittest

from wsproto.events import CloseConnection

from tests.support import TIMEOUT, ServerTestCase


def queued(server, count):
    """Wait (without polling) until the peer threads queued ``count`` events."""
    end = time.monotonic() + TIMEOUT
    while time.monotonic() < end:
        if len(server._events._events) >= count:
            return True
        time.sleep(0.005)
    return False


class SeveralPollersTests(ServerTestCase):
    def test_concurrent_pollers_are_refused_at_once_and_nothing_is_lost(self):
        peers, per_peer = 4, 150
        got = {}

        def on_data(pid):
            peer = self.server.get_peer(pid)
            while peer.get_available_packet_count():
                got.setdefault(pid, []).append(int(peer.get_packet()))
        self.server.connect("data_received", on_data)
        clients = [self.ws() for _ in range(peers)]
        self.rec.wait("client_connected", peers)
        done = threading.Event()
        refused, slow_refusals, errors = [], [], []

        def poller():
            while not done.is_set():
                start = time.monotonic()
                try:
                    self.server.poll(2.0)
                except RuntimeError:
                    refused.append(1)
                    if time.monotonic() - start > 1.0:
                        slow_refusals.append(time.monotonic() - start)
                except Exception as exc:  # pragma: no cover - reported below
                    errors.append(exc)
        threads = [threading.Thread(target=poller) for _ in range(3)]
        for t in threads:
            t.start()
        try:
            for i in range(per_peer):
                for c in clients:
                    c.send(str(i).encode())
            end = time.monotonic() + TIMEOUT * 3
            while time.monotonic() < end and sum(map(len, got.values())) < peers * per_peer:
                time.sleep(0.01)
        finally:
            done.set()
            self.server.call_deferred("get_port")  # wakes the poller that waits
            for t in threads:
                t.join(TIMEOUT)
        self.assertFalse(any(t.is_alive() for t in threads), "a poller is stuck")
        self.assertEqual(errors, [])
        self.assertEqual(slow_refusals, [], "a second poller must be refused at once")
        self.assertGreater(len(refused), 0)
        self.assertEqual(sorted(map(len, got.values())), [per_peer] * peers)
        for values in got.values():
            self.assertEqual(values, list(range(per_peer)), "order per peer")


class PollInsideHandlerTests(ServerTestCase):
    def test_poll_in_a_handler_continues_the_batch_in_order(self):
        a, b = self.ws(), self.ws()
        self.rec.wait("client_connected", 2)
        order = []

        def on_data(pid):
            data = self.server.get_peer(pid).get_packet()
            order.append(data)
            if data == b"a1":
                self.server.poll(0)
        self.server.connect("data_received", on_data)
        a.sock.sendall(b"".join(a.conn.send(_msg(x)) for x in (b"a1", b"a2", b"a3")))
        self.assertTrue(queued(self.server, 1))
        b.send(b"b1")
        self.assertTrue(queued(self.server, 2))
        self.server.poll(0)
        self.assertEqual(order, [b"a1", b"a2", b"a3", b"b1"])


class InterruptTests(ServerTestCase):
    def test_ctrl_c_in_a_handler_keeps_the_rest_of_the_batch(self):
        a, b = self.ws(), self.ws()
        self.rec.wait("client_connected", 2)  # in either order: each has its own thread
        order, senders = [], []
        interrupt = [True]

        def on_data(pid):
            senders.append(pid)
            order.append(self.server.get_peer(pid).get_packet())
            if interrupt[0]:
                interrupt[0] = False
                raise KeyboardInterrupt
        self.server.connect("data_received", on_data)
        a.sock.sendall(b"".join(a.conn.send(_msg(x)) for x in (b"a1", b"a2")))
        self.assertTrue(queued(self.server, 1))
        b.send(b"b1")
        b.close()
        self.assertTrue(queued(self.server, 4))  # Data a, Data b, CloseRequest b, Disconnected b
        with self.assertRaises(KeyboardInterrupt):
            self.server.poll(0)
        self.assertEqual(order, [b"a1"])
        self.server.poll(0)
        self.assertEqual(order, [b"a1", b"a2", b"b1"])
        self.assertEqual(len(self.rec.of("client_disconnected")), 1)
        self.assertEqual(self.server.get_peer_ids(), [senders[0]])  # a's: b left

    @unittest.skipUnless(hasattr(signal, "setitimer"), "needs setitimer")
    def test_ctrl_c_in_the_wait_leaves_the_server_working(self):
        previous = signal.signal(signal.SIGALRM, _interrupt)
        try:
            signal.setitimer(signal.ITIMER_REAL, 0.1)
            with self.assertRaises(KeyboardInterrupt):
                self.server.poll(TIMEOUT)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
        c = self.ws()
        self.rec.wait("client_connected")
        c.send(b"after")
        self.rec.wait("data_received")
        errors = []

        def poll_elsewhere():
            try:
                self.server.poll(0)
            except RuntimeError as exc:
                errors.append(exc)
        t = threading.Thread(target=poll_elsewhere)
        t.start()
        t.join(TIMEOUT)
        self.assertEqual(errors, [], "the interrupted poll() must not keep its claim")

    def test_ctrl_c_in_stop_then_stop_again_finishes(self):
        clients = [self.ws() for _ in range(3)]
        self.rec.wait("client_connected", 3)
        conns = [c for _, c in self.server._registry.snapshot()]
        real = conns[1].stop_close

        def interrupted(code=1000):
            conns[1].stop_close = real
            raise KeyboardInterrupt
        conns[1].stop_close = interrupted
        with self.assertRaises(KeyboardInterrupt):
            self.server.stop(1001)
        self.assertFalse(self.server.is_listening())
        self.server.poll(0)  # a half-stopped server polls quietly
        self.server.stop()  # finishes, with the first call's close code
        for c in clients:
            ev = c.next_event()
            self.assertIsInstance(ev, CloseConnection)
            self.assertEqual(ev.code, 1001)
        self.assertEqual(self.rec.of("client_disconnected"), [])
        self.assertEqual(self.server.listen(0), 0)  # and it can listen again


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _msg(data):
    from wsproto.events import Message
    return Message(data=data)


if __name__ == "__main__":
    unittest.main()
