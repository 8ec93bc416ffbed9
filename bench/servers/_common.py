"""Shared command line and start-up chores of the benchmark servers."""
from __future__ import annotations

import argparse
import resource
import sys


def parse_args(description: str, argv: list[str] | None = None,
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


def add_tls_options(p: argparse.ArgumentParser) -> None:
    """``--tls-cert PEM --tls-key PEM``: serve wss:// with that pair."""
    p.add_argument("--tls-cert", metavar="PEM", help="certificate (chain) file: serve wss://")
    p.add_argument("--tls-key", metavar="PEM", help="private key file of --tls-cert")


def check_tls_options(args: argparse.Namespace) -> bool:
    """True for wss://; exits with a message when only one of the pair is given."""
    if bool(args.tls_cert) != bool(args.tls_key):
        sys.exit("--tls-cert and --tls-key go together")
    return bool(args.tls_cert)


def raise_nofile() -> None:
    """Thousands of idle peers need as many descriptors: take the hard limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def announce(host: str, port: int, tls: bool = False) -> None:
    """The line bench/run.py waits for."""
    print(f"listening on {'wss' if tls else 'ws'}://{host}:{port}", flush=True)
    sys.stdout.flush()
