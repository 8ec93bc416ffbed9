"""godot_ws.testing: the README's ten-line test, and what the helpers check."""
from __future__ import annotations

import unittest

from godot_ws.testing import WebSocketTestCase


class EchoTest(WebSocketTestCase):                       # the README example, as printed there
    def configure_server(self, server):
        server.connect("data_received", lambda id: server.get_peer(id).put_packet(
            server.get_peer(id).get_packet()))

    def test_echo(self):
        client = self.client()
        client.get_peer(1).put_packet(b"ping")
        self.wait_for("data_received", source=client)
        self.assertEqual(client.get_peer(1).get_packet(), b"ping")


class HelperTest(WebSocketTestCase):
    mp = True

    def test_each_emission_is_returned_once_in_order(self):
        a = self.client()
        b = self.client()
        self.assertEqual(self.emissions(self.server, "peer_connected"), [])  # taken by client()
        b.disconnect_from_host()
        (gone,) = self.wait_for("peer_disconnected")
        self.assertEqual(gone, b.get_unique_id())
        self.assertEqual(self.wait_for("peer_disconnected", source=a), (gone,))

    def test_a_signal_that_never_fires_fails_the_test(self):
        with self.assertRaises(self.failureException):
            self.wait_for("peer_packet", timeout=0.2)
        with self.assertRaises(ValueError):
            self.wait_for("no_such_signal")


class LeakCheckTest(unittest.TestCase):
    def test_a_left_running_thread_fails_teardown(self):
        import threading

        stop = threading.Event()

        class Leaky(WebSocketTestCase):
            timeout = 0.2

            def test_leak(self):
                threading.Thread(target=stop.wait, daemon=True).start()

        result = unittest.TestResult()
        Leaky("test_leak").run(result)
        stop.set()
        self.assertEqual(len(result.failures), 1, result.failures)
        self.assertIn("threads left running", result.failures[0][1])


if __name__ == "__main__":
    unittest.main()
