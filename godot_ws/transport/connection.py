"""One peer connection: its thread, the WebSocket engine under it, its write path.

Threading model (the whole transport layer)
-------------------------------------------
Threads:
- the **acceptor** thread (``acceptor.py``) accepts TCP connections and starts
  one **peer thread** per connection; it never reads or writes a peer socket;
- each **peer thread** runs :func:`run_peer`: the TLS and HTTP handshakes,
  then the read loop of its connection; it is the only thread that reads its
  socket and the only one that closes it (at exit);
- the **backlog writer** thread (``writer.py``) flushes bytes a socket could
  not take at once and fires per-connection deadlines (close timeout, stalled
  output, keepalive);
- the user's **polling thread** calls ``WebSocketServer.poll()``; it takes
  events from the one :class:`~godot_ws.transport.events.EventQueue` and may
  write frames to any connection (``put_packet``, ``close``).

Writes: any thread may write to a connection, but only while holding that
connection's ``lock`` and only with non-blocking sends. Bytes the kernel does
not take go to the connection's backlog; while the backlog is non-empty every
new write is appended to it, and only the backlog writer drains it (under the
same lock). So every frame goes out whole and in order, one writer at a time.
During the handshake the peer thread is the only one that knows the socket
and writes to it directly with blocking sends.

``lock`` guards: the wsproto connection (parsing changes its state, and so does
sending a close), the TLS session (every pyOpenSSL call: a memory-BIO session
that does no I/O, so no call under the lock ever blocks), the backlog and its
counters, and ``state``. No blocking call is made while holding it: the peer
thread waits in ``recv`` without it.

``cfg.gate`` (one per server) is held by a peer thread while it parses one
read and hands the batch over, never while it waits in ``recv`` or is parked;
it is always taken first (before ``lock`` and the event queue's lock), so it
cannot deadlock. One parser at a time costs nothing under the GIL and keeps
thousands of peer threads from starving the polling thread of it.

Reads flow up as one event batch per socket read (``EventQueue.put_many``).
The peer thread stops reading (TCP back-pressure) while the packets it handed
over but ``poll()`` has not yet taken exceed the peer's input limits, so a
flood between two polls meets a bound.
"""
from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from threading import get_ident
from typing import Any, Callable

import simple_websocket
from simple_websocket.ws import Base as _SimpleWebSocketBase
from wsproto import ConnectionType
from wsproto.connection import Connection as WSProtoConnection
from wsproto.connection import ConnectionState
from wsproto.events import BytesMessage, CloseConnection, Message, Ping, Pong, TextMessage
from wsproto.extensions import Extension

from ..enums import Error
from ..protocol import deflate
from ..protocol import handshake as hs
from ..protocol.frames import frame_header
from ..protocol.limits import DEFAULT_LIMITS, Limits
from ..protocol.unmask import make_frame_protocol
from . import events as ev

__all__ = ["ConnectionConfig", "Cork", "PeerConnection", "close_quietly", "run_peer",
           "OPEN", "CLOSING", "CLOSED"]

logger = logging.getLogger("godot_ws")

OPEN, CLOSING, CLOSED = 0, 1, 2
_IDLE_RECV_SIZE = 2048
_RECV_SIZE = 65536
_BIG_RECV_SIZE = 1 << 20
_IOV_MAX = 512
_MSG_DONTWAIT = getattr(socket, "MSG_DONTWAIT", 0)


class Cork:
    """Set by the polling thread around a dispatch: frames that thread writes
    meanwhile are held per connection and written together at the end.

    ``owner`` is the polling thread's ident while it dispatches, else 0;
    ``dirty`` lists the connections holding corked frames (polling thread only).
    """
    __slots__ = ("owner", "dirty")

    def __init__(self) -> None:
        self.owner = 0
        self.dirty: list[PeerConnection] = []

    def begin(self) -> None:
        self.owner = get_ident()

    def end(self) -> None:
        self.owner = 0
        dirty, self.dirty = self.dirty, []
        for conn in dirty:
            try:
                conn.uncork()
            except Exception:  # one broken peer must not hold the others' frames
                logger.exception("peer %d: write failed", conn.peer_id)


