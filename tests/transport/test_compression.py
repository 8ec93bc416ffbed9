"""permessage-deflate: off by default (as Godot), negotiated when asked, bombs bounded."""
import base64
import os
import struct
import threading
import zlib

from websockets.sync.client import connect

from tests.support import ServerTestCase, echo_same_type, masked_frame, poll_until, read_http_head

OFFER = "permessage-deflate; client_max_window_bits"


def upgrade(extensions: str) -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    return ("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Sec-WebSocket-Extensions: {extensions}\r\n\r\n").encode()


def deflated(data: bytes) -> bytes:
    c = zlib.compressobj(wbits=-15)
    out = c.compress(data) + c.flush(zlib.Z_SYNC_FLUSH)
    assert out.endswith(b"\x00\x00\xff\xff")
    return out[:-4]


class CompressionTests(ServerTestCase):
    compression = True

    def configure(self, server):
        server.compression = self.compression
        server.connect("data_received", self.echo)

    def echo(self, pid):
        echo_same_type(self.server, pid)

    def head_for(self, extensions: str) -> bytes:
        s = self.raw()
        s.sendall(upgrade(extensions))
        head, _ = read_http_head(s)
        self.assertTrue(head.startswith(b"HTTP/1.1 101 "), head)
        return head

    def test_negotiated_and_echo(self):
        result = {}

        def client():
            with connect(f"ws://127.0.0.1:{self.port}", compression="deflate",
                         open_timeout=10) as ws:
                result["ext"] = ws.response.headers.get("Sec-WebSocket-Extensions")
                ws.send("hello " * 200)
                result["text"] = ws.recv()
                ws.send(bytes(60000))
                result["binary"] = ws.recv()
        t = threading.Thread(target=client)
        t.start()
        poll_until(self.server, lambda: not t.is_alive(), 20)
        t.join(5)
        self.assertEqual(result["ext"], "permessage-deflate; client_max_window_bits=15")
        self.assertEqual(result["text"], "hello " * 200)
        self.assertEqual(result["binary"], bytes(60000))

    def test_bad_offer_declined(self):
        head = self.head_for("permessage-deflate; server_max_window_bits=7")
        self.assertNotIn(b"Sec-WebSocket-Extensions", head)

    def test_decompression_bomb_closes_with_1009(self):
        c = self.ws()
        c.sock.close()
        s = self.raw()
        s.sendall(upgrade(OFFER))
        head, _ = read_http_head(s)
        self.assertIn(b"Sec-WebSocket-Extensions: permessage-deflate", head)
        bomb = deflated(bytes(50 * 1024 * 1024))    # ~50 KiB that inflates to 50 MiB
        self.assertLess(len(bomb), 65536)
        s.sendall(masked_frame(0x2, bomb, rsv=4))
        connected = self.rec.wait("client_disconnected", 2)
        self.assertEqual(connected[-1][1], False)
        s.settimeout(5)
        tail = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            tail += chunk
        self.assertEqual(tail[-4:], b"\x88\x02" + struct.pack("!H", 1009))


class CompressionOffTests(CompressionTests):
    compression = False

    def test_negotiated_and_echo(self):
        head = self.head_for(OFFER)
        self.assertNotIn(b"Sec-WebSocket-Extensions", head)

    test_bad_offer_declined = None
    test_decompression_bomb_closes_with_1009 = None
