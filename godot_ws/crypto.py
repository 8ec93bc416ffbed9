"""TLS material with Godot 3's API: CryptoKey, X509Certificate and Crypto.

Backed by ``cryptography`` objects (which pyOpenSSL takes directly). Return
codes and file formats follow real Godot 3.2.3 (mbedTLS): a file that cannot be
opened gives ``ERR_INVALID_PARAMETER``, unparsable content gives ``FAILED``,
keys are saved as traditional ``RSA PRIVATE KEY``/``EC PRIVATE KEY`` PEM, and
a certificate file may hold a whole chain (leaf first), all of which is kept
and saved. A failed load leaves the object as it was.

Python additions: ``X509Certificate.load_from_string``/``save_to_string`` and
``certificates``, ``CryptoKey.cryptography_key``, ``keys_match`` and
``fingerprint_sha256``.
"""
from __future__ import annotations

import datetime
import logging
import os
import re
import secrets
from typing import TYPE_CHECKING, Callable, Union

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from .enums import Error
from .object import Object

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes

__all__ = ["CryptoKey", "X509Certificate", "Crypto", "keys_match", "fingerprint_sha256"]

logger = logging.getLogger("godot_ws")

PathType = Union[str, "os.PathLike[str]"]
PrivateKey = Union[rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey]
PublicKey = Union[rsa.RSAPublicKey, ec.EllipticCurvePublicKey]
_PRIVATE_TYPES = (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)
_KEY_TYPES = _PRIVATE_TYPES + (rsa.RSAPublicKey, ec.EllipticCurvePublicKey)

_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----\r?\n.*?-----END \1-----", re.DOTALL)
_PRIVATE_LABELS = (b"RSA PRIVATE KEY", b"EC PRIVATE KEY", b"PRIVATE KEY")
_PUBLIC_LABELS = (b"PUBLIC KEY", b"RSA PUBLIC KEY")
# Godot saves an empty X509Certificate as this (and returns OK).
_EMPTY_CERT_PEM = "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"

# Attribute names that Godot's issuer_name accepts (mbedTLS x509_create.c), case-sensitive.
_NAME_OIDS = {
    "CN": NameOID.COMMON_NAME, "commonName": NameOID.COMMON_NAME,
    "C": NameOID.COUNTRY_NAME, "countryName": NameOID.COUNTRY_NAME,
    "O": NameOID.ORGANIZATION_NAME, "organizationName": NameOID.ORGANIZATION_NAME,
    "L": NameOID.LOCALITY_NAME, "locality": NameOID.LOCALITY_NAME,
    "R": NameOID.EMAIL_ADDRESS, "emailAddress": NameOID.EMAIL_ADDRESS,
    "OU": NameOID.ORGANIZATIONAL_UNIT_NAME, "organizationalUnitName": NameOID.ORGANIZATIONAL_UNIT_NAME,
    "ST": NameOID.STATE_OR_PROVINCE_NAME, "stateOrProvinceName": NameOID.STATE_OR_PROVINCE_NAME,
    "serialNumber": NameOID.SERIAL_NUMBER, "postalAddress": NameOID.POSTAL_ADDRESS,
    "postalCode": NameOID.POSTAL_CODE, "dnQualifier": NameOID.DN_QUALIFIER,
    "title": NameOID.TITLE, "surName": NameOID.SURNAME, "SN": NameOID.SURNAME,
    "givenName": NameOID.GIVEN_NAME, "GN": NameOID.GIVEN_NAME,
    "initials": NameOID.INITIALS, "pseudonym": NameOID.PSEUDONYM,
    "generationQualifier": NameOID.GENERATION_QUALIFIER,
    "domainComponent": NameOID.DOMAIN_COMPONENT, "DC": NameOID.DOMAIN_COMPONENT,
}
_MAX_NAME_VALUE = 256  # MBEDTLS_X509_MAX_DN_NAME_SIZE


class _Reference(Object):
    """Godot's Reference (refcounting is Python's job here): only the class name."""
    _CLASS_NAME = "Reference"


class _Resource(_Reference):
    """Godot's Resource: only the class name."""
    _CLASS_NAME = "Resource"


# ------------------------------------------------------------------ file I/O

def _check_path(path: PathType) -> str:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike, not {type(path).__name__}")
    return os.fspath(path)


