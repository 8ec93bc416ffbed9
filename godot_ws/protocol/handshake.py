"""The server side of the WebSocket opening handshake, as Godot 3 checks it.

Pure: bytes in, a parsed request or a :class:`HandshakeError` out, and the
exact response bytes. The checks follow Godot 3's order (spec §2.2); where
Godot crashes or closes without a word, a rejection carries the HTTP status a
client should see instead (400, 426, 431).
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Union

__all__ = ["MAX_REQUEST_SIZE", "HandshakeError", "Request", "find_request_end",
           "parse_request", "select_subprotocol", "accept_key", "accept_response",
           "error_response", "http_response", "check_request", "parse_trusted_proxies", "forwarded_client"]

#: Godot's cap on the request head, terminator included (spec §2.1).
MAX_REQUEST_SIZE = 4096
_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class HandshakeError(Exception):
    """A request the server must refuse, with the HTTP answer it gets."""

    def __init__(self, message: str, status: int = 400,
                 headers: Sequence[tuple[str, str]] = ()) -> None:
        super().__init__(message)
        self.status = status
        self.headers = tuple(headers)

    def response(self) -> bytes:
        return error_response(self.status, str(self), self.headers)


@dataclass
class Request:
    """A parsed upgrade request. ``headers`` has lower-cased names, repeated
    headers joined with ``,`` as Godot joins them."""
    method: str
    path: str
    version: str
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return self.headers.get("sec-websocket-key", "")

    @property
    def protocols_header(self) -> str | None:
        return self.headers.get("sec-websocket-protocol")


def find_request_end(buf: bytes | bytearray) -> int:
    """Index just past the first ``\\r\\n\\r\\n``, or -1 if the head is not complete."""
    i = buf.find(b"\r\n\r\n")
    return -1 if i < 0 else i + 4


def parse_request(head: bytes) -> Request:
    """Split and parse a request head (up to and including the blank line).

    Raises :class:`HandshakeError` for what Godot rejects at this stage.
    """
    if len(head) > MAX_REQUEST_SIZE:
        raise HandshakeError("request headers too big", 431)
    try:
        text = head.decode("latin-1")
    except UnicodeDecodeError:  # pragma: no cover - latin-1 decodes anything
        raise HandshakeError("undecodable request")
    lines = text.split("\r\n")
    while lines and lines[-1] == "":
        lines.pop()
    if len(lines) < 4:
        raise HandshakeError("not enough request headers")
    tokens = lines[0].split()
    if len(tokens) < 3:
        # Godot 3 aborts the process on a two-token request line.
        raise HandshakeError("malformed request line")
    method, path, version = tokens[0], tokens[1], tokens[2]
    if method != "GET":
        raise HandshakeError("method must be GET")
    if version != "HTTP/1.1":
        raise HandshakeError("HTTP version must be HTTP/1.1")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep:
            raise HandshakeError("invalid header line")
        name = name.strip().lower()
        value = value.strip()
        headers[name] = headers[name] + "," + value if name in headers else value
    return Request(method, path, version, headers)


def _check_key(key: str) -> None:
    try:
        raw = base64.b64decode(key.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raw = b""
    if len(raw) != 16:
        raise HandshakeError("Sec-WebSocket-Key must be 16 bytes in base64")


def check_request(req: Request) -> None:
    """Godot's header checks (spec §2.2, items 4-7), plus a well-formed key and
    exactly one non-empty ``Host`` (RFC 6455 §4.1, RFC 7230 §5.4), which Godot
    does not check."""
    h = req.headers
    if h.get("upgrade", "").lower() != "websocket":
        raise HandshakeError("missing or invalid Upgrade header")
    if h.get("sec-websocket-version") != "13":
        raise HandshakeError("unsupported WebSocket version", 426,
                             [("Sec-WebSocket-Version", "13")])
    if "sec-websocket-key" not in h:
        raise HandshakeError("missing Sec-WebSocket-Key")
    _check_key(h["sec-websocket-key"])
    if "connection" not in h:
        raise HandshakeError("missing Connection header")
    host = h.get("host", "")
    if not host:
        raise HandshakeError("missing Host header")
    if "," in host:  # repeated headers are joined with ","; a host never has one
        raise HandshakeError("more than one Host header")


def select_subprotocol(client_header: str | None,
                       server_protocols: Iterable[str]) -> str:
    """The first client protocol the server accepts (client order wins).

    Returns "" when neither side asks for one; raises :class:`HandshakeError`
    on a mismatch, which Godot also rejects (spec §2.3).
    """
    server = list(server_protocols)
    if client_header is None:
        if server:
            raise HandshakeError("client sent no subprotocol; server requires one of "
                                 + ", ".join(server))
        return ""
    for item in client_header.split(","):
        item = item.strip()
        if item and item in server:
            return item
    raise HandshakeError("no acceptable subprotocol")


def accept_key(key: str) -> str:
    """``Sec-WebSocket-Accept`` for a client key (RFC 6455 §4.2.2)."""
    return base64.b64encode(hashlib.sha1(key.encode("latin-1") + _GUID).digest()).decode("ascii")


def accept_response(key: str, protocol: str = "",
                    extra_headers: Sequence[str] = ()) -> bytes:
    """The 101 response, byte for byte as Godot 3 sends it."""
    parts = ["HTTP/1.1 101 Switching Protocols\r\n",
             "Upgrade: websocket\r\n",
             "Connection: Upgrade\r\n",
             "Sec-WebSocket-Accept: ", accept_key(key), "\r\n"]
    if protocol:
        parts += ["Sec-WebSocket-Protocol: ", protocol, "\r\n"]
    for line in extra_headers:
        parts += [line, "\r\n"]
    parts.append("\r\n")
    return "".join(parts).encode("latin-1")


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def error_response(status: int, message: str = "",
                   headers: Sequence[tuple[str, str]] = ()) -> bytes:
    """A short HTTP error answer that closes the connection."""
    body = (message or _reason(status)).encode("utf-8") + b"\n"
    return http_response(status, body, "text/plain; charset=utf-8", headers)


def http_response(status: int, body: bytes, content_type: str,
                  headers: Sequence[tuple[str, str]] = (), with_body: bool = True) -> bytes:
    """A complete HTTP/1.1 answer after which the server closes the connection
    (``with_body=False``: the same head without the body, for HEAD)."""
    head = [f"HTTP/1.1 {status} {_reason(status)}", "Connection: close",
            f"Content-Type: {content_type}", f"Content-Length: {len(body)}"]
    head += [f"{k}: {v}" for k, v in headers]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + (body if with_body else b"")


Network = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]
"""A trusted proxy: one address is a /32 (or /128) network."""


def parse_trusted_proxies(items: Iterable[str]) -> tuple[Network, ...]:
    """Networks from addresses or CIDR strings; ``ValueError`` names a bad one."""
    nets: list[Network] = []
    for item in items:
        if not isinstance(item, str):
            raise TypeError(f"trusted proxy must be a str, got {type(item).__name__}")
        try:
            nets.append(ipaddress.ip_network(item.strip(), strict=False))
        except ValueError:
            raise ValueError(f"trusted proxy {item!r} is not an IP address or network") from None
    return tuple(nets)


def _trusted(ip: str, nets: Sequence[Network]) -> bool:
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(addr in net for net in nets)


def forwarded_client(remote_ip: str, headers: dict[str, str], nets: Sequence[Network]) -> str:
    """The client address behind trusted proxies (``X-Forwarded-For``).

    Only when the TCP peer is a trusted proxy; the list is walked from the
    right, skipping trusted proxies, so a client cannot forge its address by
    sending the header itself.
    """
    if not nets or not _trusted(remote_ip, nets):
        return remote_ip
    hops = [h.strip() for h in headers.get("x-forwarded-for", "").split(",") if h.strip()]
    client = remote_ip
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            break
        client = hop
        if not _trusted(hop, nets):
            break
    return client
