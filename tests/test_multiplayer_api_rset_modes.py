"""A client's rset on a @remote method must not overwrite it (Godot refuses: mode 0), and rpc
on a remote var is refused by mode too."""
import unittest

from godot_ws.multiplayer_api import MultiplayerAPI, remote
from godot_ws.protocol import rpc
from godot_ws.protocol.rpc import Command
from tests.test_multiplayer_api import FakePeer

A = 1114054110


class Node:
    nick = remote("")

    def __init__(self):
        self.ran = []

    @remote
    def hello(self, x):
        self.ran.append(x)


class RsetOnMethodTest(unittest.TestCase):
    def setUp(self):
        self.peer = FakePeer(1)
        self.api = MultiplayerAPI()
        self.api.network_peer = self.peer
        self.peer.emit_signal("peer_connected", A)
        self.node = Node()
        self.api.register("Main", self.node)

    def receive(self, command, tail):
        self.peer.inbox.append((A, rpc.with_inline_path(command, tail, "Main")))
        self.api.poll(0)

    def test_rset_of_a_remote_method_is_refused_as_godot(self):
        # Godot 3.2.3: "RSET 'hello' is not allowed on node /root/Main from: A. Mode is 0, master is 1."
        with self.assertLogs("godot_ws", "ERROR") as logs:
            self.receive(Command.REMOTE_SET, rpc.encode_set_tail("hello", 5))
        self.assertIn("Mode is 0", logs.output[0])
        self.receive(Command.REMOTE_CALL, rpc.encode_call_tail("hello", ["after"]))
        self.assertEqual(self.node.ran, ["after"])  # the method still runs

    def test_rpc_of_a_remote_var_is_refused_by_mode_as_godot(self):
        # Godot 3.2.3: "RPC 'nick' is not allowed on node /root/Main from: A. Mode is 0, master is 1."
        with self.assertLogs("godot_ws", "ERROR") as logs:
            self.receive(Command.REMOTE_CALL, rpc.encode_call_tail("nick", ["x"]))
        self.assertIn("Mode is 0", logs.output[0])


if __name__ == "__main__":
    unittest.main()
