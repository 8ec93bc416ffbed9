"""Shared command line and start-up chores of the benchmark servers."""
from __future__ import annotations

import argparse
import resource
import sys
from typing import List, Optional


def parse_args(description: str, argv: Optional[List[str]] = None,
               extra=None) -> argparse.Namespace:
    """``PORT [--mode echo|broadcast]`` plus whatever ``extra(parser)`` adds."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("port", type=int, help="TCP port on 127.0.0.1 (0: any free port)")
    p.add_argument("--mode", choices=("echo", "broadcast"), default="echo",
                   help="echo: send each message back to its sender; "
                        "broadcast: send it to every connected peer, sender included")
    if extra:
        extra(p)
    return p.parse_args(argv)


def raise_nofile() -> None:
    """Thousands of idle peers need as many descriptors: take the hard limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def announce(host: str, port: int) -> None:
    """The line bench/run.py waits for."""
    print(f"listening on ws://{host}:{port}", flush=True)
    sys.stdout.flush()
