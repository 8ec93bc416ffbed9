"""WebSocketServer: Godot 3's server API over the threaded transport.

Threads: ``listen()`` starts the acceptor and backlog-writer threads; each
connection gets its peer thread (see ``transport/connection.py`` for who owns
what). Everything in this module runs on the user's polling thread unless a
method says otherwise: the peer map, the multiplayer packet queue and every
signal belong to the thread that calls ``poll()``. ``put_packet`` and the
``WebSocketPeer`` methods may be called from any thread. One thread polls at a
time: ``_poll_owner`` (a dict, claimed with the atomic ``setdefault``) holds
its ident; a ``poll()`` from a handler on that thread continues the batch in
progress (``_pending``, ``_current``). See docs/topics/threading.md, "Threading contract".
"""
from __future__ import annotations

import errno
import ipaddress
import logging
import threading
import time
from collections import deque
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Callable

from .connection_settings import ConnectionSettings
from .connection_settings import check_seconds as _check_seconds
from .enums import ConnectionStatus, Error
from .multiplayer_session import MultiplayerSession, SessionPeer
from .peer import WebSocketPeer
from .protocol import handshake as hs
from .protocol import multiplayer as mp
from .protocol.limits import DEFAULT_LIMITS, Limits
from .transport import events as ev
from .transport.acceptor import Acceptor, Registry, open_listener
from .transport.connection import ConnectionConfig, Cork
from .transport.events import EventQueue
from .transport.memory import tune_heap
from .transport.posix import require_posix_sockets
from .transport.sockets import shutdown
from .transport.writer import BacklogWriter

if TYPE_CHECKING:
    from .crypto import CryptoKey, X509Certificate
    from .rooms import Rooms
    from .transport.connection import PeerConnection

__all__ = ["WebSocketServer"]

logger = logging.getLogger("godot_ws")

_STOP_JOIN_TIMEOUT = 5.0