@dataclass
class ConnectionConfig:
    """What every connection of one ``listen()`` shares (a snapshot taken at listen)."""
    events: ev.EventQueue
    writer: Any                                  # BacklogWriter
    protocols: tuple[str, ...] = ()
    limits: Limits = DEFAULT_LIMITS
    handshake_timeout: float = 3.0
    close_timeout: float = 5.0
    tls_context: Any = None                      # OpenSSL.SSL.Context or None
    extra_headers: tuple[str, ...] = ()
    handshake_hook: Callable[..., Any] | None = None
    ping_interval: float = 0.0
    ping_timeout: float = 0.0
    output_stall_timeout: float = 30.0
    no_delay: bool = True
    compression: bool = False
    gate: Any = field(default_factory=threading.Lock)
    cork: Cork = field(default_factory=Cork)
    trusted_proxies: tuple[Any, ...] = ()


class HandshakeFailed(Exception):
    pass


class PeerConnection(_SimpleWebSocketBase):
    """A server-side WebSocket connection run by its own peer thread.

    Built on simple-websocket's ``Base``: Godot's handshake replaces the WSGI
    one, writes go through the locked non-blocking path described above, and
    the read loop posts events for ``poll()`` instead of filling a list.
    """

    def __init__(self, cfg: ConnectionConfig, sock: socket.socket,
                 address: tuple[str, int], accepted_at: float) -> None:
        self.cfg = cfg
        self.address = address
        self.client_host = address[0]
        self.accepted_at = accepted_at
        self.lock = threading.Lock()
        self.state = OPEN
        self.tls: Any = None
        self.request: hs.Request | None = None
        self.peer: Any = None          # set by the polling thread (WebSocketPeer)
        self.peer_id = 0               # set by the polling thread
        self.hook_result: Any = None
        self.deflate = False
        self._slow_path = True   # TLS or compression: writes take the general path
        self._trailing = b""
        self._backlog: list[memoryview] = []   # a list: idle peers should cost little
        self._backlog_bytes = 0
        self._corked: list[bytes] = []
        self._corked_bytes = 0
        self._drain_waiter: threading.Event | None = None  # made only when waited on
        self._stall_since = 0.0
        # Back-pressure counters: each has a single writer, so reading them
        # from the other thread is safe (they only grow).
        self.produced = 0              # packets handed to poll() (peer thread)
        self.produced_bytes = 0
        self.consumed = 0              # packets poll() took (polling thread)
        self.consumed_bytes = 0
        self._resume: threading.Event | None = None       # made on the first park
        self.parked = False
        self.parks = 0                 # times reading stopped for back-pressure
        self.aborted = False
        self.last_pong = 0.0
        self._ping_sent = 0.0
        self.clean = False
        # simple-websocket's Base state that its methods read. Base.__init__ is not
        # called: it would build an h11 handshake, an Event and a reader thread
        # that Godot's handshake and this peer thread replace.
        self.sock = sock
        self.subprotocol: str | None = None
        self.receive_bytes = _RECV_SIZE
        self.ping_interval = None
        self.max_message_size = cfg.limits.max_message_size
        self.pong_received = True
        self.connected = False
        self.is_server = True
        self.close_reason = 1005
        self.close_message: str | None = None
        self.ws: Any = None
        self.handshake()

    # -- handshake (peer thread only; nobody else knows this socket yet) -----

    def handshake(self) -> None:
        cfg = self.cfg
        deadline = self.accepted_at + cfg.handshake_timeout
        try:
            if cfg.tls_context is not None:
                self._tls_handshake(deadline)
            head, self._trailing = self._read_request(deadline)
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
            if cfg.handshake_hook is not None:
                if cfg.trusted_proxies:
                    self.client_host = hs.forwarded_client(self.address[0], req.headers,
                                                           cfg.trusted_proxies)
                self.hook_result = _run_hook(cfg.handshake_hook, req,
                                             (self.client_host, self.address[1]), protocol)
        except hs.HandshakeError as exc:
            logger.warning("handshake from %s:%s refused (%d): %s",
                           self.address[0], self.address[1], exc.status, exc)
            self._send_blocking(exc.response(), deadline)
            return
        except socket.timeout:
            logger.warning("handshake from %s:%s timed out after %.1f s",
                           self.address[0], self.address[1], cfg.handshake_timeout)
            return
        except (OSError, HandshakeFailed, ConnectionError) as exc:
            logger.info("handshake from %s:%s failed: %s",
                        self.address[0], self.address[1], exc or type(exc).__name__)
            return
        req.raw_headers = []  # handshake-only; the joined headers stay readable
        self.request = req
        if cfg.trusted_proxies:
            self.client_host = hs.forwarded_client(self.address[0], req.headers,
                                                   cfg.trusted_proxies)
        if not self._send_blocking(hs.accept_response(req.key, protocol, extra), deadline):
            return
        self.subprotocol = protocol
        self.deflate = bool(extensions)
        self._slow_path = self.deflate or self.tls is not None
        self.ws = WSProtoConnection(ConnectionType.SERVER, extensions=extensions)
        # Until the session owns its FrameProtocol: wsproto's, unmasking in C.
        self.ws._proto = make_frame_protocol(False, extensions)
        if cfg.no_delay:
            try:
                self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
        self.connected = True

    def _recv_some(self, deadline: float) -> bytes:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise socket.timeout("handshake timeout")
        self.sock.settimeout(remaining)
        data = self.sock.recv(_RECV_SIZE)
        if not data:
            raise HandshakeFailed("connection closed during handshake")
        return data

    def _tls_handshake(self, deadline: float) -> None:
        from .tls import TLSError, TLSSession
        self.tls = TLSSession(self.cfg.tls_context)
        try:
            while not self.tls.do_handshake():
                self._flush_tls_blocking(deadline)
                self.tls.feed(self._recv_some(deadline))
            self._flush_tls_blocking(deadline)
        except TLSError as exc:
            self._flush_tls_blocking(deadline)
            raise HandshakeFailed(f"TLS handshake failed: {exc}") from None

    def _flush_tls_blocking(self, deadline: float) -> None:
        out = self.tls.outgoing()
        if out:
            self._sendall(out, deadline)

    def _read_request(self, deadline: float) -> tuple[bytes, bytes]:
        buf = bytearray()
        # The client's first bytes may have come with its TLS Finished message.
        data = self.tls.read() if self.tls is not None else b""
        while True:
            if not data:
                data = self._recv_some(deadline)
                if self.tls is not None:
                    self.tls.feed(data)
                    data = self.tls.read()
                    self._flush_tls_blocking(deadline)
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

    def _sendall(self, data: bytes, deadline: float) -> None:
        self.sock.settimeout(max(0.001, deadline - time.monotonic()))
        self.sock.sendall(data)

    def _send_blocking(self, data: bytes, deadline: float) -> bool:
        try:
            if self.tls is not None:
                self.tls.write(data)
                data = self.tls.outgoing()
            self._sendall(data, deadline)
            return True
        except Exception as exc:  # a failing answer only loses that answer
            logger.debug("could not answer %s:%s: %s", self.address[0], self.address[1], exc)
            return False

    # -- writes (any thread) ------------------------------------------------

    def send_frame(self, header: bytes, payload: bytes) -> Error:
        """Queue one data frame (``header`` from ``frame_header``), applying the
        output limits. Any thread; never blocks. On the polling thread inside
        ``poll()`` the frame is corked: all of a peer's frames of one dispatch
        go out in one write when the dispatch ends (see :class:`Cork`)."""
        with self.lock:
            if self.state != OPEN:
                return Error.FAILED
            if not (self._backlog or self._corked or self._slow_path or self.cfg.cork.owner):
                # The common case: nothing queued, plain TCP, no compression.
                if self.cfg.limits.output_full(0, 0, len(payload)):
                    return Error.ERR_OUT_OF_MEMORY
                try:
                    sent = self.sock.sendmsg((header, payload), (), _MSG_DONTWAIT)
                except BlockingIOError:
                    sent = 0
                except OSError:
                    self._abort_locked()
                    return Error.OK
                if sent < len(header) + len(payload):
                    self._queue_unsent_locked((header, payload), sent)
                return Error.OK
            if self.cfg.limits.output_full(len(self._backlog) + (len(self._corked) >> 1),
                                           self._backlog_bytes + self._corked_bytes,
                                           len(payload)):
                return Error.ERR_OUT_OF_MEMORY
            if self.deflate:  # a stateful compressor: frame here, in order
                text = header[0] & 0x0F == 1
                header = self.ws.send(Message(data=payload.decode("utf-8") if text else payload))  # type: ignore[type-var]
                payload = b""
            cork = self.cfg.cork
            if cork.owner and cork.owner == get_ident():
                if not self._corked:
                    cork.dirty.append(self)
                self._corked += (header, payload) if payload else (header,)
                self._corked_bytes += len(header) + len(payload)
            else:
                self._write_locked(header, payload)
            return Error.OK

    def send(self, data: Any) -> None:
        """simple-websocket's ``send``: bytes go binary, anything else as text."""
        text = not isinstance(data, (bytes, bytearray, memoryview))
        payload = str(data).encode("utf-8") if text else bytes(data)
        if self.send_frame(frame_header(len(payload), text), payload) != Error.OK:
            raise simple_websocket.ConnectionClosed(self.close_reason, self.close_message)

    def close(self, reason: int | None = None, message: str | None = None) -> bool:
        """Start the closing handshake; the peer stays until the client answers.

        Returns False when closing had already started.
        """
        with self.lock:
            if self.state != OPEN:
                return False
            self.state = CLOSING
            self._write_locked(self.ws.send(CloseConnection(reason or 1000, message or None)))
        self.cfg.writer.add_deadline(self, time.monotonic() + self.cfg.close_timeout, "close")
        return True

    def on_deadline(self, kind: str) -> None:
        """Backlog writer thread: a deadline set by this connection is due."""
        if kind == "close" and self.state != CLOSED:
            logger.info("peer %d: no close reply within %.1f s, dropping the connection",
                        self.peer_id, self.cfg.close_timeout)
            self.abort()
        elif kind == "ping":
            self._keepalive()

    def _keepalive(self) -> None:
        cfg = self.cfg
        if self.state != OPEN or not cfg.ping_interval:
            return
        now = time.monotonic()
        if cfg.ping_timeout and self._ping_sent and self.last_pong < self._ping_sent \
                and now - self._ping_sent >= cfg.ping_timeout:
            logger.info("peer %d: no pong within %.1f s, dropping the connection",
                        self.peer_id, cfg.ping_timeout)
            self.abort()
            return
        if not self._ping_sent or self.last_pong >= self._ping_sent:
            with self.lock:
                if self.state == OPEN:
                    self._write_locked(self.ws.send(Ping(b"godot_ws")))
            self._ping_sent = now
        step = cfg.ping_interval
        if cfg.ping_timeout:
            step = min(step, cfg.ping_timeout)
        cfg.writer.add_deadline(self, now + step, "ping")

    def outbound_buffered(self) -> int:
        with self.lock:
            return self._backlog_bytes + self._corked_bytes

    def _write_locked(self, data: bytes, payload: bytes = b"") -> None:
        """Write ``data`` (+ ``payload``) now, or queue it behind what waits. Lock held."""
        if self._corked:  # keep the order of frames corked before this one
            self._corked += (data, payload) if payload else (data,)
            self._corked_bytes += len(data) + len(payload)
            return
        self._send_parts_locked((data, payload) if payload else (data,))

    def uncork(self) -> None:
        """Polling thread, end of a dispatch: write everything corked in one go."""
        with self.lock:
            parts, self._corked, self._corked_bytes = self._corked, [], 0
            if parts and self.sock.fileno() >= 0:
                self._send_parts_locked(parts)
            if not self._backlog:
                self._signal_drained_locked()

    def _send_parts_locked(self, parts: Sequence[bytes], encrypt: bool = True) -> None:
        """Send buffers in order with scatter-gather writes; what the kernel
        does not take goes to the backlog. Lock held."""
        if encrypt and self.tls is not None:
            try:
                self.tls.write(b"".join(parts) if len(parts) > 1 else parts[0])
            except ConnectionError:  # TLSError: the session broke (bad record, alert)
                self._abort_locked()
                return
            out = self.tls.outgoing()
            parts = (out,) if out else ()
        if self._backlog:
            for part in parts:
                self._backlog.append(memoryview(part))
                self._backlog_bytes += len(part)
            return
        i = 0
        n = len(parts)
        while i < n:
            chunk = parts[i:i + _IOV_MAX]
            try:
                sent = (self.sock.sendmsg(chunk, (), _MSG_DONTWAIT) if len(chunk) > 1
                        else self.sock.send(chunk[0], _MSG_DONTWAIT))
            except BlockingIOError:
                sent = 0
            except OSError:
                self._abort_locked()
                return
            for part in chunk:
                size = len(part)
                if sent >= size:
                    sent -= size
                    i += 1
                    continue
                self._queue_unsent_locked(parts[i:], sent)
                return

    def _queue_unsent_locked(self, parts: Sequence[bytes], sent: int) -> None:
        """Backlog what the kernel did not take of ``parts`` (``sent`` bytes went out)."""
        for part in parts:
            size = len(part)
            if sent >= size:
                sent -= size
                continue
            self._backlog.append(memoryview(part)[sent:] if sent else memoryview(part))
            self._backlog_bytes += size - sent
            sent = 0
        self._stall_since = time.monotonic()
        self.cfg.writer.watch(self)

    def flush_backlog(self) -> bool:
        """Send what the socket takes now (backlog writer thread). True when empty."""
        with self.lock:
            progressed = False
            while self._backlog:
                try:
                    sent = self.sock.sendmsg(self._backlog[:_IOV_MAX], (), _MSG_DONTWAIT)
                except BlockingIOError:
                    break
                except OSError:
                    self._abort_locked()
                    break
                progressed = progressed or sent > 0
                self._backlog_bytes -= sent
                done = 0
                for head in self._backlog:
                    if len(head) > sent:
                        break
                    sent -= len(head)
                    done += 1
                del self._backlog[:done]
                if sent:
                    self._backlog[0] = self._backlog[0][sent:]
            if progressed:
                self._stall_since = time.monotonic()
            if not self._backlog:
                self._signal_drained_locked()
                return True
            return False

    def _signal_drained_locked(self) -> None:
        if self._drain_waiter is not None and not self._corked:
            self._drain_waiter.set()

    def stalled_for(self) -> float:
        """Seconds the backlog has made no progress (0 when empty)."""
        return time.monotonic() - self._stall_since if self._backlog else 0.0

    def _abort_locked(self) -> None:
        self._backlog.clear()
        self._backlog_bytes = 0
        self._corked, self._corked_bytes = [], 0
        self._signal_drained_locked()
        self.abort()

    def abort(self) -> None:
        """Drop the TCP connection now; the peer thread wakes and reports it."""
        self.aborted = True
        resume = self._resume
        if resume is not None:
            resume.set()
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def stop_close(self, code: int = 1000) -> None:
        """``stop()``: send a close frame if still open, try once to flush, drop TCP."""
        self.uncork()
        with self.lock:
            if self.state == OPEN and self.connected:
                self.state = CLOSING
                try:
                    self._write_locked(self.ws.send(CloseConnection(code)))
                except Exception:  # the socket is going away regardless
                    pass
        if self._backlog:
            self.flush_backlog()
        self.abort()

    # -- the read loop (peer thread) ----------------------------------------

    def _thread(self) -> None:
        """Read, parse and hand events to ``poll()`` until the connection ends."""
        cfg = self.cfg
        queue = cfg.events
        parts: list[Any] = []
        size = 0
        max_size = cfg.limits.max_message_size
        data: bytes | None = self._trailing
        extra = b""
        self._trailing = b""
        self.sock.settimeout(None)
        running = True
        while running:
            if data:
                # One peer thread parses at a time: the others wait off the GIL, so
                # with thousands of peers the polling thread is not starved of it.
                with cfg.gate:
                    batch: list[ev.Event] = []
                    msgs: list[tuple[bytes, bool]] = []
                    with self.lock:
                        ws = self.ws
                        try:
                            ws.receive_data(data)
                            if extra:
                                ws.receive_data(extra)
                        except Exception:  # wsproto refuses data after CLOSED
                            break
                        for event in ws.events():
                            cls = event.__class__
                            if cls is BytesMessage or cls is TextMessage:
                                # Text is kept as its UTF-8 bytes (wsproto checked them).
                                chunk = event.data if cls is BytesMessage else event.data.encode()
                                size += len(chunk)
                                if size > max_size:
                                    self._protocol_close_locked(1009, "")
                                    running = False
                                    break
                                if chunk:  # empty fragments must cost no memory per frame
                                    parts.append(chunk)
                                if event.message_finished:
                                    if self.state == OPEN:
                                        msgs.append(_join(parts, cls is TextMessage))
                                    parts = []
                                    size = 0
                            elif cls is Ping:
                                # A client that floods pings and reads nothing must not
                                # grow our output: answer within the output limits only
                                # (RFC 6455 §5.5.3 allows answering just the latest ping).
                                if ws.state is ConnectionState.OPEN and not cfg.limits.output_full(
                                        len(self._backlog), self._backlog_bytes, len(event.payload)):
                                    self._write_locked(ws.send(event.response()))
                            elif cls is Pong:
                                self.last_pong = time.monotonic()
                            elif cls is CloseConnection:
                                running = False
                                if ws.state is ConnectionState.OPEN or (
                                        ws.state is ConnectionState.LOCAL_CLOSING):
                                    # wsproto reports a parse failure as a close event
                                    # without leaving its current state.
                                    self._protocol_close_locked(event.code, "")
                                    break
                                self.clean = True
                                if ws.state is ConnectionState.REMOTE_CLOSING:
                                    code = 0 if event.code == 1005 else int(event.code)
                                    reason = (event.reason or "").split("\x00", 1)[0]
                                    if self.state == OPEN:
                                        batch.append(ev.CloseRequest(self, code, reason))
                                    self._write_locked(ws.send(event.response()))
                                self.state = CLOSED
                                break
                    if msgs:
                        nbytes = 0
                        for m in msgs:
                            nbytes += len(m[0])
                        self.produced += len(msgs)
                        self.produced_bytes += nbytes
                        batch.insert(0, ev.Data(self, msgs, nbytes))
                    if batch:
                        queue.put_many(batch)
                    if not running:
                        break
                    must_park = self._over_inflight()
                if must_park:
                    self._park()
            try:
                raw, extra = self._recv(size > 0)
            except OSError:
                break
            if not raw:
                break
            if self.tls is not None:
                data = self._tls_read(raw + extra if extra else raw)
                extra = b""
                if data is None:
                    break
            else:
                data = raw
        self._finish()

    def _recv(self, big: bool) -> tuple[bytes, bytes]:
        """Wait for data with a small buffer (an idle peer holds only that much),
        then take what else is there in one non-blocking read: a large one while
        a message is partly in (``big``), else a moderate one, so that one read
        (one batch for ``poll()``) stays bounded. Returns both pieces, uncopied."""
        sock = self.sock
        first = sock.recv(_IDLE_RECV_SIZE)
        if len(first) < _IDLE_RECV_SIZE:
            return first, b""
        try:
            return first, sock.recv(_BIG_RECV_SIZE if big else _RECV_SIZE, _MSG_DONTWAIT)
        except BlockingIOError:
            return first, b""

    def _tls_read(self, raw: bytes) -> bytes | None:
        from .tls import TLSClosed, TLSError
        with self.lock:
            try:
                self.tls.feed(raw)
                data = self.tls.read()
            except TLSClosed:
                return None
            except TLSError as exc:
                logger.info("peer %d: TLS error: %s", self.peer_id, exc)
                return None
            out = self.tls.outgoing()
            if out:  # TLS 1.3 post-handshake messages, key updates
                self._write_raw_locked(out)
        return data

    def _write_raw_locked(self, data: bytes) -> None:
        """TLS records the session produced by itself (tickets, key updates): they
        go after what is already encrypted (the backlog) and before anything
        still corked, which is not encrypted yet."""
        self._send_parts_locked((data,), encrypt=False)

    def _protocol_close_locked(self, code: int, reason: str) -> None:
        logger.info("peer %d: protocol error, closing with %d", self.peer_id, code)
        if self.ws.state in (ConnectionState.OPEN, ConnectionState.REMOTE_CLOSING):
            self._write_locked(self.ws.send(CloseConnection(code, reason or None)))
        self.state = CLOSED

    def _over_inflight(self) -> bool:
        limits = self.cfg.limits
        return (self.produced - self.consumed >= limits.input_packets
                or self.produced_bytes - self.consumed_bytes >= limits.max_message_size)

    def _park(self) -> None:
        """Stop reading while ``poll()`` has not taken what this peer sent."""
        if self._resume is None:
            self._resume = threading.Event()
        resume = self._resume
        self.parks += 1
        while self._over_inflight() and not self.aborted:
            resume.clear()
            self.parked = True
            if not self._over_inflight():
                break
            resume.wait(0.5)
        self.parked = False

    def took(self, packets: int, nbytes: int) -> None:
        """Polling thread: ``poll()`` took this many of this peer's packets."""
        self.consumed += packets
        self.consumed_bytes += nbytes
        if self.parked and self._resume is not None:
            self._resume.set()

    def _finish(self) -> None:
        with self.lock:
            self.state = CLOSED
        self.cfg.events.put(ev.Disconnected(self, self.clean))
        with self.lock:
            waiter = None
            if self._backlog or self._corked:
                waiter = self._drain_waiter = threading.Event()
        if waiter is not None:
            waiter.wait(self.cfg.close_timeout)
        self.cfg.writer.forget(self)
        if self.tls is not None:
            with self.lock:
                try:
                    self.tls.shutdown()
                    out = self.tls.outgoing()
                    if out:
                        self.sock.send(out, _MSG_DONTWAIT)
                except Exception:
                    pass
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        close_quietly(self.sock)
        self.connected = False


