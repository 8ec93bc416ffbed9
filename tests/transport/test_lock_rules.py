"""Every ``*_locked`` method asserts that its lock is held, first thing."""
from __future__ import annotations

import ast
import pathlib
import unittest

import godot_ws

PACKAGE = pathlib.Path(godot_ws.__file__).parent


def _asserts_a_lock(stmt: ast.stmt) -> bool:
    """``assert <something>.locked()``."""
    return (isinstance(stmt, ast.Assert) and isinstance(stmt.test, ast.Call)
            and isinstance(stmt.test.func, ast.Attribute) and stmt.test.func.attr == "locked")


class LockRuleTests(unittest.TestCase):
    def test_every_locked_method_asserts_its_lock(self):
        found, missing = [], []
        for path in sorted(PACKAGE.rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.FunctionDef) and node.name.endswith("_locked"):
                    body = node.body
                    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                        body = body[1:]  # the docstring
                    where = f"{path.relative_to(PACKAGE)}:{node.lineno} {node.name}"
                    found.append(where)
                    if not body or not _asserts_a_lock(body[0]):
                        missing.append(where)
        self.assertGreaterEqual(len(found), 10, "the walk found the *_locked methods")
        self.assertEqual(missing, [], "these *_locked methods do not assert their lock first")


if __name__ == "__main__":
    unittest.main()
