"""What a server and a client set up the same way before they open connections:
the handshake timeout and the per-connection buffers (Godot's ``set_buffers``).

Polling thread only, like the rest of their configuration.
"""
from __future__ import annotations

import logging

from .enums import Error
from .protocol.limits import DEFAULT_LIMITS, Limits

__all__ = ["ConnectionSettings", "check_seconds"]

logger = logging.getLogger("godot_ws")


def check_seconds(name: str, value: object, allow_zero: bool = False) -> float:
    """``value`` as seconds; TypeError/ValueError saying what is expected."""
    if type(value) is float and (value > 0.0 or (allow_zero and value == 0.0)):
        return value  # the common case, checked cheaply (NaN fails both tests)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number of seconds, got {type(value).__name__}")
    if value < 0 or (value == 0 and not allow_zero) or value != value:
        raise ValueError(f"{name} must be {'>= 0' if allow_zero else '> 0'}, got {value}")
    return float(value)


class ConnectionSettings:
    """Mixin: ``handshake_timeout`` and ``set_buffers``. Subclasses say in
    ``_in_use()`` whether connections are open (then the buffers are fixed)."""

    _handshake_timeout = 3.0
    _limits: Limits = DEFAULT_LIMITS

    def _in_use(self) -> bool:
        raise NotImplementedError

    @property
    def handshake_timeout(self) -> float:
        """Seconds a connection has for its opening handshakes (TLS and HTTP; a
        client's also DNS and TCP) before it is dropped (default 3.0, as Godot 3.5)."""
        return self._handshake_timeout

    @handshake_timeout.setter
    def handshake_timeout(self, value: float) -> None:
        self._handshake_timeout = check_seconds("handshake_timeout", value)

    def get_handshake_timeout(self) -> float:
        """Return :attr:`handshake_timeout` in seconds."""
        return self._handshake_timeout

    def set_handshake_timeout(self, value: float) -> None:
        """Set :attr:`handshake_timeout` to ``value`` seconds (> 0)."""
        self.handshake_timeout = value

    def set_buffers(self, input_buffer_size_kb: int, input_max_packets: int,
                    output_buffer_size_kb: int, output_max_packets: int) -> Error:
        """Per-connection limits, rounded up to powers of two as Godot does; must
        be called before ``listen``/``connect_to_url`` (else FAILED)."""
        limits = Limits.from_kb(input_buffer_size_kb, input_max_packets,
                                output_buffer_size_kb, output_max_packets)
        if self._in_use():
            logger.error("set_buffers must be called before listen() or connect_to_url()")
            return Error.FAILED
        self._limits = limits
        return Error.OK
