"""``WebSocketServer.stop()`` racing the rest: called from a signal handler while
``poll()`` runs, and against a peer that finishes its handshake (then parks)
after stop() took its snapshot of the connections."""
import signal
import threading
import unittest

from godot_ws.server import WebSocketServer
from godot_ws.transport.acceptor import peer_threads
from tests.support import SAMPLE_KEY, TIMEOUT, ServerTestCase, masked_frame, poll_until


@unittest.skipUnless(hasattr(signal, "setitimer"), "needs setitimer")
class StopFromSignalHandlerTests(unittest.TestCase):
    """A SIGTERM/SIGINT handler that calls ``server.stop()`` runs on the polling
    thread, inside ``poll()``: ``poll()`` must return, and no signal may fire
    after ``stop()`` returned."""

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



class StopParkedPeerTests(ServerTestCase):
    """stop() must end a peer thread that finished its handshake just after
    stop() took its snapshot of the connections, and then parked.

    stop() shuts the socket of a peer still in its handshake; if that peer then
    completes the upgrade (its 101 raced the shutdown) and its first read already
    holds more messages than the input limits, it parks for back-pressure. Only
    ``abort()`` wakes a parked thread, and stop() never aborts it: the thread and
    its socket outlive stop().
    """

    def configure(self, server):
        self.release_hook = threading.Event()
        self.in_hook = threading.Event()

        def hook(*_):
            self.in_hook.set()
            return self.release_hook.wait(TIMEOUT)
        server.handshake_hook = hook

    def test_stop_ends_peer_that_parked_after_snapshot(self):
        registry = self.server._registry
        real_snapshot = registry.snapshot
        seen = {}

        def snapshot():
            items = real_snapshot()
            if not seen:  # the first snapshot: the peer is mid-handshake
                seen["items"] = items
                self.release_hook.set()
                step = threading.Event()
                # Let the peer finish its upgrade and park (or end) before stop()
                # goes on: what a slower stop() thread would see. Bounded.
                for _ in range(int(TIMEOUT / 0.01)):
                    conn = next((c for _, c in real_snapshot() if c is not None), None)
                    if conn is not None and conn.parked:
                        seen["conn"] = conn
                        break
                    if not real_snapshot():  # the peer thread ended
                        break
                    step.wait(0.01)
            return items
        registry.snapshot = snapshot

        s = self.raw()
        request = ("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   f"Sec-WebSocket-Key: {SAMPLE_KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode()
        # More messages than input_max_packets (1024 by default), all in the first reads.
        s.sendall(request + masked_frame(2, b"") * 2000)
        self.assertTrue(self.in_hook.wait(TIMEOUT), "test setup: the hook was not called")
        self.assertEqual(len(real_snapshot()), 1)
        self.server.stop()
        self.assertEqual([c for _, c in seen["items"]], [None], "test setup: not mid-handshake")
        leaked = len(registry) > 0
        if leaked:  # clean up what stop() left behind
            seen["conn"].abort()
            registry.wait_empty(TIMEOUT)
        self.assertFalse(leaked, "stop() returned with the parked peer thread alive")


class StopWaitsForPeerThreadsTests(ServerTestCase):
    """stop() returns only once every peer thread has ended, including one
    still busy after its socket was shut down; none stays in ``threading``'s
    books either (the refusal's log line made it a dummy ``Thread`` there)."""

    def configure(self, server):
        self.in_hook = threading.Event()
        self.stop_waits = threading.Event()

        def hook(req, *_):
            if req.path != "/busy":
                return True
            self.in_hook.set()
            # Busy until stop() waits for the threads, and a while longer: a
            # stop() that did not wait would return meanwhile.
            self.stop_waits.wait(TIMEOUT)
            threading.Event().wait(0.5)
            return False  # refused: logged on the peer thread
        server.handshake_hook = hook

    def test_stop_returns_after_every_peer_thread_ended(self):
        registry = self.server._registry
        real_wait = registry.wait_empty

        def wait_empty(timeout):
            self.stop_waits.set()
            return real_wait(timeout)
        registry.wait_empty = wait_empty
        before = peer_threads()
        s = self.raw()
        s.sendall(("GET /busy HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   f"Sec-WebSocket-Key: {SAMPLE_KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        self.raw()  # accepted, its request never comes
        self.ws()   # upgraded, idle
        self.assertTrue(self.in_hook.wait(TIMEOUT), "test setup: the hook was not called")
        self.assertTrue(poll_until(self.server, lambda: peer_threads() == before + 3),
                        "test setup: three peer threads")
        dummies = sum(isinstance(t, threading._DummyThread) for t in threading.enumerate())
        with self.assertLogs("godot_ws", "WARNING"):
            self.server.stop()
        self.assertEqual(peer_threads(), before, "stop() returned before its peer threads ended")
        self.assertEqual(len(registry), 0)
        self.assertEqual(sum(isinstance(t, threading._DummyThread) for t in threading.enumerate()),
                         dummies, "a peer thread stayed in threading's books")


if __name__ == "__main__":
    unittest.main()


class StopInsideDispatchTests(ServerTestCase):
    """stop() called by a handler while poll() dispatches a batch (its writes are
    corked) must still send the close frame, after the handler's reply."""

    def test_close_frame_sent_when_stopping_from_a_handler(self):
        from wsproto.events import BytesMessage, CloseConnection
        client = self.ws()
        self.rec.wait("client_connected")

        calls = []

        def on_data(peer_id):
            calls.append(peer_id)
            self.server.get_peer(peer_id).put_packet(b"reply")
            self.server.stop()
        self.server.connect("data_received", on_data)
        # Two messages in one write: one batch of two, dispatched corked.
        client.send_raw(masked_frame(2, b"a") + masked_frame(2, b"b"))
        poll_until(self.server, lambda: not self.server.is_listening(), TIMEOUT)
        self.assertFalse(self.server.is_listening(), "the handler did not run")
        self.assertEqual(len(calls), 1, "data_received fired after stop()")
        events = []
        while True:
            event = client.next_event()
            if event is None:
                break
            events.append(event)
        self.assertEqual(events[:1], [BytesMessage(data=b"reply")])
        self.assertTrue(any(isinstance(e, CloseConnection) and e.code == 1000 for e in events),
                        f"no close frame before EOF: {events}")


class StopInsideMultiplayerDispatchTests(ServerTestCase):
    """Multiplayer mode: stop() in a peer_packet handler ends the batch too."""
    mp = True

    def test_no_peer_packet_after_stop_in_handler(self):
        import struct
        client = self.ws()
        self.rec.wait("peer_connected")
        peer_id = self.rec.of("peer_connected")[0][0]
        calls = []

        def on_packet(sender):
            calls.append(sender)
            self.server.stop()
        self.server.connect("peer_packet", on_packet)
        packet = struct.pack("<Bii", 0, peer_id, 1) + b"x"
        client.send_raw(masked_frame(2, packet) + masked_frame(2, packet))
        poll_until(self.server, lambda: not self.server.is_listening(), TIMEOUT)
        self.assertFalse(self.server.is_listening(), "the handler did not run")
        self.assertEqual(calls, [peer_id], "peer_packet fired after stop()")
