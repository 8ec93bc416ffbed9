"""CryptoKey, X509Certificate, Crypto: formats, return codes and defaults of Godot 3.2.3."""
from __future__ import annotations

import datetime
import hashlib
import os
import pathlib
import shutil
import subprocess
import tempfile
import textwrap
import unittest

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from godot_ws.crypto import Crypto, CryptoKey, X509Certificate, fingerprint_sha256, keys_match
from godot_ws.enums import Error
from godot_ws.transport.tls import make_server_context
from tests.tls_fixtures import make_chain, other_key

UTC = datetime.timezone.utc


class TempDirTest(unittest.TestCase):
    def setUp(self) -> None:
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.dir = tmp.name

    def path(self, name: str) -> str:
        return os.path.join(self.dir, name)

    def write(self, name: str, data: bytes) -> str:
        with open(self.path(name), "wb") as f:
            f.write(data)
        return self.path(name)

    def read(self, name: str) -> bytes:
        with open(self.path(name), "rb") as f:
            return f.read()


class CryptoKeyTest(TempDirTest):
    @classmethod
    def setUpClass(cls) -> None:
        cls.key = Crypto().generate_rsa(2048)

    def test_string_round_trip_in_godot_format(self) -> None:
        pem = self.key.save_to_string()
        self.assertTrue(pem.startswith("-----BEGIN RSA PRIVATE KEY-----\n"))
        again = CryptoKey()
        self.assertEqual(again.load_from_string(pem), Error.OK)
        self.assertEqual(again.save_to_string(), pem)
        self.assertFalse(again.is_public_only())

    def test_file_round_trip(self) -> None:
        for path in (self.path("a.key"), pathlib.Path(self.path("b.key"))):
            with self.subTest(path=type(path).__name__):
                self.assertEqual(self.key.save(path), Error.OK)
                again = CryptoKey()
                self.assertEqual(again.load(path), Error.OK)
                self.assertEqual(again.save_to_string(), self.key.save_to_string())

    def test_other_encodings_load(self) -> None:
        ec_key = ec.generate_private_key(ec.SECP256R1())
        rsa_key = make_chain().leaf_key
        encodings = {
            "pkcs8": rsa_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()),
            "der": rsa_key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                         serialization.NoEncryption()),
            "ec": ec_key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.TraditionalOpenSSL,
                                       serialization.NoEncryption()),
            # A combined file: certificate first, then the key (mbedTLS finds the key block).
            "cert+key": (make_chain().leaf_cert.public_bytes(serialization.Encoding.PEM)
                         + rsa_key.private_bytes(serialization.Encoding.PEM,
                                                 serialization.PrivateFormat.PKCS8,
                                                 serialization.NoEncryption())),
        }
        for name, data in encodings.items():
            with self.subTest(encoding=name):
                key = CryptoKey()
                self.assertEqual(key.load(self.write(name, data)), Error.OK)
                self.assertIsNotNone(key.cryptography_key)
        ec_loaded = CryptoKey()
        ec_loaded.load(self.path("ec"))
        self.assertTrue(ec_loaded.save_to_string().startswith("-----BEGIN EC PRIVATE KEY-----\n"))

    def test_public_only(self) -> None:
        pub_pem = self.key.save_to_string(public_only=True)
        self.assertTrue(pub_pem.startswith("-----BEGIN PUBLIC KEY-----\n"))
        pub = CryptoKey()
        self.assertEqual(pub.load_from_string(pub_pem, public_only=True), Error.OK)
        self.assertTrue(pub.is_public_only())
        self.assertEqual(pub.save_to_string(public_only=True), pub_pem)
        with self.assertLogs("godot_ws", "ERROR"):
            self.assertEqual(pub.save_to_string(), "")  # no private half to write
        with self.assertLogs("godot_ws", "ERROR"):
            self.assertEqual(pub.save(self.path("pub.key")), Error.FAILED)
        self.assertEqual(self.key.save(self.path("pub.pem"), public_only=True), Error.OK)
        from_file = CryptoKey()
        self.assertEqual(from_file.load(self.path("pub.pem"), public_only=True), Error.OK)
        with self.assertLogs("godot_ws", "ERROR"):
            self.assertEqual(CryptoKey().load(self.path("pub.pem")), Error.FAILED)  # not a private key

    def test_missing_file(self) -> None:
        key = CryptoKey()
        with self.assertLogs("godot_ws", "ERROR"):
            self.assertEqual(key.load(self.path("missing.key")), Error.ERR_INVALID_PARAMETER)
        with self.assertLogs("godot_ws", "ERROR"):
            self.assertEqual(key.load(self.dir), Error.ERR_INVALID_PARAMETER)  # a directory
        self.assertIsNone(key.cryptography_key)

    def test_unparsable_content_keeps_the_old_key(self) -> None:
        key = CryptoKey()
        key.load_from_string(self.key.save_to_string())
        encrypted = self.key.cryptography_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret"))
        bad = {"garbage": b"hello garbage\n", "empty": b"",
               "truncated": self.key.save_to_string().encode()[:200] + b"\n-----END RSA PRIVATE KEY-----\n",
               "encrypted": encrypted,
               "certificate": make_chain().leaf_cert.public_bytes(serialization.Encoding.PEM)}
        for name, data in bad.items():
            with self.subTest(content=name):
                with self.assertLogs("godot_ws", "ERROR"):
                    self.assertEqual(key.load(self.write(name, data)), Error.FAILED)
                self.assertEqual(key.save_to_string(), self.key.save_to_string())
        with self.assertLogs("godot_ws", "ERROR"):
            self.assertEqual(key.load_from_string("not a key"), Error.FAILED)

    def test_save_errors(self) -> None:
        with self.assertLogs("godot_ws", "ERROR"):
            self.assertEqual(self.key.save(self.path("no/such/dir/k.key")), Error.ERR_INVALID_PARAMETER)
        with self.assertLogs("godot_ws", "ERROR"):
            self.assertEqual(CryptoKey().save(self.path("empty.key")), Error.FAILED)
        with self.assertLogs("godot_ws", "ERROR"):
            self.assertEqual(CryptoKey().save_to_string(), "")

    def test_misuse(self) -> None:
        key = CryptoKey()
        for bad in (123, b"/tmp/k.key", None):
            with self.subTest(path=bad):
                with self.assertRaises(TypeError):
                    key.load(bad)  # type: ignore[arg-type]
                with self.assertRaises(TypeError):
                    self.key.save(bad)  # type: ignore[arg-type]
        with self.assertRaises(TypeError):
            key.load_from_string(b"-----BEGIN RSA PRIVATE KEY-----")  # type: ignore[arg-type]

    def test_godot_class(self) -> None:
        key = CryptoKey()
        self.assertEqual(key.get_class(), "CryptoKey")
        for name in ("CryptoKey", "Resource", "Reference", "Object"):
            self.assertTrue(key.is_class(name), name)
        self.assertEqual(X509Certificate().get_class(), "X509Certificate")
        self.assertTrue(X509Certificate().is_class("Resource"))
        self.assertEqual(Crypto().get_class(), "Crypto")
        self.assertFalse(Crypto().is_class("Resource"))


