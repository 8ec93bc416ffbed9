"""The client side of the opening handshake on one socket: TLS, then the HTTP upgrade.

Runs on the client thread before anybody else writes to the socket, with the
server side's blocking helpers (``server_handshake._Handshake``: deadline-bounded
receives and sends, the TLS loop, reading a head up to CRLFCRLF). The request
and the checks of the answer are pure (``protocol/client_handshake.py``).
"""
from __future__ import annotations

import socket
from typing import TYPE_CHECKING

from ..protocol import client_handshake as ch
from ..protocol import handshake as hs
from .server_handshake import HandshakeFailed, Upgrade, _Handshake

if TYPE_CHECKING:
    from .client_connection import Dial
    from .connection import ConnectionConfig

__all__ = ["client_handshake"]


def client_handshake(sock: socket.socket, cfg: ConnectionConfig, address: tuple[str, int],
                     deadline: float, dial: Dial) -> Upgrade | str:
    """Run the handshake: the upgrade, or a sentence saying why it failed."""
    return _ClientHandshake(sock, cfg, address, deadline, dial).upgrade()


class _ClientHandshake(_Handshake):
    def __init__(self, sock: socket.socket, cfg: ConnectionConfig, address: tuple[str, int],
                 deadline: float, dial: Dial) -> None:
        super().__init__(sock, cfg, address, deadline)
        self.dial = dial

    def upgrade(self) -> Upgrade | str:
        cfg, dial = self.cfg, self.dial
        try:
            if cfg.tls_context is not None:
                self._tls_handshake()
            if not self._send(dial.request):
                raise HandshakeFailed("could not send the upgrade request")
            try:
                head, trailing = self._read_request()
            except hs.HandshakeError:
                raise ch.ResponseError(f"response headers over {hs.MAX_REQUEST_SIZE} bytes") from None
            protocol = ch.check_response(head, dial.key, cfg.protocols)
        except ch.ResponseError as exc:
            return f"upgrade refused: {exc}"
        except socket.timeout:
            return f"no answer within the handshake timeout ({cfg.handshake_timeout:g} s)"
        except (OSError, HandshakeFailed, ConnectionError) as exc:
            server_name = cfg.tls_context.get_app_data() if cfg.tls_context is not None else None
            if server_name is not None and server_name.failure:
                return str(server_name.failure)
            return f"handshake failed: {exc or type(exc).__name__}"
        # Ours: what get_request_headers() shows.
        return Upgrade(dial.request, protocol, [], self.address[0], None, self.tls, trailing)
