"""``python -m godot_ws``: a ready-made echo or relay server, ``gen-cert``, and the
``connect`` client (in cli_connect)."""
from __future__ import annotations

import argparse
import logging
import signal
import sys

from .cli_connect import add_parser as add_connect_parser
from .cli_connect import connect
from .enums import Error, WriteMode
from .rooms import Room, Rooms
from .server import WebSocketServer

__all__ = ["main"]

logger = logging.getLogger("godot_ws")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m godot_ws",
                                description="Godot 3 compatible WebSocket server and client.")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve", help="run an echo or relay (multiplayer) server")
    s.add_argument("--bind", default="127.0.0.1", help="address to bind (default 127.0.0.1; * = all)")
    s.add_argument("--port", type=int, default=9080, help="port (default 9080; 0 = any free port)")
    s.add_argument("--mode", choices=("relay", "echo"), default="relay",
                   help="relay: Godot high-level multiplayer hub (default); echo: raw echo")
    s.add_argument("--rooms", action="store_true",
                   help="relay: one game per room, ws://HOST:PORT/rooms/<name>; GET /rooms lists them")
    s.add_argument("--max-peers", type=int, default=0, metavar="N",
                   help="with --rooms: players per room (default 0: no limit)")
    s.add_argument("--protocols", default="", help="comma-separated accepted subprotocols")
    s.add_argument("--tls-cert", metavar="PEM", help="certificate (chain) file for wss://")
    s.add_argument("--tls-key", metavar="PEM", help="private key file for wss://")
    s.add_argument("--self-signed", action="store_true",
                   help="serve wss:// with a throwaway self-signed certificate")
    s.add_argument("--verbose", "-v", action="store_true", help="log connections and errors")
    g = sub.add_parser("gen-cert", help="write a self-signed key and certificate")
    g.add_argument("--key", required=True, metavar="KEY.pem")
    g.add_argument("--cert", required=True, metavar="CERT.pem")
    g.add_argument("--cn", default="localhost", help="common name (default localhost)")
    add_connect_parser(sub)
    return p


def _echo(server: WebSocketServer, peer_id: int) -> None:
    peer = server.get_peer(peer_id)
    if peer is None:
        return
    while peer.get_available_packet_count():
        data = peer.get_packet()
        peer.set_write_mode(WriteMode.WRITE_MODE_TEXT if peer.was_string_packet()
                            else WriteMode.WRITE_MODE_BINARY)
        peer.put_packet(data)


def _drop_room_packets(room: Room) -> None:
    """--rooms: the relay happens inside poll(); packets for the server are dropped."""
    room.connect("peer_packet", lambda pid: room.get_packet())


def _configure_tls(server: WebSocketServer, args: argparse.Namespace) -> str | None:
    from .crypto import Crypto, CryptoKey, X509Certificate, fingerprint_sha256
    if args.self_signed:
        crypto = Crypto()
        key = crypto.generate_rsa(2048)
        cert = crypto.generate_self_signed_certificate(key, "CN=localhost,O=godot_ws,C=IT")
        # stderr: stdout carries exactly one line, the "listening on" one.
        print("self-signed certificate SHA-256 fingerprint: " + fingerprint_sha256(cert),
              file=sys.stderr, flush=True)
    else:
        key, cert = CryptoKey(), X509Certificate()
        if key.load(args.tls_key) != Error.OK:
            return f"cannot load the private key {args.tls_key}"
        if cert.load(args.tls_cert) != Error.OK:
            return f"cannot load the certificate {args.tls_cert}"
    server.private_key = key
    server.ssl_certificate = cert
    return None


def serve(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if bool(args.tls_cert) != bool(args.tls_key):
        print("error: --tls-cert and --tls-key go together", file=sys.stderr)
        return 2
    if args.rooms and args.mode != "relay" or args.max_peers and not args.rooms:
        print("error: --rooms is for --mode relay, and --max-peers for --rooms", file=sys.stderr)
        return 2
    if args.self_signed and args.tls_cert:
        print("error: use either --self-signed or --tls-cert/--tls-key", file=sys.stderr)
        return 2
    # Many peer threads: a shorter GIL switch interval keeps the polling
    # thread responsive. A process-wide choice, so only this CLI makes it.
    sys.setswitchinterval(0.001)
    server = WebSocketServer()
    try:
        server.bind_ip = args.bind
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    tls = bool(args.self_signed or args.tls_cert)
    if tls:
        problem = _configure_tls(server, args)
        if problem:
            print("error: " + problem, file=sys.stderr)
            return 1
    protocols = [p for p in args.protocols.split(",") if p.strip()]
    relay = args.mode == "relay"
    if not relay:
        server.connect("data_received", lambda pid: _echo(server, pid))
    elif args.rooms:
        try:
            server.rooms = Rooms(max_peers=args.max_peers)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        server.rooms.connect("room_created", _drop_room_packets)
    else:
        # The relay itself happens inside poll(); packets for the server are dropped.
        server.connect("peer_packet", lambda pid: server.get_packet())
    err = server.listen(args.port, protocols, gd_mp_api=relay)
    if err != Error.OK:
        print(f"error: cannot listen on {args.bind}:{args.port}: {err.name}", file=sys.stderr)
        return 1
    stop = _StopFlag()
    signal.signal(signal.SIGINT, stop.on_signal)
    signal.signal(signal.SIGTERM, stop.on_signal)
    host = args.bind if args.bind != "*" else "0.0.0.0"
    print(f"listening on {'wss' if tls else 'ws'}://{host}:{server.get_port()}", flush=True)
    try:
        while not stop.requested:
            server.poll(1.0)  # a signal ends the wait at once
    finally:
        server.stop(1001)  # more signals meanwhile only set the flag again
        # The rest of a burst must not kill the exit: Python restores the
        # default actions (death) when it finalizes, but keeps "ignore".
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    return 0


class _StopFlag:
    """A SIGINT/SIGTERM handler that only sets a flag: no lock, no I/O, so a
    burst of signals (each may interrupt the previous handler) cannot deadlock."""

    requested = False

    def on_signal(self, signum: int, frame: object) -> None:
        self.requested = True


def gen_cert(args: argparse.Namespace) -> int:
    from .crypto import Crypto
    crypto = Crypto()
    key = crypto.generate_rsa(2048)
    cert = crypto.generate_self_signed_certificate(key, f"CN={args.cn},O=godot_ws,C=IT")
    if key.save(args.key) != Error.OK or cert.save(args.cert) != Error.OK:
        print("error: cannot write the key or certificate file", file=sys.stderr)
        return 1
    print(f"wrote {args.key} and {args.cert}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    commands = {"serve": serve, "gen-cert": gen_cert, "connect": connect}
    return commands[args.command](args)
