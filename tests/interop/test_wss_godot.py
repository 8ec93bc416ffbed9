"""Real Godot 3.2.3 clients over wss:// with certificate verification.

The server presents the leaf of tests/tls_fixtures.py's root -> intermediate -> leaf
chain, with the intermediate sent through ``ca_chain``. The Godot clients keep
``verify_ssl = true`` and trust only the root (``trusted_ssl_certificate``, loaded from a
PEM file), so mbedTLS must build the chain through the intermediate the server sent, and
check the host name.

What Godot 3.2.3's mbedTLS client was seen to do (handshake error -9984,
MBEDTLS_ERR_X509_CERT_VERIFY_FAILED, when it refuses):
- root trusted, intermediate sent by the server through ``ca_chain``: verifies;
- intermediate trusted: verifies; leaf (not self-signed) trusted alone: refused;
- a self-signed certificate (``Crypto.generate_self_signed_certificate``) trusted as is:
  verifies when its CN is the URL's host name;
- ``wss://127.0.0.1`` is refused even though the leaf has an IP SAN 127.0.0.1: only DNS
  names are matched, so clients must use a host name (here ``localhost``).
"""
from __future__ import annotations

import tempfile
import unittest
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from godot_ws.crypto import Crypto, X509Certificate
from godot_ws.enums import Error
from godot_ws.server import WebSocketServer
from tests.interop import test_mp_godot as mp_tests
from tests.interop import test_raw_godot as raw_tests
from tests.tls_fixtures import HOSTNAME, make_chain


def configure_tls(server: WebSocketServer) -> None:
    chain = make_chain()
    server.private_key = chain.leaf_crypto_key()
    server.ssl_certificate = X509Certificate.from_cryptography(chain.leaf_cert)
    server.ca_chain = X509Certificate.from_cryptography(chain.inter_cert)


class PemFiles:
    """The chain's certificates as PEM files a Godot client can load (removed on cleanup)."""

    def __init__(self, test: unittest.TestCase) -> None:
        tmp = tempfile.TemporaryDirectory(prefix="godot_ws_wss_")
        test.addCleanup(tmp.cleanup)
        chain = make_chain()
        self.dir = Path(tmp.name)
        self.root = self._write("root.pem", chain.root_cert)
        self.intermediate = self._write("intermediate.pem", chain.inter_cert)
        self.leaf = self._write("leaf.pem", chain.leaf_cert)

    def _write(self, name: str, cert) -> str:
        path = self.dir / name
        path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return str(path)


def wss_env(trusted: str, host: str = HOSTNAME) -> dict:
    return {"GODOT_WS_SCHEME": "wss", "GODOT_WS_HOST": host, "GODOT_WS_VERIFY_SSL": "1",
            "GODOT_WS_TRUSTED_CERT": trusted}


class RawWssTest(raw_tests.RawServerCase):
    """test_raw_godot.py's raw-mode server (signals recorded), with the TLS chain, echoing."""

    bind_ip = "*"  # so that 127.0.0.2 reaches it (the wrong-host-name test)
    echo_same_type = raw_tests.EchoTest.echo_same_type

    def setUp(self):
        self.pem = PemFiles(self)
        super().setUp()

    def make_server(self):
        super().make_server()
        configure_tls(self.server)
        self.server.connect("data_received", self.echo_same_type)
        self.listen()

    def connected(self):
        return self.named("client_connected")

    def test_verified_echo_text_and_binary(self):
        g = self.run_client("wss_echo.gd", GODOT_WS_SIZES="1,126,65535", GODOT_WS_BURST="10",
                            **wss_env(self.pem.root))
        g.assert_ok(self, "connected", "bin_1", "text_1", "bin_126", "text_126", "bin_65535",
                    "text_65535", "text_utf8", "text_utf8_60000", "burst_9", "closed")
        (connected,) = self.connected()
        self.assertEqual(self.named("client_close_request"), [(connected[0], 1000, "echo done")])

    def test_untrusted_root_is_refused_by_godot(self):
        # Same server, but the client trusts only the system CAs: verification must fail,
        # which shows the other tests' success comes from the trusted root.
        g = self.run_client("wss_outcome.gd", GODOT_WS_EXPECT="error", **wss_env(""))
        g.assert_ok(self, "outcome")
        self.assertEqual(self.connected(), [])

    def test_wrong_host_name_is_refused_by_godot(self):
        # 127.0.0.2 reaches the server ("*" binds all of 127/8) but is no name of the leaf.
        g = self.run_client("wss_outcome.gd", GODOT_WS_EXPECT="error", **wss_env(self.pem.root, "127.0.0.2"))
        g.assert_ok(self, "outcome")
        self.assertEqual(self.connected(), [])

    def test_ip_address_url_is_refused_even_with_ip_san(self):
        # A Godot 3.2.3 limitation users meet: its mbedTLS matches DNS names only, so the
        # leaf's IP SAN 127.0.0.1 does not make wss://127.0.0.1 verify. Use a host name.
        g = self.run_client("wss_outcome.gd", GODOT_WS_EXPECT="error", **wss_env(self.pem.root, "127.0.0.1"))
        g.assert_ok(self, "outcome")
        self.assertEqual(self.connected(), [])

    def test_self_signed_certificate_trusted_as_is(self):
        # What most Godot users do: Crypto.generate_self_signed_certificate, the client
        # trusting that very certificate (saved with X509Certificate.save).
        self.server.stop()  # the chain's server; restarted below with the self-signed pair
        crypto = Crypto()
        key = crypto.generate_rsa(2048)
        cert = crypto.generate_self_signed_certificate(key, "CN=localhost,O=godot_ws tests,C=IT")
        path = str(self.pem.dir / "self_signed.crt")
        self.assertEqual(cert.save(path), Error.OK)
        self.server.private_key = key
        self.server.ssl_certificate = cert
        self.server.ca_chain = None
        self.listen()
        g = self.run_client("wss_echo.gd", GODOT_WS_SIZES="1,65535", GODOT_WS_BURST="3", **wss_env(path))
        g.assert_ok(self, "connected", "bin_1", "text_65535", "burst_2", "closed")

    def test_plain_ws_client_against_wss_server_fails(self):
        g = self.run_client("wss_outcome.gd", GODOT_WS_EXPECT="error", GODOT_WS_SCHEME="ws",
                            GODOT_WS_HOST=HOSTNAME)
        g.assert_ok(self, "outcome")
        self.assertEqual(self.connected(), [])


class MultiplayerWssTest(mp_tests.TwoPlayersTest):
    """The whole two-player game of test_mp_godot.py, over verified wss://."""

    def configure(self, server):
        configure_tls(server)
        self.env = wss_env(PemFiles(self).root)


if __name__ == "__main__":
    unittest.main()
