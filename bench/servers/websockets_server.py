"""python-websockets' threaded server (websockets.sync.server), echo or broadcast.

One thread per connection, as websockets runs it; each message goes back
with its own type (str -> text frame, bytes -> binary frame).
``--tls-cert``/``--tls-key`` serve wss:// through an ``ssl.SSLContext``.
"""
from __future__ import annotations

import ssl
import threading

from _common import add_tls_options, announce, check_tls_options, parse_args, raise_nofile
from websockets.exceptions import ConnectionClosed
from websockets.sync.server import ServerConnection, serve

MAX_MESSAGE = 4 * 1024 * 1024


def main() -> None:
    args = parse_args(__doc__.splitlines()[0], extra=add_tls_options)
    context = None
    if check_tls_options(args):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.tls_cert, args.tls_key)
    raise_nofile()
    peers = set()
    lock = threading.Lock()

    def echo(ws: ServerConnection) -> None:
        for message in ws:
            ws.send(message)

    def broadcast(ws: ServerConnection) -> None:
        with lock:
            peers.add(ws)
        try:
            for message in ws:
                with lock:
                    targets = list(peers)
                for peer in targets:
                    try:
                        peer.send(message)
                    except ConnectionClosed:
                        pass
        finally:
            with lock:
                peers.discard(ws)

    handler = echo if args.mode == "echo" else broadcast
    with serve(handler, "127.0.0.1", args.port, max_size=MAX_MESSAGE,
               compression=None, ssl=context) as server:
        host, port = server.socket.getsockname()[:2]
        announce(host, port, context is not None)
        server.serve_forever()


if __name__ == "__main__":
    main()
