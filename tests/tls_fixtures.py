"""Test TLS material: a root CA -> intermediate CA -> leaf chain, made once per process.

The leaf is RSA 2048 (like Godot's keys) with SAN ``localhost`` and
``127.0.0.1``; the CAs use EC P-256 so that making them is quick. Extensions
are those a strict verifier (Python's ``ssl``, OpenSSL 3) expects.
"""
from __future__ import annotations

import dataclasses
import datetime
import functools
import ipaddress

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from godot_ws.crypto import CryptoKey, X509Certificate
from godot_ws.enums import Error

HOSTNAME = "localhost"
IP = "127.0.0.1"


@dataclasses.dataclass(frozen=True)
class Chain:
    root_cert: x509.Certificate
    inter_cert: x509.Certificate
    leaf_cert: x509.Certificate
    leaf_key: rsa.RSAPrivateKey

    def leaf_crypto_key(self) -> CryptoKey:
        return _wrap(self.leaf_key)

    def root_pem(self) -> str:
        return X509Certificate.from_cryptography(self.root_cert).save_to_string()


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "godot_ws tests")])


def _issue(subject: str, public_key, issuer_name: x509.Name, issuer_key, *, ca: bool,
           path_length: int | None = None, san: list[x509.GeneralName] | None = None) -> x509.Certificate:
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder()
               .subject_name(_name(subject)).issuer_name(issuer_name)
               .public_key(public_key).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(days=1))
               .not_valid_after(now + datetime.timedelta(days=30))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=path_length), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
                              critical=False))
    if ca:
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
            encipher_only=False, decipher_only=False), critical=True)
    else:
        builder = (builder
                   .add_extension(x509.KeyUsage(
                       digital_signature=True, content_commitment=False, key_encipherment=True,
                       data_encipherment=False, key_agreement=False, key_cert_sign=False,
                       crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
                   .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
                   .add_extension(x509.SubjectAlternativeName(san or []), critical=False))
    return builder.sign(issuer_key, hashes.SHA256())


@functools.cache
def make_chain() -> Chain:
    """Root CA -> intermediate CA -> leaf for ``localhost``/``127.0.0.1`` (cached)."""
    root_key = ec.generate_private_key(ec.SECP256R1())
    root = _issue("godot_ws test root", root_key.public_key(), _name("godot_ws test root"), root_key,
                  ca=True, path_length=1)
    inter_key = ec.generate_private_key(ec.SECP256R1())
    inter = _issue("godot_ws test intermediate", inter_key.public_key(), root.subject, root_key,
                   ca=True, path_length=0)
    leaf_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    leaf = _issue(HOSTNAME, leaf_key.public_key(), inter.subject, inter_key, ca=False,
                  san=[x509.DNSName(HOSTNAME), x509.IPAddress(ipaddress.ip_address(IP))])
    return Chain(root_cert=root, inter_cert=inter, leaf_cert=leaf, leaf_key=leaf_key)


@functools.cache
def other_key() -> CryptoKey:
    """An RSA key that matches no certificate of ``make_chain()`` (cached)."""
    return _wrap(rsa.generate_private_key(public_exponent=65537, key_size=2048))


def _wrap(private_key) -> CryptoKey:
    key = CryptoKey()
    pem = private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    if key.load_from_string(pem.decode("ascii")) != Error.OK:
        raise AssertionError("test key did not load")
    return key