def _join(parts: list[bytes], text: bool) -> tuple[bytes, bool]:
    if len(parts) == 1:
        data = parts[0]
        return (data if data.__class__ is bytes else bytes(data)), text
    return b"".join(parts), text


def _run_hook(hook: Callable[..., Any], req: hs.Request, address: tuple[str, int],
              protocol: str) -> Any:
    """Ask the user's handshake hook; a rejection becomes an HTTP answer."""
    try:
        result = hook(req, address, protocol)
    except hs.HandshakeError:
        raise
    except Exception:
        logger.exception("handshake hook failed; refusing %s:%s", *address[:2])
        raise hs.HandshakeError("handshake hook failed", 500)
    if result is False:
        raise hs.HandshakeError("connection refused", 403)
    if isinstance(result, tuple) and len(result) == 2 and isinstance(result[0], int):
        raise hs.HandshakeError(str(result[1]), result[0])
    return result


def run_peer(cfg: ConnectionConfig, sock: socket.socket, address: tuple[str, int],
             accepted_at: float, registry: Any) -> None:
    """Peer thread body: handshake, announce, read until the end, clean up."""
    conn: PeerConnection | None = None
    try:
        conn = PeerConnection(cfg, sock, address, accepted_at)
        if not conn.connected:
            close_quietly(sock)
            return
        if not registry.adopt(sock, conn):  # the server is stopping
            close_quietly(sock)
            return
        cfg.events.put(ev.Connected(conn, conn.subprotocol or ""))
        conn._thread()
    except Exception:
        logger.exception("peer thread for %s:%s failed", *address[:2])
        if conn is not None:
            conn.state = CLOSED
            cfg.writer.forget(conn)  # before the close: its descriptor may be reused
        close_quietly(sock)
        if conn is not None and conn.connected:
            cfg.events.put(ev.Disconnected(conn, False))
    finally:
        registry.release(sock)


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
