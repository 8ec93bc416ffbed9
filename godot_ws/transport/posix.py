"""The package is POSIX-only: check for the socket features it relies on.

The write path sends with ``socket.sendmsg`` (scatter-gather) and reads and
writes with ``MSG_DONTWAIT`` (non-blocking calls on a blocking socket); neither
exists on Windows. ``listen`` calls ``require_posix_sockets`` first, so the
failure is one clear error, not an ``AttributeError`` on a peer thread later.
"""
from __future__ import annotations

import socket
import sys

__all__ = ["MSG_DONTWAIT", "missing_posix_features", "require_posix_sockets"]

#: ``send``/``recv`` flag: do not wait (0 where missing: ``listen`` refuses such a platform).
MSG_DONTWAIT: int = getattr(socket, "MSG_DONTWAIT", 0)


def missing_posix_features() -> list[str]:
    """The POSIX socket features this platform lacks (empty on Linux, macOS, BSD)."""
    missing = []
    if not hasattr(socket, "MSG_DONTWAIT"):
        missing.append("socket.MSG_DONTWAIT")
    if not hasattr(socket.socket, "sendmsg"):
        missing.append("socket.socket.sendmsg")
    return missing


def require_posix_sockets() -> None:
    """Raise ``OSError`` saying the package needs a POSIX system when a feature is missing."""
    missing = missing_posix_features()
    if missing:
        raise OSError(f"godot_ws needs a POSIX system (Linux, macOS, BSD): {sys.platform} "
                      f"lacks {' and '.join(missing)}")
