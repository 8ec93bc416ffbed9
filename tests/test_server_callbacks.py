"""Application callbacks that misbehave (a relay_policy that raises or answers
nonsense, handlers that raise) and listen() with bad settings: each costs only
what it touched, and nothing leaks."""
import math
import struct
import unittest

from godot_ws.server import WebSocketServer
from tests.support import ServerTestCase, fd_count, thread_count
from tests.test_server_threading import queued

H = struct.Struct("<Bii")


def pkt(frm, to, payload):
    return H.pack(0, frm, to) + payload


class RelayPolicyTests(ServerTestCase):
    mp = True

    def configure(self, server):
        def policy(frm, to, payload):
            if payload == b"raise":
                raise ZeroDivisionError("policy bug")
            if payload == b"junk":
                return "yes"
            if payload == b"far":
                return 2 ** 40
            return True
        server.relay_policy = policy

    def join(self):
        c = self.ws()
        n = len(self.rec.of("peer_connected")) + 1
        self.rec.wait("peer_connected", n)
        return c, self.rec.of("peer_connected")[-1][0]

    def test_a_bad_verdict_drops_only_its_packet(self):
        (a, a_id), (b, b_id) = self.join(), self.join()
        got = []
        self.server.connect("peer_packet", lambda pid: got.append(self.server.get_packet()))
        a.sock.sendall(b"".join(a.conn.send(_msg(pkt(a_id, 1, p)))
                                for p in (b"raise", b"junk", b"far", b"ok")))
        self.assertTrue(queued(self.server, 1))
        b.send(pkt(b_id, 1, b"from b"))
        b.close()
        self.assertTrue(queued(self.server, 3))
        with self.assertLogs("godot_ws", "ERROR") as logs:
            self.rec.wait("peer_disconnected")
        self.assertEqual(got, [b"ok", b"from b"])
        text = "\n".join(logs.output)
        self.assertEqual(text.count(f"peer {a_id}: relay_policy failed; packet dropped"), 3, text)
        self.assertIn("ZeroDivisionError", text)
        self.assertIn("not an int32 peer id", text)
        self.assertEqual(self.server.get_peer_ids(), [a_id], "no ghost peer")


class HandlerExceptionTests(ServerTestCase):
    def test_a_raising_handler_is_logged_and_the_batch_goes_on(self):
        a, b = self.ws(), self.ws()
        self.rec.wait("client_connected", 2)
        seen = []

        def on_data(pid):
            seen.append(self.server.get_peer(pid).get_packet())
            raise ValueError("handler bug")
        self.server.connect("data_received", on_data)
        a.send(b"a1")
        self.assertTrue(queued(self.server, 1))
        b.send(b"b1")
        b.close()
        self.assertTrue(queued(self.server, 4))
        with self.assertLogs("godot_ws", "ERROR") as logs:
            self.server.poll(0)
        self.assertEqual(seen, [b"a1", b"b1"])
        self.assertEqual(len(self.rec.of("client_disconnected")), 1)
        self.assertIn("ValueError: handler bug", "\n".join(logs.output))


class ListenValidationTests(unittest.TestCase):
    BAD = [("close_timeout", -1, ValueError), ("close_timeout", 0, ValueError),
           ("ping_interval", "5", TypeError), ("ping_timeout", math.nan, ValueError),
           ("output_stall_timeout", -5, ValueError), ("output_stall_timeout", None, TypeError)]

    def test_bad_settings_fail_before_anything_is_created(self):
        threads, fds = thread_count(), fd_count()
        for name, value, error in self.BAD:
            with self.subTest(name=name, value=value):
                server = WebSocketServer()
                setattr(server, name, value)
                with self.assertRaises(error) as cm:
                    server.listen(0)
                self.assertIn(name, str(cm.exception))
                self.assertFalse(server.is_listening())
                self.assertEqual(thread_count(), threads, "a thread leaked")
                self.assertEqual(fd_count(), fds, "a descriptor leaked")
        server = WebSocketServer()
        server.close_timeout = 1
        self.assertEqual(server.listen(0), 0)  # and a good value still works
        server.stop()
        self.assertEqual(fd_count(), fds)


def _msg(data):
    from wsproto.events import Message
    return Message(data=data)



if __name__ == "__main__":
    unittest.main()
