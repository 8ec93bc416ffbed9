"""TLS for the client's ``wss://``: a pyOpenSSL client context that verifies the
server's chain and its host name (DNS names and IP addresses) in the handshake.

A context is made per connection attempt and carries its :class:`ServerName`
as app data: ``TLSSession`` takes it as "be the client, send this SNI", and
the verify callback (run by OpenSSL on the connection's thread) checks the
leaf against it and records why it refused, for the log line.
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from cryptography import x509
from cryptography.x509.oid import NameOID
from OpenSSL import SSL, crypto

from ..crypto import X509Certificate
from .tls import _TLS12_CIPHERS

__all__ = ["ServerName", "make_client_context", "host_matches"]

# The X509_V_ERR_* a client meets most (OpenSSL's x509_vfy.h).
_VERIFY_ERRORS = {
    2: "unable to get issuer certificate",
    9: "certificate is not yet valid",
    10: "certificate has expired",
    18: "self-signed certificate, not trusted",
    19: "self-signed certificate in the chain, not trusted",
    20: "unable to get local issuer certificate (the root is not trusted)",
    21: "unable to verify the first certificate",
    24: "invalid CA certificate",
    26: "unsupported certificate purpose",
}


@dataclass
class ServerName:
    """The host the client connects to; ``failure`` is set when its check fails."""
    host: str
    failure: str = ""

    @property
    def sni(self) -> bytes | None:
        """The SNI to send: none for an IP address (RFC 6066)."""
        try:
            ipaddress.ip_address(self.host)
        except ValueError:
            return self.host.encode("idna")
        return None


def make_client_context(host: str, verify: bool,
                        trusted: X509Certificate | None = None) -> SSL.Context:
    """A TLS 1.2/1.3 client context for ``host``.

    ``verify``: check the chain (against ``trusted``'s certificates only when
    given, else the system's default roots) and the host name; False accepts
    any certificate, as Godot's ``verify_ssl = false``.
    """
    if trusted is not None and not isinstance(trusted, X509Certificate):
        raise TypeError(f"trusted_ssl_certificate must be an X509Certificate or None, "
                        f"not {type(trusted).__name__}")
    ctx = SSL.Context(SSL.TLS_CLIENT_METHOD)
    ctx.set_min_proto_version(SSL.TLS1_2_VERSION)
    ctx.set_options(SSL.OP_NO_COMPRESSION | SSL.OP_NO_RENEGOTIATION)
    ctx.set_mode(SSL.MODE_RELEASE_BUFFERS)
    ctx.set_cipher_list(_TLS12_CIPHERS)
    name = ServerName(host)
    ctx.set_app_data(name)
    if not verify:
        ctx.set_verify(SSL.VERIFY_NONE)
        return ctx
    if trusted is not None and trusted.certificates:
        store = ctx.get_cert_store()
        assert store is not None
        for cert in trusted.certificates:
            store.add_cert(crypto.X509.from_cryptography(cert))
    else:
        ctx.set_default_verify_paths()

    def check(conn: SSL.Connection, cert: crypto.X509, errnum: int, depth: int, ok: int) -> bool:
        if not ok:
            if not name.failure:
                why = _VERIFY_ERRORS.get(errnum, f"X509 verify error {errnum}")
                name.failure = f"the server's certificate does not verify: {why} (depth {depth})"
            return False
        if depth == 0 and not host_matches(cert.to_cryptography(), host):
            name.failure = f"the server's certificate is not valid for {host!r}"
            return False
        return True

    ctx.set_verify(SSL.VERIFY_PEER, check)
    return ctx


def host_matches(cert: x509.Certificate, host: str) -> bool:
    """RFC 6125: an IP host matches an IP SAN; a DNS host matches a DNS SAN (one
    leftmost ``*`` label allowed) or, when the certificate has no DNS SAN, its
    common name (as mbedTLS, so Godot's self-signed certificates verify)."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        san = None
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        ip = None
    if ip is not None:
        return san is not None and ip in san.get_values_for_type(x509.IPAddress)
    names = san.get_values_for_type(x509.DNSName) if san is not None else []
    if not names:
        names = [a.value for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
                 if isinstance(a.value, str)]
    return any(_dns_match(pattern, host) for pattern in names)


def _dns_match(pattern: str, host: str) -> bool:
    pattern, host = pattern.lower().rstrip("."), host.lower().rstrip(".")
    if pattern == host:
        return True
    if not pattern.startswith("*."):
        return False
    head, dot, rest = host.partition(".")
    return bool(head) and bool(dot) and rest == pattern[2:] and "." in rest
