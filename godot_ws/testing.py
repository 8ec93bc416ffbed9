"""unittest building blocks for code that serves or speaks Godot's WebSocket protocol.

``WebSocketTestCase`` starts a :class:`WebSocketServer` on 127.0.0.1, port 0,
in ``setUp`` and stops it in ``tearDown``, together with every client made by
:meth:`~WebSocketTestCase.client`; it then checks that the threads and file
descriptors the test started are gone. :meth:`~WebSocketTestCase.wait_for`
keeps polling the server and every client until a signal has fired (each
emission is returned once, in order), so a test reads as the sequence of
events it expects, with a bounded wait each::

    class EchoTest(WebSocketTestCase):
        def configure_server(self, server):
            server.connect("data_received", lambda id: server.get_peer(id).put_packet(
                server.get_peer(id).get_packet()))

        def test_echo(self):
            client = self.client()
            client.get_peer(1).put_packet(b"ping")
            self.wait_for("data_received", source=client)
            self.assertEqual(client.get_peer(1).get_packet(), b"ping")

Everything runs on the test's thread: signals fire inside ``wait_for``'s polls.
"""
from __future__ import annotations

import functools
import os
import threading
import time
import unittest
from collections.abc import Iterable
from typing import Any, Callable

from .client import WebSocketClient
from .crypto import Crypto, CryptoKey, X509Certificate
from .enums import Error
from .object import Object
from .server import WebSocketServer
from .transport.acceptor import peer_threads

__all__ = ["WebSocketTestCase", "TIMEOUT", "fd_count", "self_signed", "thread_count"]

#: Default bound (seconds) of every wait; generous, since CI machines are slow.
TIMEOUT = 10.0
_STEP = 0.01


def fd_count() -> int:
    """Open file descriptors of this process (Linux: ``/proc/self/fd``)."""
    return len(os.listdir("/proc/self/fd"))


def thread_count() -> int:
    """Threads of this process: ``threading.active_count()`` plus the servers'
    peer threads, which ``threading`` does not list (they are started with
    ``_thread`` to keep idle peers small)."""
    return threading.active_count() + peer_threads()


@functools.cache
def self_signed(host: str = "localhost") -> tuple[CryptoKey, X509Certificate]:
    """A key and a self-signed certificate for ``host`` (made once per process)."""
    crypto = Crypto()
    key = crypto.generate_rsa(2048)
    return key, crypto.generate_self_signed_certificate(key, f"CN={host},O=godot_ws tests")


def _append(fired: list[tuple], *args: Any) -> None:
    fired.append(args)


