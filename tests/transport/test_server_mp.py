"""Multiplayer mode over real sockets: exact bytes of joins, relays and leaves (spec §5)."""
import struct
import unittest

from wsproto.events import BytesMessage

from godot_ws.enums import Error
from tests.support import ServerTestCase, poll_until

H = struct.Struct("<Bii")


def sys_msg(type_, peer_id):
    return H.pack(type_, 1, 0) + struct.pack("<i", peer_id)


def pkt(frm, to, payload=b""):
    return H.pack(0, frm, to) + payload


class MultiplayerSocketTests(ServerTestCase):
    mp = True

    def join(self):
        """Connect a raw client; return (client, its id) after the join messages."""
        c = self.ws()
        n = len(self.rec.of("peer_connected")) + 1
        self.rec.wait("peer_connected", n)
        first = c.next_event()
        self.assertIsInstance(first, BytesMessage)
        type_, frm, to = H.unpack_from(first.data)
        self.assertEqual((type_, frm, to), (3, 1, 0))
        peer_id = struct.unpack_from("<i", first.data, 9)[0]
        self.assertEqual(self.rec.of("peer_connected")[-1], (peer_id,))
        self.assertEqual(c.next_event().data, sys_msg(1, 1))
        return c, peer_id

    def next(self, c, timeout=5.0):
        """The client's next event, polling the server meanwhile."""
        for _ in range(int(timeout / 0.05)):
            got = c.next_event(0.02)
            if got is not None:
                return got
            self.server.poll(0.03)
        return None

    def expect(self, c, frames):
        for f in frames:
            got = self.next(c)
            self.assertIsInstance(got, BytesMessage)
            self.assertEqual(got.data, f)

    def expect_nothing(self, c):
        # A marker from the server proves nothing else was queued before it.
        self.server.set_target_peer(0)
        self.assertEqual(self.server.put_packet(b"MARK"), Error.OK)
        got = self.next(c)
        self.assertEqual(got.data, pkt(1, 0, b"MARK"))

    def test_join_sequence_and_leave(self):
        a, ida = self.join()
        b, idb = self.join()
        self.expect(b, [sys_msg(1, ida)])
        self.expect(a, [sys_msg(1, idb)])
        c, idc = self.join()
        first, second = sorted([(ida, a), (idb, b)])
        self.expect(c, [sys_msg(1, first[0]), sys_msg(1, second[0])])
        self.expect(a, [sys_msg(1, idc)])
        b.close(1000)
        self.assertEqual(self.rec.wait("peer_disconnected"), [(idb,)])
        self.assertEqual(self.rec.of("client_close_request"), [(idb, 1000, "")])
        self.expect(a, [sys_msg(2, idb)])
        self.expect(c, [sys_msg(2, idb)])
        self.assertFalse(self.server.has_peer(idb))

    def test_relay_table(self):
        a, ida = self.join()
        b, idb = self.join()
        c, idc = self.join()
        self.expect(a, [sys_msg(1, idb), sys_msg(1, idc)])
        self.expect(b, [sys_msg(1, ida), sys_msg(1, idc)])
        self.expect(c, sorted([sys_msg(1, ida), sys_msg(1, idb)],
                              key=lambda f: struct.unpack_from("<i", f, 9)[0]))
        server_got = []
        self.server.connect("peer_packet", lambda src: server_got.append(
            (self.server.get_packet_peer(), self.server.get_packet())))

        def send(frame):
            a.send(frame)
            self.server.poll(0.2)

        send(pkt(ida, 1, b"\x11"))                      # server only
        send(pkt(ida, 0, b"\x22"))                      # broadcast
        self.expect(b, [pkt(ida, 0, b"\x22")])
        self.expect(c, [pkt(ida, 0, b"\x22")])
        send(pkt(ida, -idb, b"\x33"))                   # all but B
        self.expect(c, [pkt(ida, -idb, b"\x33")])
        send(pkt(ida, -1, b"\x44"))                     # all but the server
        self.expect(b, [pkt(ida, -1, b"\x44")])
        self.expect(c, [pkt(ida, -1, b"\x44")])
        send(pkt(ida, idb, b"\x55"))                    # one peer
        self.expect(b, [pkt(ida, idb, b"\x55")])
        with self.assertLogs("godot_ws", "ERROR") as logs:
            send(pkt(idb, 1, b"forged"))
            send(H.pack(1, ida, 0) + b"sys")
            send(b"\x00\x01")
            send(pkt(ida, ida, b"self"))
            send(pkt(ida, 12345, b"nobody"))
            poll_until(self.server, lambda: len(logs.output) >= 5, 5)
        self.assertEqual(len(logs.output), 5)
        send(pkt(ida, 1))                               # empty payload
        poll_until(self.server, lambda: len(server_got) >= 4, 5)
        self.assertEqual(server_got, [(ida, b"\x11"), (ida, b"\x22"), (ida, b"\x33"),
                                      (ida, b"")])
        self.expect_nothing(a)
        self.expect_nothing(b)
        self.expect_nothing(c)
        self.assertTrue(self.server.has_peer(ida))

    def test_server_put_packet_rules(self):
        a, ida = self.join()
        b, idb = self.join()
        self.expect(a, [sys_msg(1, idb)])
        self.expect(b, [sys_msg(1, ida)])
        s = self.server
        s.set_target_peer(0)
        self.assertEqual(s.put_packet(b"\xaa\xbb"), Error.OK)
        self.assertEqual(s.put_var("hi"), Error.OK)
        for c in (a, b):
            self.expect(c, [pkt(1, 0, b"\xaa\xbb"),
                            pkt(1, 0, bytes.fromhex("040000000200000068690000"))])
        s.set_target_peer(1)
        self.assertEqual(s.put_packet(b"self"), Error.OK)
        s.set_target_peer(-ida)
        self.assertEqual(s.put_packet(b"notA"), Error.OK)
        self.expect(b, [pkt(1, -ida, b"notA")])
        s.set_target_peer(ida)
        self.assertEqual(s.put_packet(b"toA"), Error.OK)
        self.expect(a, [pkt(1, ida, b"toA")])
        s.set_target_peer(999)
        with self.assertLogs("godot_ws", "ERROR"):
            self.assertEqual(s.put_packet(b"x"), Error.FAILED)
        self.expect_nothing(a)
        self.expect_nothing(b)

    def test_raw_mode_signals_do_not_fire(self):
        raw_signals = []
        for name in ("client_connected", "client_disconnected", "data_received"):
            self.server.connect(name, lambda *args, n=name: raw_signals.append(n))
        a, ida = self.join()
        got = []
        self.server.connect("peer_packet", lambda src: got.append(self.server.get_packet()))
        a.send(pkt(ida, 1, b"data"))
        poll_until(self.server, lambda: got, 5)
        self.assertEqual(got, [b"data"])
        a.close()
        self.rec.wait("peer_disconnected")
        self.assertEqual(raw_signals, [])

    def test_put_packet_from_another_thread_while_peers_come_and_go(self):
        import threading
        errors = []
        stop = threading.Event()

        def sender():
            try:
                while not stop.is_set():
                    self.server.set_target_peer(0)
                    self.server.put_packet(b"tick")
            except Exception as exc:  # reported on the test thread
                errors.append(exc)
        t = threading.Thread(target=sender)
        t.start()
        try:
            for _ in range(15):
                c, _ = self.join()
                c.sock.close()
                n = len(self.rec.of("peer_disconnected")) + 1
                self.rec.wait("peer_disconnected", n)
        finally:
            stop.set()
            t.join(10)
        self.assertEqual(errors, [])

    def test_announce_peers_off(self):
        self.server.stop()
        self.server.announce_peers = False
        self.server.listen(0, (), True)
        self.port = self.server.get_port()
        a, ida = self.join()
        b, idb = self.join()
        self.expect_nothing(a)
        self.expect_nothing(b)

    def test_relay_policy_drop_and_redirect(self):
        self.server.stop()
        self.server.relay_policy = lambda frm, to, payload: (
            False if payload == b"drop" else 1 if payload == b"mine" else True)
        self.server.listen(0, (), True)
        self.port = self.server.get_port()
        a, ida = self.join()
        b, idb = self.join()
        self.expect(a, [sys_msg(1, idb)])
        self.expect(b, [sys_msg(1, ida)])
        got = []
        self.server.connect("peer_packet", lambda src: got.append(self.server.get_packet()))
        a.send(pkt(ida, 0, b"drop"))
        a.send(pkt(ida, 0, b"mine"))
        a.send(pkt(ida, idb, b"pass"))
        self.expect(b, [pkt(ida, idb, b"pass")])
        poll_until(self.server, lambda: got, 5)
        self.assertEqual(got, [b"mine"])
        self.expect_nothing(b)


if __name__ == "__main__":
    unittest.main()