def _check_text(value: str, what: str) -> bytes:
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str of PEM text, not {type(value).__name__}")
    return value.encode("utf-8")


def _read_file(path: PathType, what: str) -> bytes | None:
    """The file's bytes, or None (logged) when it cannot be opened, as Godot."""
    name = _check_path(path)
    try:
        with open(name, "rb") as f:
            return f.read()
    except OSError as exc:
        logger.error("Cannot open %s file '%s': %s", what, name, exc.strerror or exc)
        return None


def _write_file(path: PathType, what: str, serialize: Callable[[], bytes | None]) -> Error:
    """Open ``path`` then write ``serialize()`` (None: FAILED), in Godot's order."""
    name = _check_path(path)
    try:
        f = open(name, "wb")
    except OSError as exc:
        logger.error("Cannot save %s file '%s': %s", what, name, exc.strerror or exc)
        return Error.ERR_INVALID_PARAMETER
    with f:
        data = serialize()
        if data is None:
            return Error.FAILED
        f.write(data)
    return Error.OK


def _pem_blocks(data: bytes, labels: tuple[bytes, ...]) -> list[bytes]:
    return [m.group(0) for m in _PEM_BLOCK.finditer(data) if m.group(1) in labels]


# ----------------------------------------------------------------- CryptoKey

class CryptoKey(_Resource):
    """A private key (RSA or EC), or only a public key (``public_only``)."""

    _CLASS_NAME = "CryptoKey"

    def __init__(self) -> None:
        self._key: PrivateKey | PublicKey | None = None
        self._public_only = False

    @property
    def cryptography_key(self) -> PrivateKey | PublicKey | None:
        """The underlying ``cryptography`` key (None when nothing is loaded)."""
        return self._key

    def is_public_only(self) -> bool:
        """True when only the public half was loaded."""
        return self._public_only

    def load(self, path: PathType, public_only: bool = False) -> Error:
        """Load a PEM (or DER) key file: OK, ERR_INVALID_PARAMETER (cannot open) or FAILED."""
        data = _read_file(path, "CryptoKey")
        if data is None:
            return Error.ERR_INVALID_PARAMETER
        return self._parse(data, public_only)

    def load_from_string(self, string_key: str, public_only: bool = False) -> Error:
        """Load a key from PEM text: OK or FAILED."""
        return self._parse(_check_text(string_key, "string_key"), public_only)

    def save(self, path: PathType, public_only: bool = False) -> Error:
        """Write the key as PEM: OK, ERR_INVALID_PARAMETER (cannot open) or FAILED (no key)."""
        return _write_file(path, "CryptoKey", lambda: self._serialize(public_only))

    def save_to_string(self, public_only: bool = False) -> str:
        """The key as PEM text, or "" (logged) when there is none to write."""
        data = self._serialize(public_only)
        return "" if data is None else data.decode("ascii")

    def _parse(self, data: bytes, public_only: bool) -> Error:
        labels = _PUBLIC_LABELS if public_only else _PRIVATE_LABELS
        blocks = _pem_blocks(data, labels)
        key: object
        try:
            if public_only:
                key = (serialization.load_pem_public_key(blocks[0]) if blocks
                       else serialization.load_der_public_key(data))
            else:
                key = (serialization.load_pem_private_key(blocks[0], password=None) if blocks
                       else serialization.load_der_private_key(data, password=None))
        except (ValueError, TypeError) as exc:  # TypeError: encrypted, no password (as Godot)
            logger.error("Error parsing %s key: %s", "public" if public_only else "private", exc)
            return Error.FAILED
        except UnsupportedAlgorithm as exc:
            logger.error("Error parsing key: %s", exc)
            return Error.FAILED
        if not isinstance(key, _KEY_TYPES):
            logger.error("Error parsing key: only RSA and EC keys are supported, not %s",
                         type(key).__name__)
            return Error.FAILED
        self._key, self._public_only = key, public_only
        return Error.OK

    def _serialize(self, public_only: bool) -> bytes | None:
        key = self._key
        if key is None:
            logger.error("Error writing key: the CryptoKey is empty")
            return None
        if public_only:
            return _public_of(key).public_bytes(serialization.Encoding.PEM,
                                                serialization.PublicFormat.SubjectPublicKeyInfo)
        if not isinstance(key, _PRIVATE_TYPES):
            logger.error("Error writing key: this CryptoKey holds only a public key")
            return None
        return key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.TraditionalOpenSSL,
                                       serialization.NoEncryption())


