"""Godot 3's own WebSocketServer (godot3-server, C++, busy poll): the reference column.

Runs ``godot_server.gd`` in headless Godot. Godot 3.2 has no ``get_port()``,
so a port-0 request is turned into a free port picked here. The process is
exec'd, so its pid (what bench/run.py measures) is Godot's.
"""
from __future__ import annotations

import os
import shutil
import socket
import sys
from pathlib import Path

from _common import parse_args, raise_nofile


def _options(p) -> None:
    p.add_argument("--buffers", metavar="IN_KB,IN_PKTS,OUT_KB,OUT_PKTS",
                   help="set_buffers() arguments (default: Godot's 64,1024,64,1024)")


def main() -> None:
    args = parse_args(__doc__.splitlines()[0], extra=_options)
    godot = os.environ.get("GODOT_BIN") or shutil.which("godot3-server")
    if not godot:
        sys.exit("godot3-server not found (set GODOT_BIN)")
    port = args.port
    if port == 0:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
    raise_nofile()
    env = dict(os.environ, GWB_PORT=str(port), GWB_MODE=args.mode, GWB_BUFFERS=args.buffers or "")
    script = str(Path(__file__).with_name("godot_server.gd"))
    argv = [godot, "--no-window", "--script", script]
    stdbuf = shutil.which("stdbuf")  # Godot's print() is not flushed otherwise
    if stdbuf:
        argv = [stdbuf, "-oL"] + argv
    os.execve(argv[0], argv, env)


if __name__ == "__main__":
    main()
