"""Graceful shutdown on SIGTERM/SIGINT: the signal pattern for applications.

The handlers only set a flag: a Python signal handler runs on the main thread
between two bytecodes, possibly while that thread is inside the server (holding
one of its locks) or inside the previous handler (signals come in bursts:
a supervisor's TERM then another, a process-group kill, a double Ctrl-C), so it
must take no lock, log nothing and call no server method. ``poll()`` on the
main thread returns as soon as a signal arrives, so the loop sees the flag at
once; ``stop(1001)`` ("going away") then runs from the loop, not the handler.

Run:  python samples/graceful_shutdown.py [port]   (default 9080; 0 = any free port)
then connect any WebSocket client and press Ctrl-C (or ``kill <pid>``).
"""
import signal
import sys

from godot_ws import WebSocketServer, WriteMode


class Shutdown:
    """Set by a signal; read by the polling loop. A plain attribute: nothing else."""
    requested = False

    def request(self, signum, frame):
        self.requested = True


def echo(server, peer_id):
    peer = server.get_peer(peer_id)
    while peer.get_available_packet_count():
        data = peer.get_packet()
        peer.set_write_mode(WriteMode.WRITE_MODE_TEXT if peer.was_string_packet()
                            else WriteMode.WRITE_MODE_BINARY)
        peer.put_packet(data)


def main(port):
    server = WebSocketServer()
    server.connect("data_received", lambda peer_id: echo(server, peer_id))
    shutdown = Shutdown()
    signal.signal(signal.SIGTERM, shutdown.request)
    signal.signal(signal.SIGINT, shutdown.request)
    server.listen(port)
    print(f"listening on ws://127.0.0.1:{server.get_port()}", flush=True)
    try:
        while not shutdown.requested:
            server.poll(1.0)  # returns at once when a signal arrives
    finally:
        server.stop(1001)  # every peer gets "going away"; signals meanwhile only set the flag
        # Python restores the default (fatal) actions while it exits: keep the
        # rest of a burst from killing the exit code.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    print("stopped", flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 9080)
