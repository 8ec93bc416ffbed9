"""The server side of the opening handshake on one socket: TLS, then HTTP upgrade.

Runs on the connection's peer thread before anybody else knows the socket, so
it may wait on it: each receive and send is tried without waiting
(``MSG_DONTWAIT`` on the blocking socket) and only when the socket is not
ready does it wait in ``poll()``, up to the handshake deadline. A socket with a
timeout would ``poll()`` before every call, and changing its timeout costs a
system call each time. The request rules themselves are pure
(``protocol/handshake.py``).
"""
from __future__ import annotations

import logging
import select
import socket
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from ..protocol import deflate
from ..protocol import handshake as hs
from .posix import MSG_DONTWAIT as _MSG_DONTWAIT

if TYPE_CHECKING:
    from wsproto.extensions import Extension

    from .connection import ConnectionConfig
    from .tls import TLSSession

__all__ = ["Upgrade", "server_handshake"]

logger = logging.getLogger("godot_ws")

_RECV_SIZE = 65536


class HandshakeFailed(Exception):
    """The client went away or broke TLS before the upgrade completed."""


@dataclass
class Upgrade:
    """What a successful upgrade leaves for the connection."""
    head: bytes         # the request head, parsed again when asked for: see PeerConnection
    protocol: str
    extensions: list[Extension]
    client_host: str
    hook_result: Any
    tls: TLSSession | None
    trailing: bytes     # bytes after the request: the first frames may come with it


def server_handshake(sock: socket.socket, cfg: ConnectionConfig, address: tuple[str, int],
                     accepted_at: float) -> Upgrade | None:
    """Run the handshake; None when it failed (answered with an HTTP error if
    the request was bad, logged either way)."""
    return _Handshake(sock, cfg, address, accepted_at + cfg.handshake_timeout).run()


