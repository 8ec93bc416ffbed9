"""TLS for ``wss://``: a pyOpenSSL server context and a socket-free TLS session.

``TLSSession`` does no I/O: the connection layer feeds it the ciphertext it
received (``feed``), sends what ``outgoing()`` returns, and exchanges plaintext
through ``read``/``write``. It holds no lock and starts no thread: the owner of
the socket must serialize every call on one session (one lock per session).
"""
from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Union

from cryptography import x509
from OpenSSL import SSL

from ..crypto import CryptoKey, X509Certificate, private_key

__all__ = ["make_server_context", "TLSSession", "TLSError", "TLSClosed", "CHUNK_SIZE"]

logger = logging.getLogger("godot_ws")

#: Plaintext is written and ciphertext drained in pieces of this size, so that
#: a multi-MiB message never makes one giant temporary buffer inside OpenSSL.
CHUNK_SIZE = 256 * 1024

# One record holds at most 2**14 bytes of plaintext (RFC 8446 5.1, RFC 5246
# 6.2.1), so one read of this size takes a whole record's: one record per call.
_MAX_PLAINTEXT = 16384
# The longest record TLS 1.2 allows on the wire (TLS 1.3: 2**14 + 256) and
# the content types OpenSSL reads: a header outside them is left to OpenSSL.
_MAX_RECORD = 16384 + 2048
_RECORD_TYPES = frozenset((20, 21, 22, 23, 24))
# ``TLSSession._unread`` when the number of records fed is not known.
_UNKNOWN = 1 << 62

# TLS 1.2 suites: forward secrecy and AEAD only (Mozilla "intermediate" minus
# DHE, which would need DH parameters). Godot 3's mbedTLS client speaks
# ECDHE-RSA-AES-GCM. TLS 1.3 keeps OpenSSL's defaults, which are all AEAD.
_TLS12_CIPHERS = b"ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL:!eNULL"

Buffer = Union[bytes, bytearray, memoryview]


class TLSError(ConnectionError):
    """The TLS connection failed: bad handshake, corrupt record, alert, or EOF without close_notify."""


class TLSClosed(ConnectionError):
    """The peer closed TLS cleanly (close_notify); nothing more will be read."""


def _chain_for(cert: X509Certificate, ca_chain: X509Certificate | None) -> list[x509.Certificate]:
    """The leaf, then each other certificate of ``cert`` and ``ca_chain`` once, in order."""
    ordered: list[x509.Certificate] = []
    sources: Iterable[x509.Certificate] = cert.certificates + (ca_chain.certificates if ca_chain else ())
    for c in sources:
        if c not in ordered:
            ordered.append(c)
    return ordered


def make_server_context(key: CryptoKey, cert: X509Certificate,
                        ca_chain: X509Certificate | None = None) -> SSL.Context:
    """A TLS 1.2/1.3 server context serving ``cert`` (and ``ca_chain``) with ``key``.

    The first certificate of ``cert`` is the leaf; its other certificates, then
    those of ``ca_chain``, are sent as the chain. Raises ``TypeError`` for wrong
    types and ``ValueError`` when the material is empty or the key does not
    match the leaf certificate.
    """
    if not isinstance(key, CryptoKey):
        raise TypeError(f"private_key must be a CryptoKey, not {type(key).__name__}")
    if not isinstance(cert, X509Certificate):
        raise TypeError(f"ssl_certificate must be an X509Certificate, not {type(cert).__name__}")
    if ca_chain is not None and not isinstance(ca_chain, X509Certificate):
        raise TypeError(f"ca_chain must be an X509Certificate or None, not {type(ca_chain).__name__}")
    private = private_key(key)
    if private is None:
        raise ValueError("private_key holds no private key: load one with CryptoKey.load() first")
    if not cert.certificates:
        raise ValueError("ssl_certificate holds no certificate: load one with X509Certificate.load() first")

    ctx = SSL.Context(SSL.TLS_SERVER_METHOD)
    ctx.set_min_proto_version(SSL.TLS1_2_VERSION)
    ctx.set_max_proto_version(SSL.TLS1_3_VERSION)
    ctx.set_options(SSL.OP_NO_COMPRESSION | SSL.OP_NO_RENEGOTIATION
                    | SSL.OP_CIPHER_SERVER_PREFERENCE | SSL.OP_SINGLE_ECDH_USE)
    ctx.set_mode(SSL.MODE_RELEASE_BUFFERS)
    ctx.set_cipher_list(_TLS12_CIPHERS)
    chain = _chain_for(cert, ca_chain)
    try:
        ctx.use_certificate(chain[0])
        ctx.use_privatekey(private)
        ctx.check_privatekey()
    except SSL.Error as exc:
        raise ValueError("private_key does not match ssl_certificate (the first certificate "
                         f"of the file): {exc}") from exc
    for extra in chain[1:]:
        ctx.add_extra_chain_cert(extra)
    return ctx


