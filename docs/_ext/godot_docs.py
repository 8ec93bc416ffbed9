"""Sphinx helpers for the godot_ws reference.

- A class docstring's ``Signals:`` section (``name(args): what``, as Godot's
  class reference lists signals) becomes a "Signals" rubric with one entry per
  signal, before napoleon sees it.
- Attribute and property docstrings stay prose: napoleon would read a first
  line such as ``Keepalive (off by default): ...`` as ``type: description``.
- A class signature comes from its ``__init__``: ``Object.__new__`` takes
  ``*args, **kwargs`` only to pass them on, which says nothing to a reader.
- References to a public name by its module path (``godot_ws.peer.WebSocketPeer``,
  what autodoc writes for type hints) or from another module's docstring
  resolve to its public name (``godot_ws.WebSocketPeer``), where the reference
  documents it.
- ``{cli-help}`` directive: the ``--help`` text of a ``python -m godot_ws``
  subcommand, taken from the real parser, so the CLI reference never drifts.
"""
from __future__ import annotations

import inspect
import os
import re
import subprocess
import sys
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

_SIGNAL = re.compile(r"^(\w+)\(([^)]*)\):\s*(.*)$")


def render_signals(lines: list[str]) -> list[str]:
    """Rewrite the ``Signals:`` section of docstring ``lines`` as reST (a rubric and a list)."""
    try:
        start = lines.index("Signals:")
    except ValueError:
        return lines
    end = start + 1
    while end < len(lines) and (not lines[end] or lines[end].startswith(" ")):
        end += 1
    entries: list[list[str]] = []
    for line in lines[start + 1:end]:
        match = _SIGNAL.match(line.strip()) if line.startswith("    ") and \
            not line.startswith("     ") else None
        if match:
            name, args, text = match.groups()
            entries.append([f"``{name}({args})``", f"   {text}"])
        elif line.strip() and entries:
            entries[-1].append("   " + line.strip())
        elif line.strip():
            raise ValueError(f"Signals: section: cannot read {line!r}")
    out = [".. rubric:: Signals", ""]
    for entry in entries:
        out += entry + [""]
    return lines[:start] + out + lines[end:]


_PROSE = ("attribute", "property", "data")
_prose: dict[str, list[str]] = {}


def _before_napoleon(app: Sphinx, what: str, name: str, obj: Any, options: Any,
                     lines: list[str]) -> None:
    if what == "class":
        lines[:] = render_signals(lines)
    elif what in _PROSE:
        _prose[name] = list(lines)


def _after_napoleon(app: Sphinx, what: str, name: str, obj: Any, options: Any,
                    lines: list[str]) -> None:
    if what in _PROSE and name in _prose:
        lines[:] = _prose.pop(name)


def _init_signature(app: Sphinx, what: str, name: str, obj: Any, options: Any,
                    signature: str | None, return_annotation: str | None) -> Any:
    if what != "class" or not signature or not signature.startswith("(*args"):
        return None
    if obj.__init__ is object.__init__:
        return "()", return_annotation
    try:
        init = inspect.signature(obj.__init__, eval_str=True)
    except NameError:  # an annotation naming a type only imported for type checking
        init = inspect.signature(obj.__init__)
    params = list(init.parameters.values())[1:]  # without self
    return str(init.replace(parameters=params, return_annotation=init.empty)), return_annotation


def _public_name(app: Sphinx, env: Any, node: Any, contnode: Any) -> Any:
    import godot_ws
    target = node.get("reftarget", "")
    name = target.rpartition(".")[2]
    if name not in godot_ws.__all__ or target == f"godot_ws.{name}":
        return None
    py = env.get_domain("py")
    return py.resolve_xref(env, node["refdoc"], app.builder, node["reftype"],
                           f"godot_ws.{name}", node, contnode)


class CliHelp(SphinxDirective):
    """``.. cli-help:: serve``: the help text of ``python -m godot_ws serve``."""

    required_arguments = 0
    optional_arguments = 1

    def run(self) -> list[nodes.Node]:
        args = [sys.executable, "-m", "godot_ws", *self.arguments, "--help"]
        env = dict(os.environ, COLUMNS="96", PYTHONPATH=str(self.env.srcdir.parent))
        done = subprocess.run(args, capture_output=True, text=True, timeout=60, env=env)
        if done.returncode != 0:
            raise self.error(f"{' '.join(args[1:])} failed: {done.stderr.strip()}")
        return [nodes.literal_block(done.stdout, done.stdout.rstrip(), language="text")]


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("autodoc-process-docstring", _before_napoleon, priority=400)
    app.connect("autodoc-process-docstring", _after_napoleon, priority=600)
    app.connect("autodoc-process-signature", _init_signature)
    app.connect("missing-reference", _public_name)
    app.add_directive("cli-help", CliHelp)
    return {"version": "1", "parallel_read_safe": True}
