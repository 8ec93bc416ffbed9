"""godot_ws's WebSocketServer in raw mode, echo or broadcast, as a game would run it.

``--loop tight`` polls with ``poll(1.0)`` back to back (a dedicated network
loop); ``--loop 60hz`` calls ``poll(0)`` once per 1/60 s frame and sleeps
until the next one (a game loop). Each message goes back with its own type:
the write mode follows ``was_string_packet()``. ``--tls-cert``/``--tls-key``
serve wss:// (``private_key`` and ``ssl_certificate`` loaded from PEM files).
"""
from __future__ import annotations

import sys
import time

from _common import add_tls_options, announce, check_tls_options, parse_args, raise_nofile

from godot_ws.crypto import CryptoKey, X509Certificate
from godot_ws.enums import Error, WriteMode
from godot_ws.server import WebSocketServer

TEXT, BINARY = WriteMode.WRITE_MODE_TEXT, WriteMode.WRITE_MODE_BINARY


def _options(p) -> None:
    p.add_argument("--loop", choices=("tight", "60hz"), default="tight")
    p.add_argument("--buffers", metavar="IN_KB,IN_PKTS,OUT_KB,OUT_PKTS",
                   help="set_buffers() arguments (default: Godot's 64,1024,64,1024)")
    p.add_argument("--switch-interval", type=float,
                   help="sys.setswitchinterval() value (default: leave CPython's 0.005)")
    add_tls_options(p)


def _load_tls(server: WebSocketServer, cert_path: str, key_path: str) -> None:
    key, cert = CryptoKey(), X509Certificate()
    if key.load(key_path) != Error.OK or cert.load(cert_path) != Error.OK:
        sys.exit(f"cannot load {key_path} / {cert_path}")
    server.private_key = key
    server.ssl_certificate = cert


def main() -> None:
    args = parse_args(__doc__.splitlines()[0], extra=_options)
    tls = check_tls_options(args)
    raise_nofile()
    if args.switch_interval:
        sys.setswitchinterval(args.switch_interval)
    server = WebSocketServer()
    server.bind_ip = "127.0.0.1"
    if args.buffers:
        server.set_buffers(*(int(v) for v in args.buffers.split(",")))
    if tls:
        _load_tls(server, args.tls_cert, args.tls_key)
    peers = []

    def echo(peer_id: int) -> None:
        peer = server.get_peer(peer_id)
        data = peer.get_packet()
        peer.set_write_mode(TEXT if peer.was_string_packet() else BINARY)
        peer.put_packet(data)

    def broadcast(peer_id: int) -> None:
        peer = server.get_peer(peer_id)
        data = peer.get_packet()
        mode = TEXT if peer.was_string_packet() else BINARY
        for target in peers:
            target.set_write_mode(mode)
            target.put_packet(data)

    def connected(peer_id: int, protocol: str) -> None:
        peers.append(server.get_peer(peer_id))

    def disconnected(peer_id: int, was_clean: bool) -> None:
        peers[:] = [p for p in peers if p.is_connected_to_host()]

    server.connect("data_received", echo if args.mode == "echo" else broadcast)
    if args.mode == "broadcast":
        server.connect("client_connected", connected)
        server.connect("client_disconnected", disconnected)
    err = server.listen(args.port)
    if err:
        sys.exit(f"listen failed: {err!r}")
    announce("127.0.0.1", server.get_port(), tls)
    if args.loop == "tight":
        while True:
            server.poll(1.0)
    tick = 1.0 / 60
    next_frame = time.monotonic()
    while True:
        server.poll(0)
        next_frame += tick
        delay = next_frame - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        else:
            next_frame = time.monotonic()  # a late frame: don't try to catch up


if __name__ == "__main__":
    main()
