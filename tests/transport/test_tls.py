"""TLSSession and make_server_context against Python's ssl client, over memory BIOs only."""
from __future__ import annotations

import collections
import random
import ssl
import unittest
import warnings
from typing import Any

from OpenSSL import SSL

from godot_ws.crypto import CryptoKey, X509Certificate
from godot_ws.transport.tls import TLSClosed, TLSError, TLSSession, make_server_context
from godot_ws.transport.tls_client import ServerName
from tests.tls_fixtures import HOSTNAME, IP, make_chain, other_key

VERSIONS = (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3)
VERSION_NAMES = {ssl.TLSVersion.TLSv1_2: "TLSv1.2", ssl.TLSVersion.TLSv1_3: "TLSv1.3"}
MAX_ROUNDS = 20  # a handshake takes 2-3 round trips; more means a stuck pump


def served(leaf_only: bool = False, chain_in_file: bool = False) -> tuple[CryptoKey, X509Certificate,
                                                                             X509Certificate | None]:
    """(key, cert, ca_chain) for the test chain; the intermediate sent via ca_chain or the file."""
    chain = make_chain()
    if leaf_only:
        return chain.leaf_crypto_key(), X509Certificate.from_cryptography(chain.leaf_cert), None
    if chain_in_file:
        return (chain.leaf_crypto_key(),
                X509Certificate.from_cryptography(chain.leaf_cert, chain.inter_cert), None)
    return (chain.leaf_crypto_key(), X509Certificate.from_cryptography(chain.leaf_cert),
            X509Certificate.from_cryptography(chain.inter_cert))


class Pair:
    """A TLSSession (server) wired to an ssl.SSLObject (client) through memory BIOs."""

    def __init__(self, version: ssl.TLSVersion | None = None, server_hostname: str = HOSTNAME,
                 **served_kwargs: bool) -> None:
        client_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies chain and hostname
        client_ctx.load_verify_locations(cadata=make_chain().root_pem())  # the only trust anchor
        if version is not None:
            client_ctx.minimum_version = client_ctx.maximum_version = version
        self.to_client, self.to_server = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.client = client_ctx.wrap_bio(self.to_client, self.to_server, server_hostname=server_hostname)
        self.server = TLSSession(make_server_context(*served(**served_kwargs)))

    def client_to_server(self) -> None:
        self.server.feed(self.to_server.read())

    def server_to_client(self) -> None:
        self.to_client.write(self.server.outgoing())

    def handshake(self) -> None:
        for _ in range(MAX_ROUNDS):
            try:
                self.client.do_handshake()
                client_done = True
            except ssl.SSLWantReadError:
                client_done = False
            self.client_to_server()
            server_done = self.server.do_handshake()
            self.server_to_client()
            if client_done and server_done:
                return
        raise AssertionError("handshake did not finish")

    def client_read_all(self) -> bytes:
        got = bytearray()
        while True:
            try:
                got += self.client.read(1 << 20)
            except ssl.SSLWantReadError:
                return bytes(got)

    def client_write_all(self, data: bytes) -> None:
        view = memoryview(data)
        offset = 0
        while offset < len(view):
            offset += self.client.write(view[offset:offset + (1 << 20)])


class CountingConnection:
    """Stands in for a session's ``SSL.Connection``, counting the calls per method."""

    def __init__(self, conn: SSL.Connection) -> None:
        self.conn = conn
        self.calls: collections.Counter[str] = collections.Counter()

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.conn, name)

        def counted(*args: Any) -> Any:
            self.calls[name] += 1
            return method(*args)
        return counted


def count_calls(session: TLSSession) -> collections.Counter[str]:
    """Count from now on the calls ``session`` makes to pyOpenSSL."""
    counting = CountingConnection(session._conn)
    session._conn = counting  # type: ignore[assignment]
    return counting.calls