class TLSSession:
    """One TLS connection over memory BIOs (no socket I/O): the server side, or
    the client side for a context from ``tls_client.make_client_context``.

    Typical loop: ``feed(received)``; ``do_handshake()`` until True (then
    ``read()``); after every call send ``outgoing()``. Not thread-safe: the
    caller serializes all calls on a session with one lock.
    """

    def __init__(self, context: SSL.Context) -> None:
        self._conn = SSL.Connection(context, None)
        server_name = context.get_app_data()  # set by tls_client.make_client_context
        if server_name is None:
            self._conn.set_accept_state()
        else:
            self._conn.set_connect_state()
            if server_name.sni:
                self._conn.set_tlsext_host_name(server_name.sni)
        self._handshake_done = False
        self._pending_exc: ConnectionError | None = None  # raised by the read() after the data before it
        self._shutdown_sent = False
        # Ciphertext already taken out of OpenSSL's BIO. Draining it after each
        # chunk keeps that BIO small: it grows by realloc-and-wipe, slow for MiBs.
        self._out: list[bytes] = []
        # Whether OpenSSL may have written to its outgoing BIO since the last
        # drain: an empty drain costs a raised WantReadError, so it is skipped.
        self._bio_dirty = False
        # Complete records fed that OpenSSL has not consumed yet (_UNKNOWN: not
        # known), found by following the record headers of what is fed: read()
        # then makes one call per record, not one more that finds nothing.
        # A server has nothing to do before the ClientHello; a client's first
        # call makes its own (and, finding no input, sets this to 0).
        self._unread = 0 if server_name is None else _UNKNOWN
        self._framed = True   # False once a header made no sense: count no more
        self._rest = 0        # bytes of the current record still to come
        self._head = b""      # the start of a record header split between feeds

    # ------------------------------------------------------------------ input
    def feed(self, data: Buffer) -> None:
        """Hand over ciphertext received from the peer (any amount, any split)."""
        if data:
            self._conn.bio_write(data)
            if self._framed:
                self._count_records(data)

    def _count_records(self, data: Buffer) -> None:
        """Add the records that ``data`` completes to ``_unread``."""
        if self._head:  # rare: a record header came in two pieces
            data, self._head = self._head + bytes(data), b""
        size, pos = len(data), self._rest
        complete = 1 if 0 < pos <= size else 0
        while pos <= size - 5:
            length = data[pos + 3] << 8 | data[pos + 4]
            if data[pos] not in _RECORD_TYPES or length > _MAX_RECORD:
                # Not a TLS record header (e.g. an SSLv2-style hello): OpenSSL
                # judges it; reads go on until OpenSSL wants more, as without counting.
                self._framed, self._unread = False, _UNKNOWN
                return
            pos += 5 + length
            if pos > size:
                break
            complete += 1
        if pos > size:
            self._rest = pos - size
        else:
            self._rest, self._head = 0, bytes(data[pos:])
        self._unread += complete

    def _consumed_all(self) -> None:
        """OpenSSL asked for more input: every complete record fed is consumed."""
        self._unread = 0 if self._framed else _UNKNOWN

    def feed_eof(self) -> None:
        """The peer closed its socket: a later ``read()`` raises ``TLSError``
        unless close_notify came first (then ``TLSClosed``)."""
        self._conn.bio_shutdown()
        self._framed, self._unread = False, _UNKNOWN  # read() must reach the EOF

    # -------------------------------------------------------------- handshake
    @property
    def handshake_done(self) -> bool:
        """True once the TLS handshake has completed."""
        return self._handshake_done

    def do_handshake(self) -> bool:
        """Advance the handshake with what was fed; True once it is complete.

        Raises ``TLSError`` when the handshake fails (send ``outgoing()``
        first: it may carry the alert for the peer)."""
        if self._handshake_done:
            return True
        if not self._unread:  # no complete record since OpenSSL asked for more
            return False
        self._bio_dirty = True
        try:
            self._conn.do_handshake()
        except SSL.WantReadError:
            self._consumed_all()
            return False
        except SSL.ZeroReturnError as exc:
            raise TLSClosed("peer closed TLS during the handshake") from exc
        except SSL.Error as exc:
            raise TLSError(f"TLS handshake failed: {_describe(exc)}") from exc
        self._handshake_done = True
        self._unread = _UNKNOWN  # application data may have come with the last flight
        return True

    @property
    def protocol_version(self) -> str | None:
        """Negotiated protocol, e.g. ``"TLSv1.3"``, or None before the handshake."""
        return self._conn.get_protocol_version_name() if self._handshake_done else None

    @property
    def cipher(self) -> str | None:
        """Negotiated cipher suite name, or None before the handshake."""
        return self._conn.get_cipher_name()

    # -------------------------------------------------------------- plaintext
    def read(self) -> bytes:
        """All plaintext decryptable now (``b""`` if none).

        Raises ``TLSClosed`` once the peer's close_notify is reached and
        ``TLSError`` on a corrupt record, an alert or an unclean EOF; plaintext
        that arrived before either is returned first, by an earlier call."""
        if self._pending_exc is not None:
            raise self._pending_exc
        chunks: list[bytes] = []
        unread = self._unread
        while unread > 0:
            try:
                chunks.append(self._conn.recv(_MAX_PLAINTEXT))
                unread -= 1
                continue
            except (SSL.WantReadError, SSL.WantWriteError):
                pass
            except SSL.ZeroReturnError as exc:
                self._pending_exc = TLSClosed("peer sent close_notify")
                self._pending_exc.__cause__ = exc
            except SSL.Error as exc:
                self._pending_exc = TLSError(f"TLS read failed: {_describe(exc)}")
                self._pending_exc.__cause__ = exc
            # A record without plaintext (a TLS 1.3 key update, an alert, a
            # renegotiation attempt) or an error: OpenSSL may have answered it.
            self._bio_dirty = True
            break
        self._consumed_all()  # by the count, or OpenSSL asked for more
        if not chunks and self._pending_exc is not None:
            raise self._pending_exc
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    def write(self, plaintext: Buffer) -> None:
        """Encrypt all of ``plaintext``; the records wait in ``outgoing()``.

        Raises ``RuntimeError`` before the handshake is done and ``TLSError``
        once the session is broken or shut down."""
        if not self._handshake_done:
            raise RuntimeError("TLSSession.write() before the handshake completed")
        view = memoryview(plaintext).cast("B")
        offset, total = 0, len(view)
        try:
            while offset < total:
                offset += self._conn.send(view[offset:offset + CHUNK_SIZE])
                self._bio_dirty = True
                self._drain()
        except (SSL.WantReadError, SSL.WantWriteError) as exc:
            # Memory BIOs grow without bound, so OpenSSL never asks to wait here.
            raise TLSError("TLS write could not complete (unexpected WANT_READ/WANT_WRITE)") from exc
        except SSL.Error as exc:
            raise TLSError(f"TLS write failed: {_describe(exc)}") from exc
        finally:
            view.release()

    # ------------------------------------------------------------- ciphertext
    def outgoing(self) -> bytes:
        """All ciphertext waiting to be sent to the peer (``b""`` if none)."""
        self._drain()
        chunks, self._out = self._out, []
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    def _drain(self) -> None:
        """Move every pending byte of OpenSSL's outgoing BIO to ``self._out``."""
        while self._bio_dirty:
            try:
                chunk = self._conn.bio_read(CHUNK_SIZE)
            except SSL.WantReadError:
                chunk = b""
            if chunk:
                self._out.append(chunk)
            # A memory BIO hands out all it holds up to the size asked: less means empty.
            self._bio_dirty = len(chunk) == CHUNK_SIZE

    def shutdown(self) -> None:
        """Queue close_notify (then send ``outgoing()``); idempotent, never raises."""
        if self._shutdown_sent:
            return
        self._shutdown_sent = True
        self._bio_dirty = True
        try:
            self._conn.shutdown()
        except SSL.Error as exc:
            # No close_notify after a fatal error or mid-handshake: nothing to do.
            logger.debug("TLS shutdown skipped: %s", _describe(exc))


def _describe(exc: SSL.Error) -> str:
    """A one-line reason from a pyOpenSSL error (its queue of OpenSSL reasons)."""
    if isinstance(exc, SSL.SysCallError):
        return "connection closed without close_notify" if exc.args[0] == -1 else str(exc)
    queue = exc.args[0] if exc.args and isinstance(exc.args[0], list) else []
    reasons = [str(entry[-1]) for entry in queue if isinstance(entry, tuple) and entry and entry[-1]]
    return ", ".join(reasons) or str(exc) or type(exc).__name__
