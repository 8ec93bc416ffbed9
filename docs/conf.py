"""Sphinx configuration of the godot_ws documentation site (``make docs``)."""
from __future__ import annotations

import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "docs" / "_ext"))

import godot_ws  # noqa: E402

project = "godot_ws"
author = "the godot_ws authors"
copyright = "2026, the godot_ws authors"
release = version = godot_ws.__version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
    "godot_docs",
]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = ["_build"]
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

# Reference pages: the docstrings, members in source order, inherited members
# documented once, on the class that defines them.
autodoc_member_order = "bysource"
autodoc_default_options = {"members": True, "show-inheritance": True}
autodoc_typehints = "signature"
autodoc_class_signature = "mixed"
napoleon_google_docstring = True
napoleon_numpy_docstring = False

# Broken references are errors; only names outside this project (the standard
# library and typing, no intersphinx: the build runs offline) are let through.
nitpicky = True
nitpick_ignore_regex = [
    (r"py:(class|obj|data|exc|func|meth|attr)",
     r"(builtins\.)?(int|str|bytes|bytearray|memoryview|float|bool|list|dict|tuple|set|"
     r"frozenset|object|type|None|Ellipsis|NotImplemented|TimeoutError|ValueError|TypeError)"),
    (r"py:(class|obj|data)", r"(typing|collections\.abc|enum|types|socket|ssl|OpenSSL|"
                             r"argparse|logging|threading|concurrent|ipaddress|inspect|unittest)(\..*)?"),
    (r"py:(class|obj|data)", r"(os\.PathLike|cryptography\..*)"),
    # Type aliases in string annotations (``mp.RelayPolicy``): a Callable, spelled out in prose.
    (r"py:class", r"mp\.\w+"),
    # Private helper bases shown by show-inheritance (``_Value``, ``_Pool``...).
    (r"py:class", r"godot_ws\.(\w+\.)*_\w+"),
    # Internal layers in the signatures of constructors users never call (``Room(rooms, state, ...)``).
    (r"py:class", r"godot_ws\.(protocol|transport)\.[\w.]+"),
    (r"py:(class|obj|data)", r"(Any|Callable|Iterable|Iterator|Sequence|Mapping|ClassVar|"
                             r"Optional|Union|Self|IntEnum|IntFlag|Enum)"),
]

html_theme = "alabaster"
html_title = f"godot_ws {release}"
html_theme_options = {
    "description": "Godot 3's WebSocket networking, for Python",
    "fixed_sidebar": True,
}
html_static_path: list[str] = []