class HandshakeTest(unittest.TestCase):
    def test_client_verifies_chain_and_hostname(self) -> None:
        for version in VERSIONS:
            for hostname in (HOSTNAME, IP):
                with self.subTest(version=version, hostname=hostname):
                    pair = Pair(version, server_hostname=hostname)
                    self.assertFalse(pair.server.handshake_done)
                    self.assertIsNone(pair.server.protocol_version)
                    pair.handshake()
                    self.assertTrue(pair.server.handshake_done)
                    self.assertEqual(pair.server.protocol_version, VERSION_NAMES[version])
                    self.assertEqual(pair.client.version(), VERSION_NAMES[version])
                    self.assertIsNotNone(pair.server.cipher)
                    subject = dict(rdn[0] for rdn in pair.client.getpeercert()["subject"])
                    self.assertEqual(subject["commonName"], HOSTNAME)

    def test_chain_from_the_certificate_file(self) -> None:
        pair = Pair(chain_in_file=True)
        pair.handshake()
        self.assertTrue(pair.server.handshake_done)

    def test_without_intermediate_the_client_rejects_the_leaf(self) -> None:
        pair = Pair(leaf_only=True)
        with self.assertRaises(ssl.SSLCertVerificationError):
            pair.handshake()

    def test_wrong_hostname_is_rejected_by_the_client(self) -> None:
        pair = Pair(server_hostname="example.org")
        with self.assertRaises(ssl.SSLCertVerificationError):
            pair.handshake()

    def test_old_protocol_refused(self) -> None:
        client_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        client_ctx.check_hostname = False
        client_ctx.verify_mode = ssl.CERT_NONE
        client_ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            client_ctx.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
            client_ctx.maximum_version = ssl.TLSVersion.TLSv1_1
        to_client, to_server = ssl.MemoryBIO(), ssl.MemoryBIO()
        client = client_ctx.wrap_bio(to_client, to_server)
        server = TLSSession(make_server_context(*served()))
        try:
            client.do_handshake()
        except ssl.SSLWantReadError:
            pass
        except ssl.SSLError:
            self.skipTest("this OpenSSL cannot even offer TLS 1.1 as a client")
        server.feed(to_server.read())
        with self.assertRaises(TLSError):
            server.do_handshake()
        self.assertFalse(server.handshake_done)

    def test_plain_http_is_a_handshake_error(self) -> None:
        server = TLSSession(make_server_context(*served()))
        server.feed(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        with self.assertRaises(TLSError):
            server.do_handshake()

    def test_handshake_fed_one_byte_at_a_time(self) -> None:
        pair = Pair()
        for _ in range(MAX_ROUNDS):
            try:
                pair.client.do_handshake()
                if pair.server.handshake_done:
                    break
            except ssl.SSLWantReadError:
                pass
            for byte in pair.to_server.read():
                pair.server.feed(bytes([byte]))
                pair.server.do_handshake()
            pair.server_to_client()
        self.assertTrue(pair.server.handshake_done)

    def test_no_handshake_call_until_a_record_is_complete(self) -> None:
        pair = Pair()
        calls = count_calls(pair.server)
        self.assertFalse(pair.server.do_handshake())  # nothing fed yet
        try:
            pair.client.do_handshake()
        except ssl.SSLWantReadError:
            pass
        hello = pair.to_server.read()
        for byte in hello[:-1]:
            pair.server.feed(bytes([byte]))
            self.assertFalse(pair.server.do_handshake())
        self.assertEqual(calls["do_handshake"], 0)
        self.assertEqual(pair.server.outgoing(), b"")
        pair.server.feed(hello[-1:])
        self.assertFalse(pair.server.do_handshake())
        self.assertEqual(calls["do_handshake"], 1)
        self.assertTrue(pair.server.outgoing())  # ServerHello ... Finished

    def test_write_before_handshake_is_misuse(self) -> None:
        server = TLSSession(make_server_context(*served()))
        with self.assertRaises(RuntimeError):
            server.write(b"too early")


class DataTest(unittest.TestCase):
    BIG = bytes(range(256)) * (5 * 4096)  # 5 MiB

    def test_big_message_both_ways(self) -> None:
        for version in VERSIONS:
            with self.subTest(version=version):
                pair = Pair(version)
                pair.handshake()
                pair.server.write(self.BIG)
                pair.server_to_client()
                self.assertEqual(pair.client_read_all(), self.BIG)
                pair.client_write_all(self.BIG)
                pair.client_to_server()
                self.assertEqual(pair.server.read(), self.BIG)

    def test_big_message_fed_in_socket_sized_pieces(self) -> None:
        pair = Pair()
        pair.handshake()
        pair.client_write_all(self.BIG)
        wire = memoryview(pair.to_server.read())
        received = bytearray()
        for offset in range(0, len(wire), 65536):
            pair.server.feed(wire[offset:offset + 65536])
            received += pair.server.read()
        self.assertEqual(bytes(received), self.BIG)

    def test_many_small_messages(self) -> None:
        for version in VERSIONS:
            with self.subTest(version=version):
                pair = Pair(version)
                pair.handshake()
                messages = [bytes([i % 251]) * (1 + i % 97) for i in range(2000)]
                for i, message in enumerate(messages):
                    pair.server.write(message if i % 2 else memoryview(bytearray(message)))
                    if i % 7 == 0:
                        pair.server_to_client()
                pair.server_to_client()
                self.assertEqual(pair.client_read_all(), b"".join(messages))
                received = bytearray()
                for i, message in enumerate(messages):
                    pair.client.write(message)
                    if i % 5 == 0:
                        pair.client_to_server()
                        received += pair.server.read()
                pair.client_to_server()
                received += pair.server.read()
                self.assertEqual(bytes(received), b"".join(messages))

    def test_one_call_per_record(self) -> None:
        for version in VERSIONS:
            with self.subTest(version=version):
                pair = Pair(version)
                pair.handshake()
                pair.server.read()  # whatever came with the handshake
                pair.server_to_client()
                calls = count_calls(pair.server)
                pair.client.write(b"one record")
                pair.client_to_server()
                self.assertEqual(pair.server.read(), b"one record")
                self.assertEqual(pair.server.outgoing(), b"")
                self.assertEqual(pair.server.read(), b"")
                self.assertEqual(dict(calls), {"bio_write": 1, "recv": 1})
                for i in range(3):
                    pair.client.write(b"record %d" % i)
                pair.client_to_server()
                self.assertEqual(pair.server.read(), b"record 0record 1record 2")
                self.assertEqual(calls["recv"], 4)
                self.assertNotIn("bio_read", calls)

    def test_records_split_anywhere(self) -> None:
        rng = random.Random(7)
        for version in VERSIONS:
            with self.subTest(version=version):
                pair = Pair(version)
                pair.handshake()
                messages = [rng.randbytes(rng.choice((0, 1, 5, 100, 16384, 40000)))
                            for _ in range(60)]
                for message in messages:
                    pair.client_write_all(message)
                wire = pair.to_server.read()
                received = bytearray()
                offset = 0
                while offset < len(wire):
                    step = rng.choice((1, 2, 3, 4, 5, 6, 7, 300, 16411, 70000))
                    pair.server.feed(wire[offset:offset + step])
                    offset += step
                    received += pair.server.read()
                self.assertEqual(bytes(received), b"".join(messages))

    def test_record_without_plaintext_is_answered(self) -> None:
        """A TLS 1.2 renegotiation attempt yields no plaintext, but an alert to send."""
        client_ctx = SSL.Context(SSL.TLS_CLIENT_METHOD)  # make_client_context's refuses to renegotiate
        client_ctx.set_max_proto_version(SSL.TLS1_2_VERSION)
        client_ctx.set_app_data(ServerName("localhost"))  # TLSSession: be the client
        client = TLSSession(client_ctx)
        server = TLSSession(make_server_context(*served()))
        for _ in range(MAX_ROUNDS):
            done = client.do_handshake()
            server.feed(client.outgoing())
            server.do_handshake()
            client.feed(server.outgoing())
            if done and server.handshake_done:
                break
        self.assertEqual(server.read(), b"")
        self.assertEqual(server.outgoing(), b"")
        self.assertTrue(client._conn.renegotiate())
        with self.assertRaises(SSL.WantReadError):
            client._conn.do_handshake()
        server.feed(client._conn.bio_read(65536))  # the new ClientHello
        self.assertEqual(server.read(), b"")
        self.assertTrue(server.outgoing())  # no_renegotiation alert

    def test_nothing_pending(self) -> None:
        pair = Pair()
        pair.handshake()
        self.assertEqual(pair.server.read(), b"")
        self.assertEqual(pair.server.outgoing(), b"")
        pair.server.write(b"")
        self.assertEqual(pair.server.outgoing(), b"")


class CloseTest(unittest.TestCase):
    def test_client_close_notify_after_data(self) -> None:
        for version in VERSIONS:
            with self.subTest(version=version):
                pair = Pair(version)
                pair.handshake()
                pair.client.write(b"last words")
                with self.assertRaises(ssl.SSLWantReadError):
                    pair.client.unwrap()  # sends close_notify, waits for ours
                pair.client_to_server()
                self.assertEqual(pair.server.read(), b"last words")
                with self.assertRaises(TLSClosed):
                    pair.server.read()
                with self.assertRaises(TLSClosed):
                    pair.server.read()  # stays closed
                pair.server.shutdown()
                pair.server_to_client()
                pair.client.unwrap()  # completes: the server's close_notify arrived

    def test_server_close_notify(self) -> None:
        for version in VERSIONS:
            with self.subTest(version=version):
                pair = Pair(version)
                pair.handshake()
                pair.server.write(b"bye")
                pair.server.shutdown()
                pair.server.shutdown()  # idempotent
                pair.server_to_client()
                self.assertEqual(pair.client.read(100), b"bye")
                self.assertEqual(pair.client.read(100), b"")  # ssl's clean EOF
                pair.client.unwrap()  # completes at once only if close_notify arrived
                with self.assertRaises(TLSError):
                    pair.server.write(b"after shutdown")

    def test_eof_without_close_notify_is_an_error(self) -> None:
        pair = Pair()
        pair.handshake()
        pair.client.write(b"cut")
        pair.client_to_server()
        pair.server.feed_eof()
        self.assertEqual(pair.server.read(), b"cut")
        with self.assertRaises(TLSError):
            pair.server.read()

    def test_garbage_after_handshake_is_an_error(self) -> None:
        pair = Pair()
        pair.handshake()
        pair.server.feed(b"\x17\x03\x03\x00\x20" + b"\x00" * 32)  # an application record that fails to decrypt
        with self.assertRaises(TLSError):
            pair.server.read()
        pair.server.shutdown()  # must not raise after a fatal error

    def test_shutdown_before_handshake_does_not_raise(self) -> None:
        server = TLSSession(make_server_context(*served()))
        server.shutdown()
        self.assertIsInstance(server.outgoing(), bytes)
        self.assertFalse(server.handshake_done)


class ContextTest(unittest.TestCase):
    def test_key_not_matching_certificate(self) -> None:
        _key, cert, ca_chain = served()
        with self.assertRaisesRegex(ValueError, "does not match"):
            make_server_context(other_key(), cert, ca_chain)

    def test_empty_or_public_material(self) -> None:
        key, cert, _ca = served()
        with self.assertRaisesRegex(ValueError, "no private key"):
            make_server_context(CryptoKey(), cert)
        public = CryptoKey()
        self.assertEqual(public.load_from_string(key.save_to_string(public_only=True), public_only=True), 0)
        with self.assertRaisesRegex(ValueError, "no private key"):
            make_server_context(public, cert)
        with self.assertRaisesRegex(ValueError, "no certificate"):
            make_server_context(key, X509Certificate())

    def test_wrong_types(self) -> None:
        key, cert, ca_chain = served()
        with self.assertRaises(TypeError):
            make_server_context("key.pem", cert)  # type: ignore[arg-type]
        with self.assertRaises(TypeError):
            make_server_context(key, "cert.pem")  # type: ignore[arg-type]
        with self.assertRaises(TypeError):
            make_server_context(key, cert, "chain.pem")  # type: ignore[arg-type]


if __name__ == "__main__":
    unittest.main()