class WebSocketTestCase(unittest.TestCase):
    """A server per test (``self.server``, ``self.url``) and clients on demand.

    Class attributes: ``mp`` (multiplayer mode for the server and, by default,
    the clients), ``protocols`` (the server's subprotocols), ``tls`` (serve
    ``wss://`` with :func:`self_signed`; clients trust that certificate).
    """

    mp = False
    protocols: tuple[str, ...] = ()
    tls = False
    timeout = TIMEOUT

    def configure_server(self, server: WebSocketServer) -> None:
        """Override to set server properties or connect signals before ``listen``."""

    def setUp(self) -> None:
        super().setUp()
        self._threads_before = set(threading.enumerate())
        self._peer_threads_before = peer_threads()
        self._fds_before = fd_count()
        self.clients: list[WebSocketClient] = []
        self._records: dict[int, dict[str, list[tuple]]] = {}
        self.server = WebSocketServer()
        self.server.bind_ip = "127.0.0.1"
        host = "127.0.0.1"
        if self.tls:
            host = "localhost"
            self.server.private_key, self.server.ssl_certificate = self_signed(host)
        self.configure_server(self.server)
        self._record(self.server)
        err = self.server.listen(0, self.protocols, self.mp)
        if err != Error.OK:
            self.fail(f"listen(0) failed: {err!r}")
        self.addCleanup(self._check_released)
        self.addCleanup(self._stop_all)
        self.url = f"{'wss' if self.tls else 'ws'}://{host}:{self.server.get_port()}"

    # -- clients -------------------------------------------------------------

    def client(self, path: str = "/", protocols: Iterable[str] | None = None,
               mp: bool | None = None, custom_headers: Iterable[str] = (),
               wait: bool = True) -> WebSocketClient:
        """A client connecting to ``self.url + path`` (stopped in tearDown).

        ``wait``: return once it is connected (``connection_established``, or
        ``connection_succeeded`` in multiplayer mode) and the server has
        announced it (that emission is taken), else right after ``connect_to_url``.
        """
        mp = self.mp if mp is None else mp
        client = WebSocketClient()
        if self.tls:
            client.trusted_ssl_certificate = self_signed("localhost")[1]
        self.add_client(client)
        protocols = self.protocols[:1] if protocols is None else tuple(protocols)
        err = client.connect_to_url(self.url + path, protocols, mp, custom_headers)
        if err != Error.OK:
            self.fail(f"connect_to_url({self.url + path!r}) failed: {err!r}")
        if wait:
            self.wait_for("connection_succeeded" if mp else "connection_established", source=client)
            self.wait_for("peer_connected" if self.mp else "client_connected")
        return client

    def add_client(self, client: WebSocketClient) -> WebSocketClient:
        """Have ``client`` polled by ``wait_for``, its signals recorded, and stopped in tearDown."""
        self.clients.append(client)
        self._record(client)
        return client

    # -- waiting ----------------------------------------------------------------

    def poll_all(self, timeout: float = 0.0) -> None:
        """One ``poll`` of the server and of every client (the first waits up to ``timeout``)."""
        self.server.poll(timeout)
        for client in self.clients:
            client.poll(0)

    def wait_for(self, signal: str, timeout: float | None = None,
                 source: Object | None = None) -> tuple:
        """The arguments of the oldest emission of ``signal`` by ``source`` that no
        earlier ``wait_for`` returned, polling everything until there is one.

        ``source`` defaults to the server when it has that signal, else to the
        newest client. Fails the test after ``timeout`` s (default ``self.timeout``).
        """
        if source is None:
            if self.server.has_signal(signal) or not self.clients:
                source = self.server
            else:
                source = self.clients[-1]
        if not source.has_signal(signal):
            raise ValueError(f"{source.get_class()} has no signal {signal!r}")
        fired = self._record(source)[signal]
        self.poll_until(lambda: bool(fired), timeout, f"{source.get_class()}.{signal}")
        return fired.pop(0)

    def poll_until(self, predicate: Callable[[], object], timeout: float | None = None,
                   what: str = "") -> None:
        """Poll everything until ``predicate()`` is true; fail the test after ``timeout`` s."""
        timeout = self.timeout if timeout is None else timeout
        end = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > end:
                self.fail(f"no {what or 'success'} within {timeout:g} s")
            self.poll_all(_STEP)

    def emissions(self, source: Object, signal: str) -> list[tuple]:
        """Emissions of ``signal`` by ``source`` not yet taken by ``wait_for`` (a live list)."""
        return self._record(source)[signal]

    def _record(self, source: Object) -> dict[str, list[tuple]]:
        """Record every signal of ``source`` from now on (once per object)."""
        records = self._records.get(id(source))
        if records is None:
            records = self._records[id(source)] = {}
            for info in source.get_signal_list():
                name = info["name"]
                fired = records[name] = []
                source.connect(name, functools.partial(_append, fired))
        return records

    # -- teardown ---------------------------------------------------------------

    def _stop_all(self) -> None:
        for client in self.clients:
            client.stop()
        self.server.stop()

    def _check_released(self) -> None:
        end = time.monotonic() + self.timeout
        while time.monotonic() < end and self._new_threads():
            time.sleep(_STEP)
        self.assertEqual(self._new_threads(), [], "threads left running")
        self.assertLessEqual(fd_count(), self._fds_before, "file descriptors left open")

    def _new_threads(self) -> list[str]:
        peers = peer_threads() - self._peer_threads_before
        return [t.name for t in threading.enumerate()
                if t not in self._threads_before and t.is_alive()] + ["godot_ws peer"] * peers
