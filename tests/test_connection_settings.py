"""Seconds arguments: the cheap path for ordinary floats and the checks for the rest."""
from __future__ import annotations

import math
import unittest

from godot_ws.connection_settings import check_seconds


class CheckSecondsTests(unittest.TestCase):
    def test_numbers_come_back_as_floats(self):
        for value, allow_zero in ((1.5, False), (2, False), (0.0, True), (0, True), (1e-9, False)):
            with self.subTest(value=value, allow_zero=allow_zero):
                got = check_seconds("t", value, allow_zero)
                self.assertIs(type(got), float)
                self.assertEqual(got, value)

    def test_bad_values_raise_with_the_name(self):
        cases = [(0.0, False, ValueError), (0, False, ValueError), (-0.5, True, ValueError),
                 (math.nan, True, ValueError), (math.nan, False, ValueError),
                 (-math.inf, True, ValueError), ("1", True, TypeError), (True, True, TypeError),
                 (None, True, TypeError)]
        for value, allow_zero, exc in cases:
            with self.subTest(value=value, allow_zero=allow_zero):
                with self.assertRaisesRegex(exc, "^timeout must be"):
                    check_seconds("timeout", value, allow_zero)


if __name__ == "__main__":
    unittest.main()
