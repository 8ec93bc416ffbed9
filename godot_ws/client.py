"""WebSocketClient: Godot 3's client API over the threaded transport.

Threads: ``connect_to_url`` starts the client thread (see
``transport/client_connection.py``) and returns at once. Everything in this
module runs on the user's polling thread unless a method says otherwise: the
connection status, the multiplayer state and every signal belong to the
thread that calls ``poll()``. ``put_packet`` and the ``WebSocketPeer``
methods may be called from any thread.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import Any

from .connection_settings import ConnectionSettings, check_seconds
from .crypto import X509Certificate
from .enums import ConnectionStatus, Error
from .multiplayer_session import MultiplayerSession, SessionPeer
from .peer import WebSocketPeer, check_close_args
from .protocol import client_handshake as ch
from .protocol import multiplayer as mp
from .protocol.multiplayer_client import client_frame, parse_server_packet
from .transport import events as ev
from .transport.client_connection import Dial, client_config, shared_writer, start_client
from .transport.memory import tune_heap

__all__ = ["WebSocketClient"]

logger = logging.getLogger("godot_ws")

_DISCONNECTED = ConnectionStatus.CONNECTION_DISCONNECTED
_CONNECTING = ConnectionStatus.CONNECTION_CONNECTING
_CONNECTED = ConnectionStatus.CONNECTION_CONNECTED


class _ClientSession(MultiplayerSession):
    """A client's multiplayer state: received packets and the target peer, as a
    server session keeps them (its peer map stays empty: the server relays)."""

    owner: WebSocketClient

    def put_packet(self, data: bytes) -> Error:
        return self.owner._put_to_server(data, self.target_peer)


class WebSocketClient(ConnectionSettings, SessionPeer):
    """A WebSocket client with Godot 3's API, in raw or multiplayer mode (Godot: ``WebSocketClient``).

    ``connect_to_url()`` starts connecting and returns at once; ``poll()`` on your
    thread fires the signals. In raw mode ``get_peer(1)`` is the connection to
    the server (a :class:`WebSocketPeer`); in multiplayer mode
    (``gd_mp_api=True``) the client is one player of a Godot high-level
    multiplayer game and a :class:`MultiplayerAPI` can use it as its
    ``network_peer``. A context manager: ``with WebSocketClient() as client:``
    calls ``stop()`` on exit.

    Signals:
        connection_established(protocol): raw mode: the upgrade succeeded;
            ``protocol`` is the subprotocol the server chose (``""`` if none).
        connection_error(): raw mode: the attempt failed (refused, no answer,
            bad answer, certificate, protocol error); the log says why.
        connection_closed(was_clean_close): raw mode: the connection ended;
            True when the closing handshake completed, whoever started it.
        server_close_request(code, reason): the server sent a close frame.
        data_received(): raw mode: ``get_peer(1).get_packet()`` has a packet.
        connection_succeeded(), connection_failed(), server_disconnected(),
        peer_connected(id), peer_disconnected(id), peer_packet(peer_source):
            multiplayer mode, as Godot (see docs/reference/client.md).
    """

    _CLASS_NAME = "WebSocketClient"
    _SIGNALS = {
        "data_received": (),
        "connection_established": ("protocol",),
        "server_close_request": ("code", "reason"),
        "connection_closed": ("was_clean_close",),
        "connection_error": (),
    }
    _PROPERTIES = ("verify_ssl", "trusted_ssl_certificate", "handshake_timeout", "transfer_mode")

    def __init__(self) -> None:
        super().__init__()
        #: Check the server's certificate chain and host name on ``wss://``.
        self.verify_ssl = True
        self._trusted: X509Certificate | None = None
        #: Seconds to wait for the server's answer to our close frame.
        self.close_timeout = 5.0
        #: Accepted for MultiplayerAPI's sake; a client has nothing to refuse.
        self.refuse_new_connections = False
        self._status = _DISCONNECTED
        self._mp = False
        self._session = _ClientSession(self)
        self._events: ev.EventQueue | None = None
        self._url = ""
        self._dial: Dial | None = None
        self._thread: Any = None
        self._peer: WebSocketPeer | None = None
        self._established = False  # connection_established / connection_succeeded fired
        self._unique_id = 0
        self._peers: set[int] = set()

    # -- context manager -----------------------------------------------------

    def __enter__(self) -> WebSocketClient:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- properties ----------------------------------------------------------

    @property
    def trusted_ssl_certificate(self) -> X509Certificate | None:
        """When set, the only root ``wss://`` trusts (else the system's roots)."""
        return self._trusted

    @trusted_ssl_certificate.setter
    def trusted_ssl_certificate(self, cert: X509Certificate | None) -> None:
        if cert is not None and not isinstance(cert, X509Certificate):
            raise TypeError("trusted_ssl_certificate must be an X509Certificate or None, "
                            f"not {type(cert).__name__}")
        self._trusted = cert

    def get_trusted_ssl_certificate(self) -> X509Certificate | None:
        """Return :attr:`trusted_ssl_certificate`."""
        return self._trusted

    def set_trusted_ssl_certificate(self, cert: X509Certificate | None) -> None:
        """Set :attr:`trusted_ssl_certificate` (None: the system's roots)."""
        self.trusted_ssl_certificate = cert

    def is_verify_ssl_enabled(self) -> bool:
        """Return ``verify_ssl``: whether ``wss://`` checks the chain and host name."""
        return bool(self.verify_ssl)

    def set_verify_ssl_enabled(self, enabled: bool) -> None:
        """Set ``verify_ssl`` (False accepts any certificate, as Godot)."""
        self.verify_ssl = bool(enabled)

    # -- connecting ----------------------------------------------------------

    def connect_to_url(self, url: str, protocols: Iterable[str] = (), gd_mp_api: bool = False,
                       custom_headers: Iterable[str] = ()) -> Error:
        """Start connecting to ``ws://`` or ``wss://`` ``url``; returns at once.

        The outcome is a signal inside a later ``poll()``: ``connection_established``
        or ``connection_error`` (raw mode), ``connection_succeeded`` or
        ``connection_failed`` (multiplayer mode).
        """
        if not isinstance(url, str):
            raise TypeError(f"url must be a str, got {type(url).__name__}")
        protocols = ch.check_strings("protocols", protocols, "e.g. ['chat']")
        headers = ch.check_custom_headers(custom_headers)
        if self._status != _DISCONNECTED:
            logger.error("connect_to_url: already connecting or connected; "
                         "call disconnect_from_host() first")
            return Error.ERR_ALREADY_IN_USE
        target = ch.parse_url(url)
        if target is None:
            logger.error("connect_to_url: %r is not a ws:// or wss:// URL with a host "
                         "(and a valid port)", url)
            return Error.ERR_INVALID_PARAMETER
        tls_context = None
        if target.tls:
            from .transport.tls_client import make_client_context
            tls_context = make_client_context(target.host, bool(self.verify_ssl), self._trusted)
        protocols = tuple(p.strip() for p in protocols)
        key = ch.new_key()
        self._reset_session()
        self._mp = bool(gd_mp_api)
        self._events = ev.EventQueue()
        tune_heap()  # before the writer and client threads start: see transport/memory.py
        cfg = client_config(self._events, shared_writer.acquire(), protocols=protocols,
                            limits=self._limits, handshake_timeout=self._handshake_timeout,
                            close_timeout=check_seconds("close_timeout", self.close_timeout),
                            tls_context=tls_context)
        self._dial = Dial(target, key, ch.build_request(target, key, protocols, headers))
        self._url = target.url
        self._status = _CONNECTING
        self._thread = start_client(cfg, self._dial)
        return Error.OK

    def _reset_session(self) -> None:
        self._session.packets.clear()
        self._peers = set()
        self._unique_id = 0
        self._established = False
        self._peer = None

    def disconnect_from_host(self, code: int = 1000, reason: str = "") -> None:
        """Start the closing handshake (``connection_closed`` fires when it ends);
        while connecting, give up at once with no signal. Idempotent."""
        check_close_args(code, reason)
        if self._status == _CONNECTING:
            self._end(None)
        elif self._status == _CONNECTED and self._peer is not None:
            self._peer.close(code, reason)

    def stop(self, timeout: float | None = None) -> None:
        """An addition: ``disconnect_from_host()``, then wait (up to ``timeout``
        s, default ``close_timeout``) for the closing handshake and the client
        thread to end. No signal fires after it returns, as ``WebSocketServer.stop()``."""
        thread, dial = self._thread, self._dial
        if self._status == _CONNECTING and dial is not None:
            dial.cancel()
        elif self._status == _CONNECTED:
            self.disconnect_from_host()
        if thread is not None:
            thread.join(self.close_timeout if timeout is None else timeout)
            if thread.is_alive() and dial is not None:
                dial.cancel()
                thread.join(self.close_timeout)
        self._end(None)

    def _end(self, signal: str | None, *args: Any) -> None:
        """The session is over: release it, then emit ``signal``."""
        if self._dial is not None:
            self._dial.cancel()
        if self._peer is not None:
            self._peer._mark_disconnected()
        self._dial = None
        if self._events is not None:
            self._events.close()  # its wake-up descriptor (a late put from the thread is ignored)
        self._events = None
        self._thread = None
        self._status = _DISCONNECTED
        self._peers = set()
        if signal is not None:
            self.emit_signal(signal, *args)

    # -- polling ---------------------------------------------------------------

    def poll(self, timeout: float | None = 1.0) -> None:
        """As ``WebSocketServer.poll``: wait up to ``timeout`` s (None: for the next
        event, 0: not at all), emit the signals of what arrived, run deferred calls."""
        wait = None if timeout is None else check_seconds("timeout", timeout, allow_zero=True)
        events = self._events
        if events is None:
            if wait:
                time.sleep(min(wait, 0.05))  # no connection to wait on; don't spin callers
        else:
            for event in events.take_all(wait):
                if self._events is not events:
                    break  # a handler disconnected (or reconnected): the rest is stale
                self._dispatch(event)
        self._flush_deferred()

    def _wake(self) -> None:
        if self._events is not None:
            self._events.wake()

    def _dispatch(self, event: ev.Event) -> None:
        cls = type(event)
        if cls is ev.ConnectFailed:  # logged by the client thread
            self._end("connection_failed" if self._mp else "connection_error")
            return
        conn = event.conn  # type: ignore[union-attr]
        if cls is ev.Data:
            conn.took(len(event.messages), event.nbytes)  # type: ignore[union-attr]
            peer = self._peer
            for data, is_text in event.messages:  # type: ignore[union-attr]
                if self._peer is not peer:
                    return
                if self._mp:
                    self._mp_data(data)
                    continue
                dropped = peer._receive(data, is_text)  # type: ignore[union-attr]
                if dropped:
                    logger.error("WebSocketClient: %s", dropped)
                self.emit_signal("data_received")
        elif cls is ev.Connected:
            self._peer = WebSocketPeer(conn, mp.SERVER_ID)
            conn.peer = self._peer
            self._status = _CONNECTED
            if not self._mp:  # multiplayer mode waits for the server's SYS_ADD 1
                self._established = True
                self.emit_signal("connection_established", event.protocol)  # type: ignore[union-attr]
        elif cls is ev.CloseRequest:
            self.emit_signal("server_close_request", event.code, event.reason)  # type: ignore[union-attr]
        elif cls is ev.ProtocolFailure:
            failure = conn.session.failure
            assert failure is not None  # set before the event was posted
            logger.warning("WebSocketClient: %s: the server broke the protocol (%s), closing with %d",
                           self._url, failure.reason, failure.code)
            conn.failure_close()  # after the handlers of the messages before it ran
        elif cls is ev.Disconnected:
            failed = conn.session.failure is not None or not self._established
            if self._mp:
                self._end("connection_failed" if failed else "server_disconnected")
            elif failed:
                self._end("connection_error")
            else:
                self._end("connection_closed", bool(event.clean))  # type: ignore[union-attr]

    # -- multiplayer mode --------------------------------------------------------

    def _mp_data(self, data: bytes) -> None:
        packet = parse_server_packet(data)
        if isinstance(packet, str):
            logger.error("WebSocketClient: dropped packet from the server: %s", packet)
            return
        kind, peer_id = packet.kind, packet.peer_id
        if kind == mp.SYS_NONE:
            self._session.packets.append((packet.frm, packet.payload))
            self.emit_signal("peer_packet", packet.frm)
        elif kind == mp.SYS_ID:
            self._unique_id = peer_id
        elif kind == mp.SYS_ADD:
            self._peers.add(peer_id)
            self.emit_signal("peer_connected", peer_id)
            if peer_id == mp.SERVER_ID and not self._established:
                self._established = True
                self.emit_signal("connection_succeeded")
        elif peer_id in self._peers:
            self._peers.discard(peer_id)
            self.emit_signal("peer_disconnected", peer_id)

    def _put_to_server(self, data: bytes, target: int) -> Error:
        """``put_packet`` in multiplayer mode (see :class:`_ClientSession`)."""
        peer = self._peer
        if peer is None or not self._unique_id:
            logger.error("put_packet: not connected (no id from the server yet)")
            return Error.FAILED
        return peer._send_frame(client_frame(self._unique_id, target, bytes(data)))

    def _active_session(self, what: str) -> MultiplayerSession | None:
        if not self._mp:
            logger.error("%s needs multiplayer mode (connect_to_url(..., gd_mp_api=True)); "
                         "in raw mode use get_peer(1)", what)
            return None
        return self._session

    def _in_use(self) -> bool:
        return self._status != _DISCONNECTED

    def get_unique_id(self) -> int:
        """The id the server gave this client (0 before it arrives)."""
        return self._unique_id

    def is_server(self) -> bool:
        """False: a client is never the server (Godot's ``is_server``)."""
        return False

    def get_peer_ids(self) -> list:
        """Ids of the other players and the server (1) the server announced (an addition)."""
        return sorted(self._peers)

    # -- the connection ------------------------------------------------------

    def get_connection_status(self) -> ConnectionStatus:
        """``CONNECTION_DISCONNECTED``, ``CONNECTING`` (until the upgrade) or ``CONNECTED``
        (from the upgrade until the end is reported, closing handshake included)."""
        return self._status

    def get_peer(self, id: int) -> WebSocketPeer | None:
        """The connection to the server (``id`` 1); None and an error otherwise."""
        if id != mp.SERVER_ID:
            logger.error("get_peer: a client has only peer 1 (the server), not %s", id)
            return None
        if self._peer is None:
            logger.error("get_peer: not connected")
        return self._peer

    def get_connected_host(self) -> str:
        """The server's IP address ("" and an error when not connected)."""
        if self._status != _CONNECTED or self._peer is None:
            logger.error("get_connected_host: not connected")
            return ""
        return self._peer.get_connected_host()

    def get_connected_port(self) -> int:
        """The server's port (0 and an error when not connected)."""
        if self._status != _CONNECTED or self._peer is None:
            logger.error("get_connected_port: not connected")
            return 0
        return self._peer.get_connected_port()
