"""The handshake hook and trusted proxies (additions Godot 3 lacks)."""
import base64
import os

from godot_ws.enums import Error
from tests.support import ServerTestCase, read_all, read_http_head


def upgrade(path: str, *extra: str) -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [f"GET {path} HTTP/1.1", "Host: x", "Upgrade: websocket", "Connection: Upgrade",
             f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13", *extra]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


class HookTests(ServerTestCase):
    def configure(self, server):
        self.seen = []
        server.handshake_hook = self.hook
        server.trusted_proxies = ["127.0.0.1"]

    def hook(self, request, address, protocol):
        self.seen.append((request.path, address[0], protocol))
        if "token=good" in request.path:
            return {"user": "alice"}
        if "token=teapot" in request.path:
            return (418, "no coffee")
        return False

    def test_accepted_request_stays_readable(self):
        s = self.raw()
        s.sendall(upgrade("/play?token=good", "Cookie: a=b", "X-Forwarded-For: 203.0.113.7"))
        head, _ = read_http_head(s)
        self.assertTrue(head.startswith(b"HTTP/1.1 101 "))
        (pid, _), = self.rec.wait("client_connected")
        peer = self.server.get_peer(pid)
        self.assertEqual(peer.get_request_path(), "/play?token=good")
        self.assertEqual(peer.get_request_headers()["cookie"], "a=b")
        self.assertEqual(peer.get_handshake_data(), {"user": "alice"})
        self.assertEqual(self.server.get_peer_address(pid), "203.0.113.7")
        self.assertEqual(self.seen, [("/play?token=good", "203.0.113.7", "")])

    def test_refused_clients_get_status_and_no_signal(self):
        with self.assertLogs("godot_ws", "WARNING"):
            for path, status in (("/play?token=bad", b"403 Forbidden"),
                                 ("/play?token=teapot", b"418 I'm a Teapot")):
                s = self.raw()
                s.sendall(upgrade(path))
                answer = read_all(s, 5)
                self.assertTrue(answer.startswith(b"HTTP/1.1 " + status + b"\r\n"), answer)
            self.assertTrue(answer.endswith(b"no coffee\n"))
        self.server.poll(0.2)
        self.assertEqual(self.rec.calls, [])
        self.assertEqual(self.server.get_peer_ids(), [])

    def test_hook_must_be_callable(self):
        self.server.stop()
        self.server.handshake_hook = "nope"
        self.assertRaises(TypeError, self.server.listen, 0)
        self.server.handshake_hook = None
        self.assertEqual(self.server.listen(0), Error.OK)
