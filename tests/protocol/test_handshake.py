"""Godot's handshake checks, without sockets (spec §2)."""
import unittest

from godot_ws.protocol import handshake as hs

KEY = "dGhlIHNhbXBsZSBub25jZQ=="


def request(*headers: str, line: str = "GET /chat HTTP/1.1") -> bytes:
    return ("\r\n".join((line,) + headers) + "\r\n\r\n").encode()


GOOD = ("Host: x", "Upgrade: websocket", "Connection: Upgrade",
        f"Sec-WebSocket-Key: {KEY}", "Sec-WebSocket-Version: 13")


def check(raw: bytes) -> hs.Request:
    req = hs.parse_request(raw)
    hs.check_request(req)
    return req


class AcceptTests(unittest.TestCase):
    def test_rfc_sample_key(self):
        self.assertEqual(hs.accept_key(KEY), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")

    def test_exact_response_bytes(self):
        self.assertEqual(hs.accept_response(KEY),
                         b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                         b"Connection: Upgrade\r\nSec-WebSocket-Accept: "
                         b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n")
        self.assertTrue(hs.accept_response(KEY, "chat", ["X-A: 1"]).endswith(
            b"xOo=\r\nSec-WebSocket-Protocol: chat\r\nX-A: 1\r\n\r\n"))

    def test_good_request(self):
        req = check(request(*GOOD))
        self.assertEqual(req.path, "/chat")
        self.assertEqual(req.key, KEY)
        self.assertEqual(req.headers["upgrade"], "websocket")

    def test_upgrade_value_case_and_connection_value_ignored(self):
        check(request(*[h.replace("websocket", "WebSocket") if h.startswith("Upgrade")
                        else h.replace("Upgrade", "keep-alive") if h.startswith("Connection")
                        else h for h in GOOD]))

    def test_extra_request_line_tokens_ignored(self):
        check(request(*GOOD, line="GET /chat HTTP/1.1 extra"))

    def test_find_request_end(self):
        self.assertEqual(hs.find_request_end(b"GET / HTTP/1.1\r\n\r\nxx"), 18)
        self.assertEqual(hs.find_request_end(b"GET / HTTP/1.1\n\n"), -1)


class RejectTests(unittest.TestCase):
    def rejects(self, raw: bytes, status: int = 400) -> hs.HandshakeError:
        with self.assertRaises(hs.HandshakeError) as cm:
            check(raw)
        self.assertEqual(cm.exception.status, status)
        self.assertTrue(cm.exception.response().startswith(f"HTTP/1.1 {status} ".encode()))
        return cm.exception

    def test_too_few_lines(self):
        self.rejects(request("Host: x", "Upgrade: websocket"))

    def test_two_token_request_line_does_not_crash(self):
        self.rejects(request(*GOOD, line="GET /"))

    def test_method_and_version(self):
        self.rejects(request(*GOOD, line="get /chat HTTP/1.1"))
        self.rejects(request(*GOOD, line="POST /chat HTTP/1.1"))
        self.rejects(request(*GOOD, line="GET /chat HTTP/1.0"))

    def test_header_without_colon(self):
        self.rejects(request(*GOOD, "garbage"))

    def test_upgrade(self):
        self.rejects(request(*[h for h in GOOD if not h.startswith("Upgrade")]))
        self.rejects(request(*[("Upgrade: websocket, h2c" if h.startswith("Upgrade") else h)
                               for h in GOOD]))

    def test_version_gets_426(self):
        err = self.rejects(request(*[("Sec-WebSocket-Version: 8" if "Version" in h else h)
                                     for h in GOOD]), 426)
        self.assertIn(b"Sec-WebSocket-Version: 13\r\n", err.response())
        self.rejects(request(*[h for h in GOOD if "Version" not in h]), 426)

    def test_key(self):
        self.rejects(request(*[h for h in GOOD if "Key" not in h]))
        self.rejects(request(*[("Sec-WebSocket-Key: x" if "Key" in h else h) for h in GOOD]))
        self.rejects(request(*GOOD, f"Sec-WebSocket-Key: {KEY}"))  # joined: k1,k2

    def test_connection_required(self):
        self.rejects(request(*[h for h in GOOD if not h.startswith("Connection")]))

    def test_host_required_once(self):
        no_host = [h for h in GOOD if not h.startswith("Host")]
        err = self.rejects(request(*no_host, "X-Other: 1"))
        self.assertIn("Host", str(err))
        self.rejects(request(*no_host, "Host:"))
        self.rejects(request(*GOOD, "Host: y"))
        check(request(*no_host, "host: example.org:8080"))  # any case, with a port

    def test_oversize(self):
        self.rejects(request(*GOOD, "X-Pad: " + "a" * 4096), 431)

    def test_repeated_headers_joined(self):
        req = hs.parse_request(request(*GOOD, "X-A: 1", "x-a: 2"))
        self.assertEqual(req.headers["x-a"], "1,2")


class SubprotocolTests(unittest.TestCase):
    """The matrix of godot-probes/probe_handshake_matrix.out."""

    def test_matrix(self):
        cases = [((), None, ""),
                 ((), "chat", None),
                 (("chat", "superchat"), None, None),
                 (("chat", "superchat"), "superchat, chat", "superchat"),
                 (("chat", "superchat"), "foo, chat", "chat"),
                 (("chat", "superchat"), "foo", None),
                 (("chat",), "chat", "chat"),   # server ' chat ' is stripped at listen
                 (("Chat",), "chat", None),
                 (("chat",), "chat,,", "chat"),
                 (("chat",), "", None)]
        for server, client, expected in cases:
            with self.subTest(server=server, client=client):
                if expected is None:
                    self.assertRaises(hs.HandshakeError, hs.select_subprotocol, client, server)
                else:
                    self.assertEqual(hs.select_subprotocol(client, server), expected)


if __name__ == "__main__":
    unittest.main()


class ForwardedForTests(unittest.TestCase):
    NETS = hs.parse_trusted_proxies(["10.0.0.0/8", "127.0.0.1"])

    def test_untrusted_peer_header_ignored(self):
        self.assertEqual(hs.forwarded_client("1.2.3.4", {"x-forwarded-for": "9.9.9.9"},
                                             self.NETS), "1.2.3.4")

    def test_trusted_chain_walked_from_the_right(self):
        h = {"x-forwarded-for": "6.6.6.6, 5.5.5.5, 10.1.1.1"}
        self.assertEqual(hs.forwarded_client("127.0.0.1", h, self.NETS), "5.5.5.5")

    def test_no_trust_by_default_and_garbage(self):
        self.assertEqual(hs.forwarded_client("127.0.0.1", {"x-forwarded-for": "5.5.5.5"}, ()),
                         "127.0.0.1")
        self.assertEqual(hs.forwarded_client("127.0.0.1", {"x-forwarded-for": "junk"},
                                             self.NETS), "127.0.0.1")
        self.assertRaises(ValueError, hs.parse_trusted_proxies, ["nope"])