class X509CertificateTest(TempDirTest):
    def chain_pem(self) -> bytes:
        chain = make_chain()
        return b"".join(c.public_bytes(serialization.Encoding.PEM)
                        for c in (chain.leaf_cert, chain.inter_cert, chain.root_cert))

    def test_chain_file_loads_and_saves_every_certificate(self) -> None:
        chain = make_chain()
        cert = X509Certificate()
        self.assertEqual(cert.load(self.write("chain.pem", self.chain_pem())), Error.OK)
        self.assertEqual(cert.certificates, (chain.leaf_cert, chain.inter_cert, chain.root_cert))
        self.assertEqual(cert.save(self.path("saved.pem")), Error.OK)
        self.assertEqual(self.read("saved.pem"), self.chain_pem())
        self.assertEqual(cert.save_to_string(), self.chain_pem().decode())

    def test_reload_replaces(self) -> None:
        cert = X509Certificate()
        cert.load(self.write("chain.pem", self.chain_pem()))
        self.assertEqual(cert.load_from_string(make_chain().root_pem()), Error.OK)
        self.assertEqual(cert.certificates, (make_chain().root_cert,))

    def test_text_around_blocks_and_der(self) -> None:
        chain = make_chain()
        noisy = b"subject=CN=localhost\n" + chain.leaf_cert.public_bytes(serialization.Encoding.PEM) + b"trailer\n"
        cert = X509Certificate()
        self.assertEqual(cert.load(self.write("noisy.pem", noisy)), Error.OK)
        self.assertEqual(cert.certificates, (chain.leaf_cert,))
        der = chain.inter_cert.public_bytes(serialization.Encoding.DER)
        self.assertEqual(cert.load(self.write("inter.der", der)), Error.OK)
        self.assertEqual(cert.certificates, (chain.inter_cert,))

    def test_errors(self) -> None:
        cert = X509Certificate()
        with self.assertLogs("godot_ws", "ERROR"):
            self.assertEqual(cert.load(self.path("missing.crt")), Error.ERR_INVALID_PARAMETER)
        good = make_chain().leaf_cert.public_bytes(serialization.Encoding.PEM)
        corrupt = good.replace(good[100:110], b"!!!!!!!!!!")
        for name, data in {"garbage": b"hello garbage\n", "empty": b"", "one bad of two": good + corrupt,
                           "key": Crypto().generate_rsa(1024).save_to_string().encode()}.items():
            with self.subTest(content=name):
                with self.assertLogs("godot_ws", "ERROR"):
                    self.assertEqual(cert.load(self.write("bad.pem", data)), Error.FAILED)
                self.assertEqual(cert.certificates, ())
        with self.assertLogs("godot_ws", "ERROR"):
            self.assertEqual(X509Certificate.from_cryptography(make_chain().leaf_cert).save(
                self.path("no/dir/c.crt")), Error.ERR_INVALID_PARAMETER)
        with self.assertRaises(TypeError):
            cert.load(42)  # type: ignore[arg-type]
        with self.assertRaises(TypeError):
            X509Certificate.from_cryptography("pem")  # type: ignore[arg-type]

    def test_empty_certificate_saves_as_godot_does(self) -> None:
        self.assertEqual(X509Certificate().save(self.path("e.crt")), Error.OK)
        self.assertEqual(self.read("e.crt"), b"-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n")