# ----------------------------------------------------------- X509Certificate

class X509Certificate(_Resource):
    """One certificate or a chain of them (leaf first), as read from one file."""

    _CLASS_NAME = "X509Certificate"

    def __init__(self) -> None:
        self._certs: tuple[x509.Certificate, ...] = ()

    @classmethod
    def from_cryptography(cls, *certs: x509.Certificate) -> X509Certificate:
        """An X509Certificate holding ``certs`` (leaf first)."""
        if not all(isinstance(c, x509.Certificate) for c in certs):
            raise TypeError("from_cryptography() takes cryptography.x509.Certificate objects")
        out = cls()
        out._certs = tuple(certs)
        return out

    @property
    def certificates(self) -> tuple[x509.Certificate, ...]:
        """Every certificate loaded, in file order (empty when nothing is loaded)."""
        return self._certs

    def load(self, path: PathType) -> Error:
        """Load every certificate of a PEM file (or one DER certificate): OK,
        ERR_INVALID_PARAMETER (cannot open) or FAILED (any certificate unparsable)."""
        data = _read_file(path, "X509Certificate")
        if data is None:
            return Error.ERR_INVALID_PARAMETER
        return self._parse(data)

    def load_from_string(self, string: str) -> Error:
        """Load every certificate of PEM text: OK or FAILED."""
        return self._parse(_check_text(string, "string"))

    def save(self, path: PathType) -> Error:
        """Write every certificate as PEM: OK or ERR_INVALID_PARAMETER (cannot open)."""
        return _write_file(path, "X509Certificate", lambda: self.save_to_string().encode("ascii"))

    def save_to_string(self) -> str:
        """Every certificate as PEM, leaf first."""
        if not self._certs:
            return _EMPTY_CERT_PEM
        return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in self._certs).decode("ascii")

    def _parse(self, data: bytes) -> Error:
        try:
            if b"-----BEGIN CERTIFICATE-----" in data:
                certs = tuple(x509.load_pem_x509_certificate(b)
                              for b in _pem_blocks(data, (b"CERTIFICATE",)))
                if not certs:
                    raise ValueError("no complete PEM certificate block")
            else:
                certs = (x509.load_der_x509_certificate(data),)
        except ValueError as exc:
            logger.error("Error parsing some certificates: %s", exc)
            return Error.FAILED
        self._certs = certs
        return Error.OK


# -------------------------------------------------------------------- Crypto

class Crypto(_Reference):
    """Random bytes, RSA keys and self-signed certificates, as Godot's Crypto."""

    _CLASS_NAME = "Crypto"

    def generate_random_bytes(self, n: int) -> bytes:
        """``n`` cryptographically secure random bytes."""
        if not isinstance(n, int) or isinstance(n, bool):
            raise TypeError(f"n must be an int, not {type(n).__name__}")
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        return secrets.token_bytes(n)

    def generate_rsa(self, size: int) -> CryptoKey:
        """A new RSA key of ``size`` bits (public exponent 65537, as Godot)."""
        if not isinstance(size, int) or isinstance(size, bool):
            raise TypeError(f"size must be an int number of bits, not {type(size).__name__}")
        if size < 1024:
            raise ValueError(f"RSA key size must be at least 1024 bits (2048 or more is advised), got {size}")
        key = CryptoKey()
        key._key = rsa.generate_private_key(public_exponent=65537, key_size=size)
        return key

    def generate_self_signed_certificate(self, key: CryptoKey,
                                         issuer_name: str = "CN=myserver,O=myorganisation,C=IT",
                                         not_before: str = "20140101000000",
                                         not_after: str = "20340101000000") -> X509Certificate:
        """A self-signed certificate for ``key``, built as Godot builds it.

        Subject = issuer = ``issuer_name`` (attributes in the given order),
        dates ``YYYYMMDDhhmmss`` UTC, X.509 v3, random serial, SHA-256,
        basic constraints CA:TRUE pathlen:0 (not critical)."""
        if not isinstance(key, CryptoKey):
            raise TypeError(f"key must be a CryptoKey, not {type(key).__name__}")
        private = private_key(key)
        if private is None:
            raise ValueError("key must hold a private key (generate_rsa() or CryptoKey.load())")
        name = _parse_name(issuer_name)
        cert = (x509.CertificateBuilder()
                .subject_name(name).issuer_name(name)
                .public_key(private.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(_parse_time(not_before, "not_before"))
                .not_valid_after(_parse_time(not_after, "not_after"))
                .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=False)
                .sign(private, hashes.SHA256()))
        return X509Certificate.from_cryptography(cert)


