"""simple-websocket 1.1 behind a minimal acceptor (one thread per connection).

simple-websocket only upgrades a request a WSGI server already parsed, so the
acceptor reads the request head itself and hands the socket over as
Werkzeug would (``werkzeug.socket`` plus ``HTTP_*`` keys).
"""
from __future__ import annotations

import socket
import threading

import simple_websocket
from _common import announce, parse_args, raise_nofile


def read_environ(conn: socket.socket):
    """The request head as a minimal WSGI environ, or None if the peer left."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = conn.recv(4096)
        if not chunk or len(buf) > 65536:
            return None
        buf += chunk
    head = buf.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    environ = {"werkzeug.socket": conn}
    for line in head.split("\r\n")[1:]:
        name, _, value = line.partition(":")
        environ["HTTP_" + name.strip().upper().replace("-", "_")] = value.strip()
    return environ


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    raise_nofile()
    peers = {}  # ws -> send lock (simple-websocket's send is not locked)
    lock = threading.Lock()

    def send(ws, lk, message) -> None:
        with lk:
            ws.send(message)

    def handle(conn: socket.socket) -> None:
        environ = read_environ(conn)
        if environ is None:
            conn.close()
            return
        ws = simple_websocket.Server.accept(environ)
        own_lock = threading.Lock()
        with lock:
            peers[ws] = own_lock
        try:
            while True:
                message = ws.receive()
                if args.mode == "echo":
                    send(ws, own_lock, message)
                    continue
                with lock:
                    targets = list(peers.items())
                for peer, lk in targets:
                    try:
                        send(peer, lk, message)
                    except simple_websocket.ConnectionClosed:
                        pass
        except simple_websocket.ConnectionClosed:
            pass
        finally:
            with lock:
                peers.pop(ws, None)

    listener = socket.create_server(("127.0.0.1", args.port), backlog=1024)
    host, port = listener.getsockname()[:2]
    announce(host, port)
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=handle, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
