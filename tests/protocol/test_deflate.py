"""protocol/deflate.py without sockets: offer negotiation and the bounded inflate.

A wsproto client with wsproto's own permessage-deflate compresses; a wsproto
server connection with ``BoundedPerMessageDeflate`` decompresses in memory.
"""
import unittest
import zlib

from wsproto import ConnectionType
from wsproto.connection import Connection
from wsproto.events import BytesMessage, CloseConnection, TextMessage
from wsproto.extensions import PerMessageDeflate
from wsproto.frame_protocol import CloseReason

from godot_ws.protocol.deflate import BoundedPerMessageDeflate, negotiate
from tests.support import masked_frame

LIMIT = 64 * 1024


class NegotiateTest(unittest.TestCase):
    def test_no_offer(self):
        self.assertEqual(negotiate(None, LIMIT), (None, None))
        self.assertEqual(negotiate("", LIMIT), (None, None))

    def test_accepted_offers_and_the_response(self):
        cases = {
            "permessage-deflate": "permessage-deflate",
            "permessage-deflate; client_max_window_bits":
                "permessage-deflate; client_max_window_bits=15",
            "permessage-deflate; client_no_context_takeover":
                "permessage-deflate; client_no_context_takeover",
            # the first acceptable offer of several wins
            "permessage-deflate; server_max_window_bits=10, permessage-deflate":
                "permessage-deflate",
        }
        for offer, response in cases.items():
            with self.subTest(offer=offer):
                ext, answer = negotiate(offer, LIMIT)
                self.assertIsInstance(ext, BoundedPerMessageDeflate)
                self.assertTrue(ext.enabled())
                self.assertEqual(ext.max_size, LIMIT)
                self.assertEqual(answer, response)

    def test_unacceptable_offers_are_declined(self):
        for offer in ("x-webkit-deflate-frame", "permessage-deflate; server_max_window_bits=7",
                      "permessage-d\u00e9flate"):
            with self.subTest(offer=offer):
                self.assertEqual(negotiate(offer, LIMIT), (None, None))


class BoundedInflateTest(unittest.TestCase):
    def pair(self, offer: str = "permessage-deflate", limit: int = LIMIT) -> None:
        ext, answer = negotiate(offer, limit)
        self.server = Connection(ConnectionType.SERVER, extensions=[ext])
        client_ext = PerMessageDeflate()
        client_ext.finalize(answer)
        self.client = Connection(ConnectionType.CLIENT, extensions=[client_ext])

    def deliver(self, *messages: object) -> list:
        wire = b"".join(self.client.send(m) for m in messages)
        self.server.receive_data(wire)
        return list(self.server.events())

    def assert_closed_with(self, events: list, reason: CloseReason) -> None:
        closes = [e for e in events if isinstance(e, CloseConnection)]
        self.assertEqual([c.code for c in closes], [reason])

    def test_messages_inflate_to_what_was_sent(self):
        self.pair()
        text = "caf\u00e9 " * 1000
        events = self.deliver(BytesMessage(data=b"a" * 1000), TextMessage(data=text))
        self.assertEqual([e.data for e in events], [b"a" * 1000, text])

    def test_exactly_the_limit_passes_one_more_byte_closes_1009(self):
        self.pair()
        events = self.deliver(BytesMessage(data=bytes(LIMIT)))
        self.assertEqual([len(e.data) for e in events], [LIMIT])
        self.assert_closed_with(self.deliver(BytesMessage(data=bytes(LIMIT + 1))),
                                CloseReason.MESSAGE_TOO_BIG)

    def test_a_bomb_costs_at_most_the_limit(self):
        self.pair(limit=1024)
        self.assertLess(len(self.client.send(BytesMessage(data=bytes(1 << 24)))), 20000)
        self.pair(limit=1024)
        self.assert_closed_with(self.deliver(BytesMessage(data=bytes(1 << 24))),
                                CloseReason.MESSAGE_TOO_BIG)

    def test_the_bound_spans_the_fragments_of_one_message(self):
        self.pair()
        half = LIMIT // 2
        events = self.deliver(BytesMessage(data=bytes(half), message_finished=False),
                              BytesMessage(data=bytes(half), message_finished=True))
        self.assertEqual(sum(len(e.data) for e in events), LIMIT)
        self.assert_closed_with(
            self.deliver(BytesMessage(data=bytes(half), message_finished=False),
                         BytesMessage(data=bytes(half + 1), message_finished=True)),
            CloseReason.MESSAGE_TOO_BIG)

    def test_the_count_restarts_with_each_message(self):
        self.pair()
        events = self.deliver(*(BytesMessage(data=bytes(LIMIT)) for _ in range(3)))
        self.assertEqual([len(e.data) for e in events], [LIMIT] * 3)

    def test_no_context_takeover_resets_between_messages(self):
        self.pair("permessage-deflate; client_no_context_takeover")
        events = self.deliver(BytesMessage(data=b"same" * 500), BytesMessage(data=b"same" * 500))
        self.assertEqual([e.data for e in events], [b"same" * 500] * 2)

    def test_corrupt_deflate_data_closes_1007(self):
        self.pair()
        self.server.receive_data(masked_frame(0x2, b"\xff\xff\xff\xff\xff", rsv=4))
        self.assert_closed_with(list(self.server.events()),
                                CloseReason.INVALID_FRAME_PAYLOAD_DATA)

    def test_uncompressed_frames_pass_untouched(self):
        self.pair()
        self.server.receive_data(masked_frame(0x2, b"plain"))
        self.assertEqual([e.data for e in self.server.events()], [b"plain"])

    def test_raw_deflate_stream_matches_zlib(self):
        # What a browser sends: raw deflate with the 00 00 ff ff tail stripped.
        self.pair()
        c = zlib.compressobj(wbits=-15)
        payload = (c.compress(b"hello " * 100) + c.flush(zlib.Z_SYNC_FLUSH))[:-4]
        self.server.receive_data(masked_frame(0x1, payload, rsv=4))
        self.assertEqual([e.data for e in self.server.events()], ["hello " * 100])


if __name__ == "__main__":
    unittest.main()
