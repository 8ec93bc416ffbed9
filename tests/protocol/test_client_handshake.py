"""The client's upgrade request and its checks of the server's answer (pure)."""
from __future__ import annotations

import unittest

from godot_ws.protocol import client_handshake as ch
from godot_ws.protocol.handshake import accept_key, accept_response

KEY = "dGhlIHNhbXBsZSBub25jZQ=="


class ParseUrlTest(unittest.TestCase):
    def test_valid(self):
        t = ch.parse_url("ws://example.com/chat?room=1")
        self.assertEqual((t.tls, t.host, t.port, t.path, t.host_header),
                         (False, "example.com", 80, "/chat?room=1", "example.com"))
        t = ch.parse_url("wss://[::1]:8443")
        self.assertEqual((t.tls, t.host, t.port, t.path, t.host_header, t.is_ip),
                         (True, "::1", 8443, "/", "[::1]:8443", True))
        self.assertEqual(ch.parse_url("WSS://h").port, 443)
        self.assertEqual(ch.parse_url("ws://h:443").host_header, "h:443")

    def test_invalid(self):
        for url in ("http://h/", "h:80", "ws://", "ws://:80/", "ws://h:0", "ws://h:65536",
                    "ws://h:x", "ws://h:"):
            self.assertIsNone(ch.parse_url(url), url)


class RequestTest(unittest.TestCase):
    def test_godot_lines_in_godot_order(self):
        target = ch.parse_url("ws://127.0.0.1:9080/game")
        self.assertEqual(ch.build_request(target, KEY, ("a", "b"), ("X-Token: t",)),
                         b"GET /game HTTP/1.1\r\nHost: 127.0.0.1:9080\r\nUpgrade: websocket\r\n"
                         b"Connection: Upgrade\r\nSec-WebSocket-Key: " + KEY.encode() +
                         b"\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: a,b\r\n"
                         b"X-Token: t\r\n\r\n")

    def test_new_key_is_16_random_bytes(self):
        import base64
        self.assertEqual(len(base64.b64decode(ch.new_key())), 16)
        self.assertNotEqual(ch.new_key(), ch.new_key())

    def test_custom_header_checks(self):
        self.assertEqual(ch.check_custom_headers(["A: b"]), ("A: b",))
        for bad in (["A"], [": b"], ["A: b\r\nC: d"]):
            with self.assertRaises(ValueError):
                ch.check_custom_headers(bad)
        with self.assertRaises(TypeError):
            ch.check_custom_headers("A: b")
        with self.assertRaises(TypeError):
            ch.check_custom_headers([b"A: b"])


class ResponseTest(unittest.TestCase):
    def test_godot_server_answers(self):
        self.assertEqual(ch.check_response(accept_response(KEY), KEY), "")
        self.assertEqual(ch.check_response(accept_response(KEY, "b"), KEY, ("a", "b")), "b")

    def test_refusals(self):
        good = f"Sec-WebSocket-Accept: {accept_key(KEY)}\r\n"
        cases = {
            "HTTP/1.1 400 Bad Request\r\n\r\n": "instead of",
            "HTTP/1.0 101 OK\r\nUpgrade: websocket\r\nConnection: upgrade\r\n" + good: "instead of",
            "HTTP/1.1 101 OK\r\nConnection: upgrade\r\n" + good: "Upgrade",
            "HTTP/1.1 101 OK\r\nUpgrade: websocket\r\n" + good: "Connection",
            "HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: upgrade\r\n": "Accept",
            "HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: upgrade\r\nbroken\r\n": "invalid header",
            ("HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: upgrade\r\n" + good
             + "Sec-WebSocket-Extensions: permessage-deflate\r\n"): "extension",
        }
        for head, why in cases.items():
            with self.assertRaises(ch.ResponseError) as cm:
                ch.check_response((head + "\r\n").encode(), KEY)
            self.assertIn(why, str(cm.exception), head)

    def test_subprotocol_rules_are_godots(self):
        with self.assertRaisesRegex(ch.ResponseError, "none was offered"):
            ch.check_response(accept_response(KEY, "a"), KEY)
        with self.assertRaisesRegex(ch.ResponseError, "requires one"):
            ch.check_response(accept_response(KEY), KEY, ("a",))
        with self.assertRaisesRegex(ch.ResponseError, "not one of a"):
            ch.check_response(accept_response(KEY, "b"), KEY, ("a",))

    def test_connection_token_list_and_case(self):
        head = (f"HTTP/1.1 101 Switching Protocols\r\nUPGRADE: WebSocket\r\n"
                f"connection: keep-alive, Upgrade\r\nSec-WebSocket-Accept: {accept_key(KEY)}\r\n\r\n")
        self.assertEqual(ch.check_response(head.encode(), KEY), "")


if __name__ == "__main__":
    unittest.main()
