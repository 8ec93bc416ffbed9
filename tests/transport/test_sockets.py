"""Socket helpers: closing with unread input still ends with EOF, not a reset."""
from __future__ import annotations

import socket
import unittest

from godot_ws.transport.sockets import close_quietly, shutdown
from tests.support import TIMEOUT


class SocketHelperTests(unittest.TestCase):
    def test_close_quietly_reads_pending_input_so_the_peer_sees_eof(self):
        listener = socket.create_server(("127.0.0.1", 0))
        client = socket.create_connection(listener.getsockname(), timeout=TIMEOUT)
        server, _ = listener.accept()
        listener.close()
        client.sendall(b"unread request bytes")
        close_quietly(server)
        self.assertEqual(client.recv(10), b"")  # EOF; a reset would raise here
        client.close()

    def test_shutdown_wakes_a_blocked_recv_and_ignores_errors(self):
        a, b = socket.socketpair()
        shutdown(a)
        self.assertEqual(a.recv(1), b"")
        a.close()
        shutdown(a)  # closed: no exception
        b.close()


if __name__ == "__main__":
    unittest.main()
