"""protocol/limits.py: set_buffers rounding (spec §4.2), the output rule (§3.3), InputQueue (§4.4)."""
import unittest

from godot_ws.protocol.limits import DEFAULT_LIMITS, InputQueue, Limits, nearest_shift

TOO_MANY = "Too many packets in queue! Dropping data."
TOO_BIG = "Buffer payload full! Dropping data."


class NearestShiftTest(unittest.TestCase):
    def test_bit_length(self):
        self.assertEqual([nearest_shift(n) for n in (0, 1, 2, 3, 4, 63, 64, 1023)],
                         [0, 1, 2, 2, 3, 6, 7, 10])

    def test_negative_is_zero(self):
        self.assertEqual(nearest_shift(-5), 0)


class SetBuffersRoundingTest(unittest.TestCase):
    def test_defaults_as_godot(self):
        self.assertEqual(DEFAULT_LIMITS, Limits(16, 10, 16, 10))
        self.assertEqual(DEFAULT_LIMITS.max_message_size, 65536)
        self.assertEqual((DEFAULT_LIMITS.input_bytes, DEFAULT_LIMITS.input_packets), (65535, 1023))
        self.assertEqual((DEFAULT_LIMITS.output_bytes, DEFAULT_LIMITS.output_packets),
                         (65536, 1024))

    def test_kib_and_packets_round_up_to_powers_of_two(self):
        # spec §4.2: 64 -> 65536, 1 -> 1024, 3 -> 4096; packets likewise.
        for kb, size in ((1, 1024), (2, 2048), (3, 4096), (64, 65536), (65, 131072)):
            with self.subTest(kb=kb):
                limits = Limits.from_kb(kb, 4, kb, 4)
                self.assertEqual(limits.max_message_size, size)
                self.assertEqual(limits.input_bytes, size - 1)  # ring buffer: one slot free
                self.assertEqual(limits.output_bytes, size)
        for pkts, slots in ((2, 2), (3, 4), (4, 4), (5, 8), (1024, 1024), (1025, 2048)):
            with self.subTest(pkts=pkts):
                limits = Limits.from_kb(1, pkts, 1, pkts)
                self.assertEqual(limits.input_packets, slots - 1)
                self.assertEqual(limits.output_packets, slots)

    def test_one_packet_still_holds_one(self):
        # Godot's 2^0 - 1 = 0 usable slots would drop everything; one is kept.
        limits = Limits.from_kb(1, 1, 1, 1)
        self.assertEqual((limits.input_packets, limits.output_packets), (1, 1))

    def test_arguments_are_checked(self):
        for bad in (0, -1, (1 << 20) + 1):
            with self.subTest(bad=bad), self.assertRaisesRegex(ValueError, "input_buffer_size_kb"):
                Limits.from_kb(bad, 1, 1, 1)
        with self.assertRaisesRegex(ValueError, "output_max_packets"):
            Limits.from_kb(1, 1, 1, 0)
        for bad in (1.5, "64", True, None):
            with self.subTest(bad=bad), self.assertRaisesRegex(TypeError, "must be an int"):
                Limits.from_kb(64, bad, 64, 1024)

    def test_limits_are_immutable_values(self):
        self.assertEqual(Limits.from_kb(64, 1024, 64, 1024), DEFAULT_LIMITS)
        with self.assertRaises(AttributeError):
            DEFAULT_LIMITS.in_buf_shift = 1


class OutputFullTest(unittest.TestCase):
    """Later Godot 3.x's put_packet rule: refuse at >= 2^out_pkt_shift packets or bytes."""

    def setUp(self):
        self.limits = Limits.from_kb(1, 4, 1, 4)  # 1024 bytes, 4 packets out

    def test_bytes(self):
        self.assertFalse(self.limits.output_full(0, 0, 1023))
        self.assertTrue(self.limits.output_full(0, 0, 1024))
        self.assertFalse(self.limits.output_full(1, 1000, 23))
        self.assertTrue(self.limits.output_full(1, 1000, 24))

    def test_packets(self):
        self.assertFalse(self.limits.output_full(3, 0, 1))
        self.assertTrue(self.limits.output_full(4, 0, 1))
        self.assertTrue(self.limits.output_full(4, 0, 0))


class InputQueueTest(unittest.TestCase):
    def test_fifo_with_the_text_flag(self):
        q = InputQueue()
        self.assertIsNone(q.pop())
        self.assertIsNone(q.push(b"a", True))
        self.assertIsNone(q.push(b"bc", False))
        self.assertEqual(len(q), 2)
        self.assertEqual(q.pop(), (b"a", True))
        self.assertEqual(q.pop(), (b"bc", False))
        self.assertIsNone(q.pop())
        self.assertEqual(len(q), 0)

    def test_packet_slots_keep_one_free(self):
        # spec §4.2: in_pkts=4 gave 3 queued, the 4th dropped.
        q = InputQueue(Limits.from_kb(1, 4, 1, 4))
        self.assertEqual([q.push(b"x", False) for _ in range(5)], [None, None, None, TOO_MANY,
                                                                    TOO_MANY])
        self.assertEqual(len(q), 3)
        q.pop()
        self.assertIsNone(q.push(b"y", False))

    def test_bytes_keep_one_free(self):
        # spec §4.2: with 1 KiB, 1023 bytes fit, 1024 are dropped.
        q = InputQueue(Limits.from_kb(1, 1024, 1, 1024))
        self.assertEqual(q.push(b"x" * 1024, False), TOO_BIG)
        self.assertEqual(len(q), 0)
        self.assertIsNone(q.push(b"x" * 1000, False))
        self.assertEqual(q.push(b"x" * 24, False), TOO_BIG)
        self.assertIsNone(q.push(b"x" * 23, False))
        q.pop()  # frees its 1000 bytes
        self.assertIsNone(q.push(b"x" * 1000, False))

    def test_a_dropped_packet_leaves_the_queue_as_it_was(self):
        q = InputQueue(Limits.from_kb(1, 2, 1, 2))  # one usable slot
        q.push(b"kept", True)
        self.assertEqual(q.push(b"dropped", False), TOO_MANY)
        self.assertEqual(q.pop(), (b"kept", True))
        self.assertIsNone(q.pop())

    def test_clear_forgets_packets_and_bytes(self):
        q = InputQueue(Limits.from_kb(1, 1024, 1, 1024))
        q.clear()  # before any push: nothing to clear
        q.push(b"x" * 1000, False)
        q.clear()
        self.assertEqual(len(q), 0)
        self.assertIsNone(q.push(b"x" * 1023, False))

    def test_empty_queues_share_no_state(self):
        a, b = InputQueue(), InputQueue()
        a.push(b"only in a", False)
        self.assertEqual(len(b), 0)
        self.assertIsNone(b.pop())


if __name__ == "__main__":
    unittest.main()
