"""Small socket helpers shared by the transport's threads."""
from __future__ import annotations

import socket

__all__ = ["close_quietly", "shutdown"]


def shutdown(sock: socket.socket) -> None:
    """Shut both directions down (wakes a thread blocked in ``recv``); errors ignored."""
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def close_quietly(sock: socket.socket) -> None:
    """Close after reading what the client already sent (bounded): closing with
    unread input would make the kernel answer with a reset instead of EOF."""
    try:
        sock.setblocking(False)
        for _ in range(16):
            if not sock.recv(65536):
                break
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass

