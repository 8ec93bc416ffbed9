"""The client side of the WebSocket opening handshake, as Godot 3's client does it.

Pure: a URL in, the request bytes out; the server's response head in, the
chosen subprotocol or a :class:`ResponseError` saying why it is refused. The
request has Godot's lines in Godot's order; the response checks are Godot's
(``wsl_client.cpp``: status 101, ``Upgrade``, ``Connection``, an exact
``Sec-WebSocket-Accept``, a subprotocol only if asked for and then one that was
offered), plus the RFC 6455 rule that an extension nobody offered is refused.
"""
from __future__ import annotations

import base64
import ipaddress
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from .handshake import accept_key

__all__ = ["Target", "ResponseError", "parse_url", "check_strings", "check_custom_headers", "new_key",
           "build_request", "check_response"]

_DEFAULT_PORTS = {"ws": 80, "wss": 443}


class ResponseError(Exception):
    """The server's answer is not an acceptable WebSocket upgrade."""


@dataclass(frozen=True)
class Target:
    """Where ``connect_to_url`` goes: ``host`` without brackets, ``path`` with its query."""
    url: str
    tls: bool
    host: str
    port: int
    path: str

    @property
    def host_header(self) -> str:
        """The ``Host`` value: the port only when it is not the scheme's default, as Godot."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = _DEFAULT_PORTS["wss" if self.tls else "ws"]
        return host if self.port == default else f"{host}:{self.port}"

    @property
    def is_ip(self) -> bool:
        try:
            ipaddress.ip_address(self.host)
        except ValueError:
            return False
        return True


def parse_url(url: str) -> Target | None:
    """``ws://host[:port][/path][?query]`` (or ``wss://``) as a Target; None if it is not one."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:  # a port that is not a number or out of range
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    if port is None:
        if parts.netloc.endswith(":"):
            return None
        port = _DEFAULT_PORTS[scheme]
    elif port == 0:
        return None
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(url.strip(), scheme == "wss", parts.hostname, port, path)


def check_strings(what: str, items: Iterable[str], example: str) -> tuple[str, ...]:
    """``items`` as a tuple of str; TypeError for one string or a non-str item."""
    if isinstance(items, (str, bytes)):
        raise TypeError(f"{what} takes a list of strings ({example}), not one string")
    values = tuple(items)
    bad = [type(v).__name__ for v in values if not isinstance(v, str)]
    if bad:
        raise TypeError(f"{what} must hold only str, got {bad[0]}")
    return values


def check_custom_headers(headers: Iterable[str]) -> tuple[str, ...]:
    """The extra request lines, each one ``"Name: value"``; ValueError/TypeError otherwise."""
    lines = check_strings("custom_headers", headers, "e.g. ['X-Token: abc']")
    for line in lines:
        name, sep, _ = line.partition(":")
        if not sep or not name.strip() or "\r" in line or "\n" in line:
            raise ValueError(f"custom header {line!r} must be one 'Name: value' line")
    return lines


def new_key() -> str:
    """A fresh ``Sec-WebSocket-Key``: 16 random bytes in base64."""
    return base64.b64encode(secrets.token_bytes(16)).decode("ascii")


def build_request(target: Target, key: str, protocols: Sequence[str] = (),
                  custom_headers: Sequence[str] = ()) -> bytes:
    """The upgrade request, line for line as Godot 3's client writes it."""
    lines = [f"GET {target.path} HTTP/1.1", f"Host: {target.host_header}",
             "Upgrade: websocket", "Connection: Upgrade",
             f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13"]
    if protocols:
        lines.append("Sec-WebSocket-Protocol: " + ",".join(protocols))
    lines.extend(custom_headers)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")


def check_response(head: bytes, key: str, protocols: Sequence[str] = ()) -> str:
    """The subprotocol the server chose ("" for none), or ResponseError saying what is wrong."""
    text = head.decode("latin-1")
    lines = text.split("\r\n")
    while lines and not lines[-1]:
        lines.pop()
    status = lines[0].split() if lines else []
    if len(status) < 2 or status[0] != "HTTP/1.1" or status[1] != "101":
        raise ResponseError(f"the server answered {lines[0][:80]!r} instead of "
                            "'HTTP/1.1 101 Switching Protocols'" if lines else "empty answer")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep:
            raise ResponseError(f"invalid header line {line[:80]!r}")
        name, value = name.strip().lower(), value.strip()
        headers[name] = headers[name] + "," + value if name in headers else value
    if headers.get("upgrade", "").lower() != "websocket":
        raise ResponseError("missing or invalid 'Upgrade: websocket' header")
    if "upgrade" not in (t.strip().lower() for t in headers.get("connection", "").split(",")):
        raise ResponseError("missing or invalid 'Connection: Upgrade' header")
    if headers.get("sec-websocket-accept") != accept_key(key):
        raise ResponseError("wrong Sec-WebSocket-Accept (the server did not answer this request's key)")
    if "sec-websocket-extensions" in headers:
        raise ResponseError(f"the server chose extension {headers['sec-websocket-extensions']!r}, "
                            "none was offered")
    chosen = headers.get("sec-websocket-protocol")
    if not protocols:
        if chosen is not None:
            raise ResponseError(f"the server chose subprotocol {chosen!r}, none was offered")
        return ""
    if chosen is None:
        raise ResponseError(f"the server chose no subprotocol of {', '.join(protocols)} "
                            "(Godot's client requires one)")
    if chosen not in protocols:
        raise ResponseError(f"the server chose subprotocol {chosen!r}, not one of "
                            f"{', '.join(protocols)}")
    return chosen