class KeysAndFingerprintTest(unittest.TestCase):
    def test_keys_match(self) -> None:
        chain = make_chain()
        leaf_first = X509Certificate.from_cryptography(chain.leaf_cert, chain.inter_cert)
        self.assertTrue(keys_match(chain.leaf_crypto_key(), leaf_first))
        self.assertFalse(keys_match(other_key(), leaf_first))
        self.assertFalse(keys_match(chain.leaf_crypto_key(),
                                    X509Certificate.from_cryptography(chain.inter_cert, chain.leaf_cert)))
        self.assertFalse(keys_match(CryptoKey(), leaf_first))
        self.assertFalse(keys_match(chain.leaf_crypto_key(), X509Certificate()))
        public = CryptoKey()
        public.load_from_string(chain.leaf_crypto_key().save_to_string(public_only=True), public_only=True)
        self.assertTrue(keys_match(public, leaf_first))
        with self.assertRaises(TypeError):
            keys_match("key", leaf_first)  # type: ignore[arg-type]

    def test_fingerprint(self) -> None:
        leaf = make_chain().leaf_cert
        digest = hashlib.sha256(leaf.public_bytes(serialization.Encoding.DER)).hexdigest().upper()
        text = fingerprint_sha256(X509Certificate.from_cryptography(leaf, make_chain().root_cert))
        self.assertEqual(text.replace(":", ""), digest)
        self.assertEqual(len(text), 32 * 3 - 1)
        with self.assertRaises(ValueError):
            fingerprint_sha256(X509Certificate())


class CryptoTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.crypto = Crypto()
        cls.key = cls.crypto.generate_rsa(2048)

    def test_random_bytes(self) -> None:
        a, b = self.crypto.generate_random_bytes(32), self.crypto.generate_random_bytes(32)
        self.assertIsInstance(a, bytes)
        self.assertEqual(len(a), 32)
        self.assertNotEqual(a, b)
        self.assertEqual(self.crypto.generate_random_bytes(0), b"")
        with self.assertRaises(ValueError):
            self.crypto.generate_random_bytes(-1)
        with self.assertRaises(TypeError):
            self.crypto.generate_random_bytes("8")  # type: ignore[arg-type]

    def test_generate_rsa(self) -> None:
        raw = self.key.cryptography_key
        self.assertIsInstance(raw, rsa.RSAPrivateKey)
        self.assertEqual(raw.key_size, 2048)
        self.assertEqual(raw.public_key().public_numbers().e, 65537)
        with self.assertRaises(ValueError):
            self.crypto.generate_rsa(512)
        with self.assertRaises(TypeError):
            self.crypto.generate_rsa(2048.0)  # type: ignore[arg-type]

    def test_self_signed_defaults_as_godot(self) -> None:
        cert = self.crypto.generate_self_signed_certificate(self.key)
        self.assertEqual(len(cert.certificates), 1)
        c = cert.certificates[0]
        expected = [(NameOID.COMMON_NAME, "myserver"), (NameOID.ORGANIZATION_NAME, "myorganisation"),
                    (NameOID.COUNTRY_NAME, "IT")]
        self.assertEqual([(a.oid, a.value) for a in c.subject], expected)  # DER order = string order
        self.assertEqual(c.issuer, c.subject)
        self.assertEqual(c.not_valid_before_utc, datetime.datetime(2014, 1, 1, tzinfo=UTC))
        self.assertEqual(c.not_valid_after_utc, datetime.datetime(2034, 1, 1, tzinfo=UTC))
        self.assertEqual(c.version, x509.Version.v3)
        self.assertIsInstance(c.signature_hash_algorithm, hashes.SHA256)
        self.assertGreater(c.serial_number, 0)
        constraints = c.extensions.get_extension_for_class(x509.BasicConstraints)
        self.assertFalse(constraints.critical)
        self.assertEqual((constraints.value.ca, constraints.value.path_length), (True, 0))
        c.verify_directly_issued_by(c)
        self.assertTrue(keys_match(self.key, cert))
        self.assertNotEqual(self.crypto.generate_self_signed_certificate(self.key).certificates[0].serial_number,
                            c.serial_number)

    def test_self_signed_custom_name_and_dates(self) -> None:
        cert = self.crypto.generate_self_signed_certificate(
            self.key, "CN=a\\,b, OU=u,emailAddress=e@x,CN=c", "20200229123456", "20991231235959")
        c = cert.certificates[0]
        # mbedTLS: "\," escapes, a space after a comma is skipped, a repeated name replaces the first.
        self.assertEqual([(a.oid, a.value) for a in c.subject],
                         [(NameOID.COMMON_NAME, "c"), (NameOID.ORGANIZATIONAL_UNIT_NAME, "u"),
                          (NameOID.EMAIL_ADDRESS, "e@x")])
        self.assertEqual(c.not_valid_before_utc, datetime.datetime(2020, 2, 29, 12, 34, 56, tzinfo=UTC))
        self.assertEqual(c.not_valid_after_utc, datetime.datetime(2099, 12, 31, 23, 59, 59, tzinfo=UTC))

    def test_self_signed_misuse(self) -> None:
        for name in ("garbage", "", "XX=1", "CN=a\\b", "C=ITA", "CN=" + "x" * 300):
            with self.subTest(issuer_name=name):
                with self.assertRaises(ValueError):
                    self.crypto.generate_self_signed_certificate(self.key, name)
        for before, after in (("2014", "20340101000000"), ("20140101000000", "20341301000000")):
            with self.subTest(dates=(before, after)):
                with self.assertRaises(ValueError):
                    self.crypto.generate_self_signed_certificate(self.key, "CN=a", before, after)
        with self.assertRaises(ValueError):
            self.crypto.generate_self_signed_certificate(CryptoKey())
        with self.assertRaises(TypeError):
            self.crypto.generate_self_signed_certificate("key.pem")  # type: ignore[arg-type]