def _parse_name(text: str) -> x509.Name:
    """Parse Godot's ``"CN=a,O=b,C=IT"`` as mbedTLS does: only ``\\,`` escapes,
    spaces after a comma skipped, a repeated attribute replaces the first."""
    if not isinstance(text, str):
        raise TypeError(f"issuer_name must be a str, not {type(text).__name__}")
    values: dict[x509.ObjectIdentifier, str] = {}
    for part in re.split(r"(?<!\\),", text):
        part = part.lstrip(" ")
        tag, eq, value = part.partition("=")
        if not eq or tag not in _NAME_OIDS:
            raise ValueError(f"issuer_name {text!r}: {part!r} is not NAME=value with a known NAME "
                             f"(e.g. \"CN=myserver,O=myorganisation,C=IT\")")
        if re.search(r"\\(?!,)", value):
            raise ValueError(f"issuer_name {text!r}: only ',' may be escaped with a backslash")
        value = value.replace("\\,", ",")
        if len(value.encode("utf-8")) >= _MAX_NAME_VALUE:
            raise ValueError(f"issuer_name {text!r}: values are limited to {_MAX_NAME_VALUE - 1} bytes")
        values[_NAME_OIDS[tag]] = value
    try:
        return x509.Name([x509.NameAttribute(oid, value) for oid, value in values.items()])
    except ValueError as exc:  # e.g. a country code that is not 2 letters
        raise ValueError(f"issuer_name {text!r}: {exc}") from exc


def _parse_time(text: str, what: str) -> datetime.datetime:
    if not isinstance(text, str):
        raise TypeError(f"{what} must be a str like \"20140101000000\", not {type(text).__name__}")
    try:
        if len(text) != 14:
            raise ValueError
        return datetime.datetime.strptime(text, "%Y%m%d%H%M%S").replace(tzinfo=datetime.timezone.utc)
    except ValueError:
        raise ValueError(f"{what} must be YYYYMMDDhhmmss (UTC), e.g. \"20140101000000\"; got {text!r}") from None


# ------------------------------------------------------------------- helpers

def private_key(key: CryptoKey) -> PrivateKey | None:
    """The private key ``key`` holds, or None (empty, or only a public key)."""
    held = key.cryptography_key
    return held if isinstance(held, _PRIVATE_TYPES) else None


def _public_of(key: PrivateKey | PublicKey) -> PublicKey:
    return key.public_key() if isinstance(key, _PRIVATE_TYPES) else key


def _public_der(key: PrivateKey | CertificatePublicKeyTypes) -> bytes:
    pub = key.public_key() if isinstance(key, _PRIVATE_TYPES) else key
    return pub.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def keys_match(key: CryptoKey, cert: X509Certificate) -> bool:
    """True when ``key`` is the key of ``cert``'s first (leaf) certificate."""
    if not isinstance(key, CryptoKey) or not isinstance(cert, X509Certificate):
        raise TypeError("keys_match() takes a CryptoKey and an X509Certificate")
    if key.cryptography_key is None or not cert.certificates:
        return False
    return _public_der(key.cryptography_key) == _public_der(cert.certificates[0].public_key())


def fingerprint_sha256(cert: X509Certificate) -> str:
    """SHA-256 of the leaf certificate's DER, as ``"AB:CD:..."`` (what browsers and
    ``openssl x509 -fingerprint -sha256`` show)."""
    if not isinstance(cert, X509Certificate):
        raise TypeError(f"cert must be an X509Certificate, not {type(cert).__name__}")
    if not cert.certificates:
        raise ValueError("the X509Certificate is empty: load one first")
    return cert.certificates[0].fingerprint(hashes.SHA256()).hex(":").upper()
