"""Host name checks of the client's certificate verification (RFC 6125, IPs included)."""
from __future__ import annotations

import unittest

from godot_ws.crypto import Crypto
from godot_ws.transport.tls_client import host_matches
from tests.tls_fixtures import make_chain


class HostMatchTest(unittest.TestCase):
    def test_san_dns_and_ip(self):
        leaf = make_chain().leaf_cert  # SAN: localhost, 127.0.0.1
        self.assertTrue(host_matches(leaf, "localhost"))
        self.assertTrue(host_matches(leaf, "LOCALHOST."))
        self.assertTrue(host_matches(leaf, "127.0.0.1"))
        self.assertFalse(host_matches(leaf, "127.0.0.2"))
        self.assertFalse(host_matches(leaf, "example.com"))

    def test_common_name_without_san(self):
        crypto = Crypto()
        cert = crypto.generate_self_signed_certificate(crypto.generate_rsa(1024), "CN=*.example.com")
        (c,) = cert.certificates
        self.assertTrue(host_matches(c, "game.example.com"))
        self.assertFalse(host_matches(c, "example.com"))
        self.assertFalse(host_matches(c, "a.b.example.com"))
        self.assertFalse(host_matches(c, "1.2.3.4"))  # an IP never matches a CN


if __name__ == "__main__":
    unittest.main()