class _Handshake:
    def __init__(self, sock: socket.socket, cfg: ConnectionConfig, address: tuple[str, int],
                 deadline: float) -> None:
        self.sock = sock
        self.cfg = cfg
        self.address = address
        self.deadline = deadline
        self.tls: TLSSession | None = None
        if sock.gettimeout() is not None:  # a client's, from its connect()
            sock.settimeout(None)

    def run(self) -> Upgrade | None:
        cfg, address = self.cfg, self.address
        try:
            if cfg.tls_context is not None:
                self._tls_handshake()
            head, trailing = self._read_request()
            answer = cfg.http_answer(head) if cfg.http_answer is not None else None
            if answer is not None:
                self._send(answer)
                return None
            req = hs.parse_request(head)
            hs.check_request(req)
            protocol = hs.select_subprotocol(req.protocols_header, cfg.protocols)
            extensions: list[Extension] = []
            extra = cfg.extra_headers
            if cfg.compression:
                ext, offer = deflate.negotiate(req.headers.get("sec-websocket-extensions"),
                                               cfg.limits.max_message_size)
                if ext is not None:
                    extensions = [ext]
                    extra = extra + (f"Sec-WebSocket-Extensions: {offer}",)
            client_host = address[0]
            if cfg.trusted_proxies:
                client_host = hs.forwarded_client(address[0], req.headers, cfg.trusted_proxies)
            hook_result = None
            if cfg.handshake_hook is not None:
                hook_result = _run_hook(cfg.handshake_hook, req, (client_host, address[1]),
                                        protocol)
        except hs.HandshakeError as exc:
            logger.warning("handshake from %s:%s refused (%d): %s",
                           address[0], address[1], exc.status, exc)
            self._send(exc.response())
            return None
        except socket.timeout:
            logger.warning("handshake from %s:%s timed out after %.1f s",
                           address[0], address[1], cfg.handshake_timeout)
            return None
        except (OSError, HandshakeFailed, ConnectionError) as exc:
            logger.info("handshake from %s:%s failed: %s",
                        address[0], address[1], exc or type(exc).__name__)
            return None
        if not self._send(hs.accept_response(req.key, protocol, extra)):
            if hook_result is not None and cfg.handshake_abandoned is not None:
                cfg.handshake_abandoned(hook_result)
            return None
        return Upgrade(head, protocol, extensions, client_host, hook_result, self.tls, trailing)

    def _recv_some(self) -> bytes:
        while True:
            if time.monotonic() >= self.deadline:  # also for a client that never lets it wait
                raise socket.timeout("handshake timeout")
            try:
                data = self.sock.recv(_RECV_SIZE, _MSG_DONTWAIT)
                break
            except BlockingIOError:
                self._wait(select.POLLIN)
        if not data:
            raise HandshakeFailed("connection closed during handshake")
        return data

    def _wait(self, event: int) -> None:
        """Wait until the socket is ready for ``event`` (or not: the caller
        tries again); ``socket.timeout`` once the deadline has passed."""
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise socket.timeout("handshake timeout")
        poller = select.poll()
        poller.register(self.sock, event)
        poller.poll(int(remaining * 1000) + 1)

    def _tls_handshake(self) -> None:
        from .tls import TLSError, TLSSession
        assert self.cfg.tls_context is not None
        tls = self.tls = TLSSession(self.cfg.tls_context)
        try:
            while not tls.do_handshake():
                self._flush_tls()
                tls.feed(self._recv_some())
            # What the handshake's end left to send goes out with the first HTTP
            # bytes: TLS 1.3's session tickets wait for the 101 (a client that
            # reads on one thread while it writes its request on another, as
            # python-websockets' threaded client does, can lose the request to
            # OpenSSL processing the tickets meanwhile: its SSL object is not
            # thread-safe); TLS 1.2's last flight goes before waiting for the request.
        except TLSError as exc:
            self._flush_tls()
            raise HandshakeFailed(f"TLS handshake failed: {exc}") from None

    def _flush_tls(self) -> None:
        assert self.tls is not None
        out = self.tls.outgoing()
        if out:
            self._sendall(out)

    def _read_request(self) -> tuple[bytes, bytes]:
        buf = bytearray()
        tls = self.tls
        # The client's first bytes may have come with its TLS Finished message.
        data = tls.read() if tls is not None else b""
        while True:
            if not data:
                if tls is not None and tls.protocol_version != "TLSv1.3":
                    self._flush_tls()  # TLS 1.2's last flight: the client waits for it
                data = self._recv_some()
                if tls is not None:
                    tls.feed(data)
                    data = tls.read()
            start = max(0, len(buf) - 3)
            buf += data
            end = hs.find_request_end(buf[start:])
            if end >= 0:
                end += start
                if end > hs.MAX_REQUEST_SIZE:
                    break
                return bytes(buf[:end]), bytes(buf[end:])
            if len(buf) > hs.MAX_REQUEST_SIZE:
                break
            data = b""
        raise hs.HandshakeError("request headers too big", 431)

    def _sendall(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            try:
                view = view[self.sock.send(view, _MSG_DONTWAIT):]
            except BlockingIOError:
                self._wait(select.POLLOUT)

    def _send(self, data: bytes) -> bool:
        try:
            if self.tls is not None:
                self.tls.write(data)
                data = self.tls.outgoing()
            self._sendall(data)
            return True
        except Exception as exc:  # a failing answer only loses that answer
            logger.debug("could not answer %s:%s: %s", self.address[0], self.address[1], exc)
            return False


def _run_hook(hook: Callable[..., Any], req: hs.Request, address: tuple[str, int],
              protocol: str) -> Any:
    """Ask the user's handshake hook; a rejection becomes an HTTP answer."""
    try:
        result = hook(req, address, protocol)
    except hs.HandshakeError:
        raise
    except Exception:
        logger.exception("handshake hook failed; refusing %s:%s", *address[:2])
        raise hs.HandshakeError("handshake hook failed", 500) from None
    if result is False:
        raise hs.HandshakeError("connection refused", 403)
    if isinstance(result, tuple) and len(result) == 2 and isinstance(result[0], int):
        raise hs.HandshakeError(str(result[1]), result[0])
    return result