class WebSocketServer(ConnectionSettings, SessionPeer):
    """A WebSocket server with Godot 3's API, in raw or multiplayer mode (Godot: ``WebSocketServer``).

    ``listen()`` starts it; ``poll()`` on your thread fires the signals. In raw
    mode (``gd_mp_api=False``) every client is a :class:`WebSocketPeer` that
    ``get_peer(id)`` returns; in multiplayer mode (``gd_mp_api=True``) the
    server is peer 1 of a Godot high-level multiplayer game and relays the
    clients' packets as Godot's server does. A context manager: ``with
    WebSocketServer() as server:`` calls ``stop()`` on exit.

    Signals:
        client_connected(id, protocol): raw mode: peer ``id`` completed the
            handshake; ``protocol`` is the negotiated subprotocol (``""`` if none).
        client_disconnected(id, was_clean_close): raw mode: peer ``id`` is gone;
            ``was_clean_close`` is True when the closing handshake completed.
        client_close_request(id, code, reason): peer ``id`` sent a close frame
            with this ``code`` and ``reason`` (both modes).
        data_received(id): raw mode: peer ``id`` has a packet for ``get_peer(id).get_packet()``.
    """

    _CLASS_NAME = "WebSocketServer"
    _SIGNALS = {
        "client_connected": ("id", "protocol"),
        "client_disconnected": ("id", "was_clean_close"),
        "client_close_request": ("id", "code", "reason"),
        "data_received": ("id",),
    }
    _PROPERTIES = ("bind_ip", "private_key", "ssl_certificate", "ca_chain",
                   "handshake_timeout", "refuse_new_connections", "transfer_mode")
    _session: MultiplayerSession

    def __init__(self) -> None:
        super().__init__()
        self._bind_ip = "*"
        self._private_key: CryptoKey | None = None
        self._ssl_certificate: X509Certificate | None = None
        self._ca_chain: X509Certificate | None = None
        self._handshake_timeout = 3.0
        self._limits: Limits = DEFAULT_LIMITS
        #: Turn new connections away (both modes); connected peers stay (Godot: same name).
        self.refuse_new_connections = False
        #: Seconds to wait for the client's answer to our close frame (Godot waits forever).
        self.close_timeout = 5.0
        #: Keepalive (an addition, off by default as in Godot): ping every
        #: ``ping_interval`` s; drop a peer whose pong is ``ping_timeout`` s late.
        self.ping_interval = 0.0
        self.ping_timeout = 0.0
        #: Drop a peer whose output has made no progress for this long (0: never).
        self.output_stall_timeout = 30.0
        #: Called as ``hook(request, (host, port), protocol)`` on the peer's thread
        #: before an id is assigned; see "Letting the right people in" in the docs.
        self.handshake_hook: Callable[..., Any] | None = None
        #: Relay policy for multiplayer mode: ``policy(from_id, to_id, payload)``.
        self.relay_policy: mp.RelayPolicy | None = None
        #: Negotiate permessage-deflate when a client offers it (off, as Godot:
        #: Godot's native clients cannot decode compressed frames).
        self.compression = False
        #: Multiplayer mode: tell peers about each other (Godot always does).
        self.announce_peers = True
        #: Multiplayer mode: many games in one server (a :class:`Rooms`; see "Host many
        #: games in one server" in the docs); set before listen.
        self.rooms: Rooms | None = None
        self._extra_headers: tuple[str, ...] = ()
        self._trusted_proxies: tuple[hs.Network, ...] = ()
        self._poll_owner: dict[str, int] = {}
        self._poll_depth = 0
        self._reset_state()

    def _reset_state(self) -> None:
        self._listening = False
        self._mp = False
        self._protocols: tuple[str, ...] = ()
        self._peers: dict[int, WebSocketPeer] = {}
        self._events: EventQueue | None = None
        self._acceptor: Acceptor | None = None
        self._writer: BacklogWriter | None = None
        self._registry: Registry | None = None
        self._port = 0
        self._generation = getattr(self, "_generation", 0) + 1
        self._session = MultiplayerSession(self)
        self._games: Any = self._session  # where multiplayer peers play: one game, or Rooms
        # Taken from the queue, not dispatched yet (a handler's poll() or a
        # Ctrl-C in a handler leaves them for the next poll()).
        self._pending: deque[ev.Event] = deque()
        # The Data event being dispatched: [conn, messages, index of the next one].
        self._current: list[Any] | None = None
        # What a stop() interrupted by Ctrl-C has still to do (see stop()).
        self._stopping: tuple[Any, ...] | None = None

    # -- context manager -------------------------------------------------------

    def __enter__(self) -> WebSocketServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- properties --------------------------------------------------------------

    @property
    def bind_ip(self) -> str:
        """Address to listen on: ``"*"`` (every interface, the default) or an IP address; fixed
        while listening (Godot: ``bind_ip``).
        """
        return self._bind_ip

    @bind_ip.setter
    def bind_ip(self, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError(f"bind_ip must be a str, got {type(value).__name__}")
        if self._listening:
            logger.error("bind_ip cannot change while listening; call stop() first")
            return
        if value != "*":
            try:
                ipaddress.ip_address(value)
            except ValueError:
                raise ValueError(f"bind_ip must be '*' or an IP address, got {value!r}") from None
        self._bind_ip = value

    def _tls_setter(name: str, doc: str) -> property:  # type: ignore[misc]
        attr = "_" + name

        def get(self: WebSocketServer) -> Any:
            return getattr(self, attr)

        def set_(self: WebSocketServer, value: Any) -> None:
            if self._listening:
                logger.error("%s cannot change while listening; call stop() first", name)
                return
            setattr(self, attr, value)
        return property(get, set_, doc=doc)

    private_key = _tls_setter("private_key", "The server's :class:`CryptoKey`; with "
                              ":attr:`ssl_certificate` set too, the server speaks only wss://.")
    ssl_certificate = _tls_setter("ssl_certificate", "The server's :class:`X509Certificate` "
                                  "(a chain file loads whole); set before ``listen``.")
    ca_chain = _tls_setter("ca_chain", "Intermediate certificates (an :class:`X509Certificate`) "
                           "sent after :attr:`ssl_certificate`; set before ``listen``.")
    del _tls_setter

    def get_private_key(self) -> CryptoKey | None:
        """Return :attr:`private_key` (Godot: ``get_private_key``)."""
        return self._private_key

    def set_private_key(self, key: CryptoKey | None) -> None:
        """Set :attr:`private_key` to ``key`` (a :class:`CryptoKey`); before ``listen`` only."""
        self.private_key = key

    def get_ssl_certificate(self) -> X509Certificate | None:
        """Return :attr:`ssl_certificate` (Godot: ``get_ssl_certificate``)."""
        return self._ssl_certificate

    def set_ssl_certificate(self, cert: X509Certificate | None) -> None:
        """Set :attr:`ssl_certificate` to ``cert`` (an :class:`X509Certificate`); before ``listen``
        only.
        """
        self.ssl_certificate = cert

    def get_ca_chain(self) -> X509Certificate | None:
        """Return :attr:`ca_chain` (Godot: ``get_ca_chain``)."""
        return self._ca_chain

    def set_ca_chain(self, chain: X509Certificate | None) -> None:
        """Set :attr:`ca_chain` to ``chain`` (an :class:`X509Certificate`); before ``listen`` only.
        """
        self.ca_chain = chain

    def set_extra_headers(self, headers: Iterable[str]) -> None:
        """Extra ``Name: value`` lines for the 101 response (late Godot 3.x)."""
        if isinstance(headers, str):
            raise TypeError("set_extra_headers takes a list of 'Name: value' strings")
        lines = tuple(headers)
        for line in lines:
            if not isinstance(line, str) or ":" not in line or "\r" in line or "\n" in line:
                raise ValueError(f"extra header {line!r} must be one 'Name: value' line")
        self._extra_headers = lines

    @property
    def trusted_proxies(self) -> tuple[str, ...]:
        """Reverse proxies (addresses or CIDR networks) whose ``X-Forwarded-For``
        is believed for ``get_peer_address``. Empty (trust nobody) by default."""
        return tuple(str(n) for n in self._trusted_proxies)

    @trusted_proxies.setter
    def trusted_proxies(self, value: Iterable[str]) -> None:
        if isinstance(value, str):
            raise TypeError("trusted_proxies takes a list of addresses, e.g. ['127.0.0.1']")
        self._trusted_proxies = hs.parse_trusted_proxies(value)

    def is_refusing_new_connections(self) -> bool:
        """True when new connections are refused (Godot: ``refuse_new_connections``)."""
        return self.refuse_new_connections

    def set_refuse_new_connections(self, enable: bool) -> None:
        """Refuse (``enable=True``) or accept new connections; peers already connected stay."""
        self.refuse_new_connections = bool(enable)

    def get_bind_ip(self) -> str:
        """Return :attr:`bind_ip`."""
        return self.bind_ip

    def set_bind_ip(self, ip: str) -> None:
        """Set :attr:`bind_ip` to ``ip`` (``"*"`` or an IP address) before ``listen``."""
        self.bind_ip = ip

    # -- lifecycle --------------------------------------------------------------

    def _in_use(self) -> bool:
        return self._listening

    def listen(self, port: int, protocols: Iterable[str] = (), gd_mp_api: bool = False) -> Error:
        """Bind ``bind_ip``:``port`` and start accepting; returns at once (Godot: ``listen``).

        Args:
            port: TCP port; 0 picks a free one (see ``get_port``).
            protocols: accepted subprotocols, negotiated as Godot does (empty: none).
            gd_mp_api: True for Godot's high-level multiplayer framing (ids,
                relaying, ``peer_*`` signals); False for raw mode.

        Returns:
            ``OK``; ``ERR_ALREADY_IN_USE`` when already listening or when the
            port is taken. Raises ``OSError`` on a system without POSIX sockets
            (Windows).
        """
        require_posix_sockets()
        if isinstance(port, bool) or not isinstance(port, int):
            raise TypeError(f"port must be an int, got {type(port).__name__}")
        if not 0 <= port <= 65535:
            raise ValueError(f"port must be 0-65535 (0 picks a free port), got {port}")
        if isinstance(protocols, (str, bytes)):
            raise TypeError("protocols must be a list of strings, e.g. ['chat'], not a string")
        protocols = tuple(protocols)
        for p in protocols:
            if not isinstance(p, str):
                raise TypeError(f"each protocol must be a str, got {type(p).__name__}")
        for name in ("handshake_hook", "relay_policy"):
            value = getattr(self, name)
            if value is not None and not callable(value):
                raise TypeError(f"{name} must be callable or None, got {type(value).__name__}")
        if self.rooms is not None and not gd_mp_api:
            raise ValueError("rooms need multiplayer mode: listen(port, protocols, gd_mp_api=True)")
        # Every setting is checked before anything (socket, thread) is created.
        close_timeout = _check_seconds("close_timeout", self.close_timeout)
        ping_interval = _check_seconds("ping_interval", self.ping_interval, True)
        ping_timeout = _check_seconds("ping_timeout", self.ping_timeout, True)
        stall_timeout = _check_seconds("output_stall_timeout", self.output_stall_timeout, True)
        if self._stopping is not None:
            self.stop()  # finish a stop() that Ctrl-C interrupted
        if self._listening:
            logger.error("listen() called while already listening")
            return Error.ERR_ALREADY_IN_USE
        tls_context = None
        if self._private_key is not None and self._ssl_certificate is not None:
            from .transport.tls import make_server_context
            try:
                tls_context = make_server_context(self._private_key, self._ssl_certificate,
                                                  self._ca_chain)
            except ValueError as exc:
                logger.error("cannot listen with TLS: %s", exc)
                return Error.ERR_INVALID_PARAMETER
        try:
            listener = open_listener(self._bind_ip, port)
        except OSError as exc:
            logger.error("cannot listen on %s:%d: %s", self._bind_ip, port, exc)
            return Error.ERR_ALREADY_IN_USE if exc.errno == errno.EADDRINUSE else Error.ERR_CANT_CREATE
        self._reset_state()
        self._mp = bool(gd_mp_api)
        self._protocols = tuple(p.strip() for p in protocols)
        self._events = EventQueue()
        tune_heap()  # before this server starts any thread: see transport/memory.py
        self._writer = BacklogWriter()
        self._registry = Registry()
        self._cork = Cork()
        hooks: dict[str, Any] = {"handshake_hook": self.handshake_hook}
        if self.rooms is not None:
            self._games = self.rooms
            hooks = self.rooms._start(self, self.handshake_hook)
        cfg = ConnectionConfig(
            cork=self._cork, events=self._events, writer=self._writer, protocols=self._protocols,
            limits=self._limits, handshake_timeout=self._handshake_timeout,
            close_timeout=close_timeout, tls_context=tls_context,
            extra_headers=self._extra_headers, trusted_proxies=self._trusted_proxies, **hooks,
            compression=bool(self.compression), ping_interval=ping_interval,
            ping_timeout=ping_timeout, output_stall_timeout=stall_timeout)
        self._port = listener.getsockname()[1]
        self._acceptor = Acceptor(listener, cfg, self._registry,
                                  lambda: self.refuse_new_connections)
        self._listening = True
        self._acceptor.start()
        logger.debug("listening on %s:%d", self._bind_ip, self._port)
        return Error.OK

    def is_listening(self) -> bool:
        """True between a successful ``listen()`` and ``stop()``."""
        return self._listening

    def get_port(self) -> int:
        """The bound port (an addition: useful after ``listen(0)``)."""
        return self._port

    def get_connection_status(self) -> ConnectionStatus:
        """``CONNECTION_CONNECTED`` while listening, else ``CONNECTION_DISCONNECTED``."""
        return (ConnectionStatus.CONNECTION_CONNECTED if self._listening
                else ConnectionStatus.CONNECTION_DISCONNECTED)

    def stop(self, close_code: int = 1000) -> None:
        """Close every peer (a ``close_code`` close frame: 1000 as Godot), the
        listener and every thread. No signal fires during or after it, as in
        Godot. Idempotent: a stop() that Ctrl-C interrupted finishes when called
        again (or by the next ``listen()``).
        """
        if self._listening and self._stopping is None:
            self._stopping = (self._events, self._writer, self._registry, self._acceptor,
                              close_code)
        if self._stopping is None:
            return
        self._listening = False
        self._generation += 1
        events, writer, registry, acceptor, close_code = self._stopping
        acceptor.stop()
        registry.close()  # a peer upgraded after the snapshot would escape stop()
        for sock, conn in registry.snapshot():
            if conn is not None:
                conn.stop_close(close_code)
            else:
                shutdown(sock)
        deadline = time.monotonic() + _STOP_JOIN_TIMEOUT
        # Peer threads that started between the snapshot and the acceptor's
        # exit are reached by the next snapshot.
        while not registry.wait_empty(min(0.5, max(0.0, deadline - time.monotonic()))):
            if time.monotonic() >= deadline:
                logger.error("stop(): some peer threads did not finish in time")
                break
            for sock, _ in registry.snapshot():
                shutdown(sock)
        writer.stop()
        events.close()  # also makes a poll() this stop() interrupted return
        for peer in self._peers.values():
            peer._mark_disconnected()
        if self._games is not self._session:
            self._games._stop()
        self._reset_state()

    # -- polling -------------------------------------------------------------

    def poll(self, timeout: float | None = 1.0) -> None:
        """Wait up to ``timeout`` s for network events, then emit their signals (Godot: ``poll``).

        The signals fire on the calling thread, in arrival order per peer.
        ``poll(0)`` never blocks; ``poll(None)`` waits for the next event. On
        the main thread a signal ends the wait at once. Deferred calls run last.
        One thread polls at a time: ``RuntimeError`` if another thread is in
        ``poll()``; from a handler, ``poll()`` goes on with the batch in
        progress, in order.
        """
        if timeout is not None:
            timeout = _check_seconds("timeout", timeout, allow_zero=True)
        me = threading.get_ident()
        owner = self._poll_owner.setdefault("thread", me)  # atomic: one claim wins
        if owner != me:
            raise RuntimeError(f"poll() is already running on thread {owner}; poll a server "
                               "from one thread at a time (docs/topics/threading.md)")
        # Depth 0 with our claim: the outermost poll(), or a claim that a Ctrl-C
        # left behind on this thread; either way this call releases it.
        outer = self._poll_depth == 0
        self._poll_depth += 1
        try:
            self._poll(timeout)
        finally:
            self._poll_depth -= 1
            if outer:
                self._poll_depth = 0
                self._poll_owner.pop("thread", None)

    def _poll(self, timeout: float | None) -> None:
        events = self._events
        if events is not None and self._listening:
            generation = self._generation
            if not self._pending and self._current is None:
                if self._games is not self._session:
                    timeout = self._games._wait(timeout)  # a room may close before then
                batch = events.take_all(timeout)
                if self._generation == generation:  # else stop() ran meanwhile (signal handler)
                    self._pending.extend(batch)
            if self._pending or self._current is not None:
                self._dispatch()
            if self._generation == generation and self._games is not self._session:
                self._games._expire()
        elif timeout:
            time.sleep(min(timeout, 0.05))  # nothing to wait on; don't spin callers
        self._flush_deferred()

    def _wake(self) -> None:
        if self._events is not None:
            self._events.wake()

    def _dispatch(self) -> None:
        cork = self._cork
        pending = self._pending
        if cork.owner or (len(pending) == 1 and self._current is None and (
                type(pending[0]) is not ev.Data or len(pending[0][1]) == 1)):
            # A handler's poll() (the outer one holds the cork), or one message:
            # nothing to gather, write at once.
            self._dispatch_pending()
            return
        cork.begin()
        try:
            self._dispatch_pending()
        finally:
            cork.end()

    def _dispatch_pending(self) -> None:
        """Dispatch ``_pending`` in order; a handler's ``poll()`` continues it."""
        generation = self._generation
        pending = self._pending
        if self._current is not None:
            self._deliver(self._current)
        while pending and self._generation == generation:  # else stop() ran in a handler
            event = pending.popleft()
            cls = type(event)
            conn = event.conn  # type: ignore[union-attr]  # ConnectFailed: client queues only
            if cls is ev.Data:
                conn.took(len(event.messages), event.nbytes)  # type: ignore[union-attr]
                if conn.peer is not None:
                    self._current = [conn, event.messages, 0]  # type: ignore[union-attr]
                    self._deliver(self._current)
            elif cls is ev.Connected:
                self._connected(conn, event.protocol)  # type: ignore[union-attr]
            elif cls is ev.CloseRequest:
                if conn.peer is not None:
                    self.emit_signal("client_close_request", conn.peer_id,
                                     event.code, event.reason)  # type: ignore[union-attr]
            elif cls is ev.ProtocolFailure:
                conn.failure_close()  # after the replies to the messages before it
            elif cls is ev.Disconnected:
                self._disconnected(conn, event.clean)  # type: ignore[union-attr]

    def _deliver(self, current: list[Any]) -> None:
        """The messages of one Data event from ``current[2]`` on, one signal each."""
        conn, msgs = current[0], current[1]
        peer, peer_id = conn.peer, conn.peer_id
        generation = self._generation
        n = len(msgs)
        while current[2] < n and self._generation == generation:
            data, is_text = msgs[current[2]]
            current[2] += 1  # first: a handler's poll() must not deliver it again
            if self._mp:
                self._games.receive(peer_id, msgs[current[2] - 1:current[2]])
            else:
                dropped = peer._receive(data, is_text)
                if dropped:
                    logger.error("peer %d: %s", peer_id, dropped)
                self.emit_signal("data_received", peer_id)
        if self._current is current:
            self._current = None

    def _connected(self, conn: PeerConnection, protocol: str) -> None:
        peer_id = mp.new_peer_id(self._peers)
        peer = WebSocketPeer(conn, peer_id)
        conn.peer_id = peer_id
        conn.peer = peer
        self._peers[peer_id] = peer
        if conn.cfg.ping_interval:
            conn.cfg.writer.add_deadline(conn, time.monotonic() + conn.cfg.ping_interval, "ping")
        if self._mp:
            self._games.join(conn, peer_id, peer)
        else:
            self.emit_signal("client_connected", peer_id, protocol)

    def _disconnected(self, conn: PeerConnection, clean: bool) -> None:
        peer = conn.peer
        if peer is None:
            return
        peer_id = conn.peer_id
        peer._mark_disconnected()
        if self._mp:
            del self._peers[peer_id]
            self._games.leave(peer_id)
        else:
            self.emit_signal("client_disconnected", peer_id, bool(clean))
            self._peers.pop(peer_id, None)

    # -- multiplayer mode ------------------------------------------------------

    def _active_session(self, what: str) -> MultiplayerSession | None:
        if not self._mp:
            logger.error("%s needs multiplayer mode (listen(..., gd_mp_api=True))", what)
            return None
        if self._games is not self._session:
            logger.error("%s: with rooms, every Room is the multiplayer peer of its game", what)
            return None
        return self._session
        """Choose who the next ``put_packet`` goes to: a peer id, 0 for everyone, ``-id`` for
        everyone but ``id``.
        """

    # -- peers -----------------------------------------------------------------

    def has_peer(self, id: int) -> bool:
        """True when a peer with this ``id`` is connected."""
        return id in self._peers

    def get_peer(self, id: int) -> WebSocketPeer | None:
        """The :class:`WebSocketPeer` of ``id``; ``None`` (and an error log) for an unknown id."""
        peer = self._peers.get(id)
        if peer is None:
            logger.error("get_peer: no peer with id %s", id)
        return peer

    def get_peer_ids(self) -> list:
        """Ids of the connected peers (an addition)."""
        return list(self._peers)

