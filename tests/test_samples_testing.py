"""samples/testing_example.py (the testing how-to's example) passes as it is."""
from __future__ import annotations

import importlib.util
import pathlib
import unittest

SAMPLE = pathlib.Path(__file__).resolve().parent.parent / "samples" / "testing_example.py"


class TestingExampleTest(unittest.TestCase):
    def test_the_example_passes(self):
        spec = importlib.util.spec_from_file_location("testing_example", SAMPLE)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        suite = unittest.defaultTestLoader.loadTestsFromModule(module)
        result = unittest.TestResult()
        suite.run(result)
        self.assertEqual(result.testsRun, 2)
        self.assertEqual([str(e) for e in result.errors + result.failures], [])


if __name__ == "__main__":
    unittest.main()