GODOT = shutil.which("godot3-server")


class RealGodotTest(TempDirTest):
    """Files made by real Godot load here, and files saved here load in Godot."""

    def setUp(self) -> None:
        from tests.interop.godot import require_godot
        require_godot()  # fails loudly in CI when Godot is missing (never a silent skip)
        super().setUp()

    def run_godot(self, body: str) -> str:
        script = self.write("probe.gd", ("extends SceneTree\nfunc _init():\n"
                                         + textwrap.indent(textwrap.dedent(body), "\t") + "\tquit()\n").encode())
        done = subprocess.run([GODOT, "--no-window", "--script", script], capture_output=True, text=True,
                              timeout=60, cwd=self.dir)
        return done.stdout

    def test_both_directions(self) -> None:
        crypto = Crypto()
        ours_key = crypto.generate_rsa(2048)
        ours_cert = crypto.generate_self_signed_certificate(ours_key, "CN=ours,O=godot_ws,C=IT")
        self.assertEqual(ours_key.save(self.path("ours.key")), Error.OK)
        self.assertEqual(ours_cert.save(self.path("ours.crt")), Error.OK)
        out = self.run_godot(f"""
            var c = Crypto.new()
            var k = c.generate_rsa(2048)
            k.save("{self.path('godot.key')}")
            c.generate_self_signed_certificate(k).save("{self.path('godot.crt')}")
            print("RESULT key=", CryptoKey.new().load("{self.path('ours.key')}"),
                  " cert=", X509Certificate.new().load("{self.path('ours.crt')}"))
            """)
        self.assertIn("RESULT key=0 cert=0", out)
        key, cert = CryptoKey(), X509Certificate()
        self.assertEqual(key.load(self.path("godot.key")), Error.OK)
        self.assertEqual(cert.load(self.path("godot.crt")), Error.OK)
        self.assertTrue(keys_match(key, cert))
        make_server_context(key, cert)  # Godot's own material serves TLS here
        self.assertEqual(key.save_to_string(), self.read("godot.key").decode())
        ours_c, godot_c = ours_cert.certificates[0], cert.certificates[0]
        for field in ("version", "not_valid_before_utc", "not_valid_after_utc", "signature_algorithm_oid"):
            self.assertEqual(getattr(ours_c, field), getattr(godot_c, field), field)
        self.assertEqual(list(godot_c.subject), list(crypto.generate_self_signed_certificate(key)
                                                     .certificates[0].subject))
        self.assertEqual(list(ours_c.extensions), list(godot_c.extensions))


if __name__ == "__main__":
    unittest.main()
