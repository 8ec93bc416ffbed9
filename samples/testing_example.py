"""Testing a server with godot_ws.testing: run with python -m unittest samples/testing_example.py"""
import unittest

from godot_ws.testing import WebSocketTestCase


class EchoTest(WebSocketTestCase):
    def configure_server(self, server):                  # before listen(0) on 127.0.0.1
        server.connect("data_received", lambda id: server.get_peer(id).put_packet(
            server.get_peer(id).get_packet()))

    def test_echo(self):
        client = self.client()                           # connected, and seen by the server
        client.get_peer(1).put_packet(b"ping")
        self.wait_for("data_received", source=client)    # polls server and client, bounded
        self.assertEqual(client.get_peer(1).get_packet(), b"ping")


class RelayTest(WebSocketTestCase):
    mp = True                                            # multiplayer mode, server and clients

    def test_players_see_each_other(self):
        alice = self.client()
        bob = self.client()
        seen = [self.wait_for("peer_connected", source=alice)[0] for _ in range(2)]
        self.assertEqual(seen, [1, bob.get_unique_id()])   # the server, then bob
        alice.set_target_peer(bob.get_unique_id())
        alice.put_packet(b"hi bob")
        self.wait_for("peer_packet", source=bob)
        self.assertEqual(bob.get_packet_peer(), alice.get_unique_id())
        self.assertEqual(bob.get_packet(), b"hi bob")


if __name__ == "__main__":
    unittest.main()
