"""Every public name of ``godot_ws`` and every public member of its classes has a docstring.

The reference pages of the documentation site are generated from these
docstrings, so a member without one would be a blank entry there. "Public"
means: the names in ``godot_ws.__all__`` (and ``RemoteNode``, and ``godot_ws.testing``'s), and for a class every attribute not
starting with ``_`` that a class of the package defines along its MRO
(methods, properties, class and static methods). Signals are declared in a
class's ``_SIGNALS``; each must be described in that class's docstring (the
``Signals:`` section that the reference renders).
"""
from __future__ import annotations

import enum
import inspect
import unittest
from collections.abc import Iterator
from typing import Any

import godot_ws
from godot_ws import testing
from godot_ws.multiplayer_api import RemoteNode


def _documented(value: Any) -> bool:
    if isinstance(value, (staticmethod, classmethod)):
        value = value.__func__
    return bool((getattr(value, "__doc__", None) or "").strip())


def _own_doc(cls: type) -> str:
    """The class's own docstring (not one inherited from a base class)."""
    return cls.__dict__.get("__doc__") or ""


def _package_classes(cls: type) -> Iterator[type]:
    for klass in cls.__mro__:
        if klass.__module__.split(".")[0] == "godot_ws":
            yield klass


def undocumented_members(cls: type) -> Iterator[str]:
    """Public callables and properties of ``cls`` without a docstring.

    An override without its own docstring is documented by the member it
    overrides (the reference shows that docstring, as ``help()`` does).
    """
    seen: set[str] = set()
    for klass in _package_classes(cls):
        for name, value in vars(klass).items():
            if name.startswith("_") or name in seen:
                continue
            seen.add(name)
            if not (isinstance(value, (property, staticmethod, classmethod)) or callable(value)):
                continue
            if not any(_documented(vars(k)[name]) for k in cls.__mro__ if name in vars(k)):
                yield f"{cls.__name__}.{name} (defined in {klass.__name__})"


def exported() -> Iterator[tuple[str, Any]]:
    """The public names, and the public classes that users get from them but never import."""
    for name in godot_ws.__all__:
        yield name, getattr(godot_ws, name)
    yield "RemoteNode", RemoteNode  # what MultiplayerAPI.register returns
    for name in testing.__all__:  # the public module godot_ws.testing
        yield f"testing.{name}", getattr(testing, name)


class DocstringTest(unittest.TestCase):
    def test_exports_exist(self):
        self.assertGreater(len(godot_ws.__all__), 30)
        for name in godot_ws.__all__:
            self.assertTrue(hasattr(godot_ws, name), name)

    def test_every_exported_class_and_function_has_a_docstring(self):
        missing = [name for name, value in exported()
                   if (inspect.isclass(value) and not _own_doc(value).strip())
                   or (inspect.isroutine(value) and not _documented(value))]
        self.assertEqual(missing, [], "add a docstring (what, arguments, return, Godot's name)")

    def test_every_public_member_has_a_docstring(self):
        missing = []
        for _, value in exported():
            if inspect.isclass(value) and not issubclass(value, enum.Enum):
                missing += undocumented_members(value)
        self.assertEqual(missing, [], "add a docstring (what, arguments, return, Godot's name)")

    def test_every_signal_is_described_in_its_class_docstring(self):
        missing = []
        for name, value in exported():
            if not inspect.isclass(value):
                continue
            doc = _own_doc(value)
            for signal in vars(value).get("_SIGNALS", {}):
                if f"{signal}(" not in doc and f"``{signal}``" not in doc:
                    missing.append(f"{name}: {signal}")
        self.assertEqual(missing, [], "describe the signal under 'Signals:' in the class docstring")

    def test_the_check_catches_a_member_without_docstring(self):
        class Probe:
            """Documented."""

            def undocumented(self):
                pass

        class Override(Probe):
            """Documented."""

            def documented(self):
                pass

        Probe.documented = lambda self: None
        Probe.documented.__doc__ = "Documented."
        self.assertEqual(list(undocumented_members(Probe)), [])  # not the package's class
        Probe.__module__ = Override.__module__ = "godot_ws.probe"
        self.assertEqual(list(undocumented_members(Probe)),
                         ["Probe.undocumented (defined in Probe)"])
        self.assertEqual(list(undocumented_members(Override)),
                         ["Override.undocumented (defined in Probe)"])


if __name__ == "__main__":
    unittest.main()
