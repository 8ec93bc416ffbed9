"""MultiplayerAPI: Godot 3's high-level multiplayer (RPC, rset, raw bytes) in Python.

Python has no scene tree, so objects are *registered* under a node path
relative to the multiplayer root (Godot's ``/root``): ``register("Main", obj)``
stands for the node ``/root/Main`` of the Godot peers. Which members remote
peers may call or set is declared as in GDScript, with decorators::

    class Main:
        remote_prop = remote(0)          # remote var remote_prop = 0

        @remote
        def r_hello(self, a, b, c): ...  # remote func r_hello(a, b, c)

        @puppet
        def p_call(self, x): ...

    main = multiplayer.register("Main", Main())   # network master 1 (the server)
    main.rpc("r_hello", 1, "x", None)             # like GDScript's main.rpc(...)

``rpc_config``/``rset_config`` override the decorators, as in Godot. Members
without a mode are DISABLED: remote peers cannot reach them.

Packets follow Godot 3.2 byte for byte (``protocol/rpc.py``); refused or
malformed packets are dropped with an error log naming the peer, the node and
the reason, and the peer stays connected, as in Godot.

Threading: like Godot's, this class is not thread-safe. Use it (``poll``,
``rpc*``, ``rset*``, ``send_bytes``, registration) from the thread that polls;
only ``call_deferred``/``set_deferred`` may come from other threads.
"""
from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Iterable
from typing import Any, Callable, cast

from .enums import ConnectionStatus, Error, TransferMode
from .multiplayer_peer import NetworkPeer
from .object import Callback, Object
from .protocol import rpc
from .protocol.rpc import Command, RpcError, RPCMode
from .variant.types import NodePath

__all__ = ["MultiplayerAPI", "RemoteNode", "RPCMode",
           "remote", "master", "puppet", "slave", "remotesync", "sync", "mastersync", "puppetsync"]

logger = logging.getLogger("godot_ws")

_MODE_ATTR = "_godot_rpc_mode"
_ROOT = "/root"
_IDLE_WAIT = 0.05  # seconds poll() sleeps at most when there is no peer to wait on


# --------------------------------------------------------------- declarations

class _SyncedVar:
    """A data attribute with an rset mode (``remote_prop = remote(0)``)."""

    def __init__(self, mode: RPCMode, default: Any) -> None:
        self._godot_rpc_mode = mode
        self.default = default
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, instance: object, owner: type | None = None) -> Any:
        if instance is None:
            return self
        return instance.__dict__.get(self.name, self.default)

    def __set__(self, instance: object, value: Any) -> None:
        instance.__dict__[self.name] = value


class _SyncedProperty(property):
    """A ``property`` with an rset mode (``@remote`` above ``@property``)."""
    _godot_rpc_mode = RPCMode.DISABLED

    def _keep_mode(self, new: property) -> _SyncedProperty:
        synced = cast(_SyncedProperty, new)  # property.getter & co. build a type(self)
        synced._godot_rpc_mode = self._godot_rpc_mode
        return synced

    def getter(self, fget: Callable[[Any], Any]) -> _SyncedProperty:
        return self._keep_mode(super().getter(fget))

    def setter(self, fset: Callable[[Any, Any], None]) -> _SyncedProperty:
        return self._keep_mode(super().setter(fset))

    def deleter(self, fdel: Callable[[Any], None]) -> _SyncedProperty:
        return self._keep_mode(super().deleter(fdel))


def _mode_decorator(mode: RPCMode) -> Callable[[Any], Any]:
    def declare(member: Any) -> Any:
        if isinstance(member, property):
            synced = _SyncedProperty(member.fget, member.fset, member.fdel, member.__doc__)
            synced._godot_rpc_mode = mode
            return synced
        target = getattr(member, "__func__", member)  # staticmethod / classmethod
        if callable(target):
            setattr(target, _MODE_ATTR, mode)
            return member
        return _SyncedVar(mode, member)
    declare.__name__ = mode.name.lower()
    declare.__doc__ = (f"Declare a method, property or attribute (``x = {mode.name.lower()}(default)``) "
                       f"with RPC mode {mode.name}, as GDScript's ``{mode.name.lower()}`` keyword.")
    return declare


remote = _mode_decorator(RPCMode.REMOTE)
master = _mode_decorator(RPCMode.MASTER)
puppet = _mode_decorator(RPCMode.PUPPET)
remotesync = _mode_decorator(RPCMode.REMOTESYNC)
mastersync = _mode_decorator(RPCMode.MASTERSYNC)
puppetsync = _mode_decorator(RPCMode.PUPPETSYNC)
slave = puppet      # Godot 3's deprecated keyword names
sync = remotesync


def _declared_mode(obj: object, name: str, data: bool) -> RPCMode | None:
    """The mode a decorator gave member ``name`` of ``obj`` (the "script" mode), or None.

    ``data``: the rset lookup, which sees only attributes and properties; the rpc lookup
    sees only methods. As in GDScript, ``remote func f`` gives no rset mode to ``f`` (a
    client cannot overwrite the method) and ``remote var v`` no rpc mode to ``v``.
    """
    try:
        member = inspect.getattr_static(obj, name)
    except AttributeError:
        return None
    if isinstance(member, (_SyncedVar, _SyncedProperty)) != data:
        return None
    member = getattr(member, "__func__", member)
    mode = getattr(member, _MODE_ATTR, None)
    return RPCMode(mode) if mode is not None else None


def _node_key(path: str | NodePath) -> str | None:
    """The registry key (path relative to the root) of a node path, resolved as
    Godot's ``root.get_node`` does; None when it leaves the root. "" is the root."""
    text = rpc.normalize_path(str(path)).partition(":")[0]
    names = text.split("/")
    if text.startswith("/"):
        if names[1:2] != [_ROOT[1:]]:
            return None
        names = names[2:]
    resolved: list[str] = []
    for name in names:
        if name == "..":
            if not resolved:
                return None
            resolved.pop()
        elif name not in ("", "."):
            resolved.append(name)
    return "/".join(resolved)


# ---------------------------------------------------------------------- nodes

class RemoteNode:
    """A registered object seen as a Godot node: its path, network master and RPC config.

    Offers GDScript's node methods (``rpc``, ``rpc_id``, ``rset``...,
    ``set_network_master``) bound to its MultiplayerAPI.
    """

    def __init__(self, api: MultiplayerAPI, path: str, obj: object, master: int) -> None:
        self.api = api
        self.path = path
        self.obj = obj
        self.network_master = master
        self.rpc_modes: dict[str, RPCMode] = {}   # rpc_config: overrides the decorators
        self.rset_modes: dict[str, RPCMode] = {}  # rset_config
        self._signatures: dict[str, inspect.Signature | None] = {}

    def __repr__(self) -> str:
        return f"<RemoteNode {_ROOT}/{self.path} master={self.network_master} obj={self.obj!r}>"

    def rpc_config(self, method: str, mode: int) -> None:
        """Give ``method`` an RPC mode (an :class:`RPCMode`), overriding its decorator (Godot:
        ``Node.rpc_config``).
        """
        self.rpc_modes[method] = RPCMode(mode)

    def rset_config(self, property: str, mode: int) -> None:
        """Give ``property`` an rset mode (an :class:`RPCMode`), overriding its declaration (Godot:
        ``Node.rset_config``).
        """
        self.rset_modes[property] = RPCMode(mode)

    def set_network_master(self, peer_id: int) -> None:
        """Make ``peer_id`` this node's network master (1, the server, by default)."""
        self.network_master = int(peer_id)

    def get_network_master(self) -> int:
        """The peer id of this node's network master."""
        return self.network_master

    def is_network_master(self) -> bool:
        """True when this side is the node's network master."""
        return self.network_master == self.api.get_network_unique_id()

    def rpc(self, method: str, *args: Any) -> None:
        """Call ``method(*args)`` on this node on every peer (Godot: ``Node.rpc``)."""
        self.api.rpcp(self, 0, False, method, args)

    def rpc_id(self, peer_id: int, method: str, *args: Any) -> None:
        """Call ``method(*args)`` on this node on peer ``peer_id`` only (Godot: ``Node.rpc_id``).
        """
        self.api.rpcp(self, peer_id, False, method, args)

    def rpc_unreliable(self, method: str, *args: Any) -> None:
        """As :meth:`rpc` (WebSocket is always reliable; Godot: ``Node.rpc_unreliable``)."""
        self.api.rpcp(self, 0, True, method, args)

    def rpc_unreliable_id(self, peer_id: int, method: str, *args: Any) -> None:
        """As :meth:`rpc_id` (WebSocket is always reliable)."""
        self.api.rpcp(self, peer_id, True, method, args)

    def rset(self, property: str, value: Any) -> None:
        """Set ``property`` to ``value`` on this node on every peer (Godot: ``Node.rset``)."""
        self.api.rsetp(self, 0, False, property, value)

    def rset_id(self, peer_id: int, property: str, value: Any) -> None:
        """Set ``property`` to ``value`` on this node on peer ``peer_id`` only (Godot:
        ``Node.rset_id``).
        """
        self.api.rsetp(self, peer_id, False, property, value)

    def rset_unreliable(self, property: str, value: Any) -> None:
        """As :meth:`rset` (WebSocket is always reliable)."""
        self.api.rsetp(self, 0, True, property, value)

    def rset_unreliable_id(self, peer_id: int, property: str, value: Any) -> None:
        """As :meth:`rset_id` (WebSocket is always reliable)."""
        self.api.rsetp(self, peer_id, True, property, value)

    # The two mode lookups Godot makes: node config first, then the script.
    def rpc_modes_for(self, method: str) -> tuple[RPCMode | None, RPCMode | None]:
        """The modes Godot looks up for ``method``: its ``rpc_config`` one, then its decorator's
        (``None``: unset).
        """
        return self.rpc_modes.get(method), _declared_mode(self.obj, method, data=False)

    def rset_modes_for(self, property: str) -> tuple[RPCMode | None, RPCMode | None]:
        """The modes Godot looks up for ``property``: its ``rset_config`` one, then its
        declaration's.
        """
        return self.rset_modes.get(property), _declared_mode(self.obj, property, data=True)

    def signature(self, method: str, fn: Callback) -> inspect.Signature | None:
        """``fn``'s signature (cached per ``method``) for checking a call's arguments; ``None`` if
        it has none.
        """
        if method not in self._signatures:
            try:
                self._signatures[method] = inspect.signature(fn)
            except (TypeError, ValueError):  # some builtins have none: call them unchecked
                self._signatures[method] = None
        return self._signatures[method]


def _effective(modes: tuple[RPCMode | None, RPCMode | None]) -> RPCMode:
    config, declared = modes
    if config is not None:
        return config
    return declared if declared is not None else RPCMode.DISABLED


# ------------------------------------------------------------------------ API

class MultiplayerAPI(Object):
    """Godot 3's MultiplayerAPI over a ``NetworkedMultiplayerPeer`` (the multiplayer-mode
    ``WebSocketServer``): peer tracking, RPC/rset in both directions, raw packets.

    Register Python objects under the node paths of the Godot scene with
    ``register``; ``poll()`` runs the incoming RPCs and rsets on the calling
    thread and fires the signals.

    Signals:
        network_peer_connected(id): peer ``id`` joined.
        network_peer_disconnected(id): peer ``id`` left.
        network_peer_packet(id, packet): peer ``id`` sent raw bytes (Godot's ``send_bytes``).
        connected_to_server(): client side: the connection to the server is up.
        connection_failed(): client side: the connection could not be made.
        server_disconnected(): client side: the server went away.
    """

    _CLASS_NAME = "MultiplayerAPI"
    _SIGNALS = {
        "network_peer_connected": ("id:int",),
        "network_peer_disconnected": ("id:int",),
        "network_peer_packet": ("id:int", "packet:PoolByteArray"),
        "connected_to_server": (),
        "connection_failed": (),
        "server_disconnected": (),
    }
    _PROPERTIES = ("allow_object_decoding", "refuse_new_network_connections", "network_peer")

    RPC_MODE_DISABLED = RPCMode.DISABLED
    RPC_MODE_REMOTE = RPCMode.REMOTE
    RPC_MODE_MASTER = RPCMode.MASTER
    RPC_MODE_PUPPET = RPCMode.PUPPET
    RPC_MODE_SLAVE = RPCMode.SLAVE
    RPC_MODE_REMOTESYNC = RPCMode.REMOTESYNC
    RPC_MODE_SYNC = RPCMode.SYNC
    RPC_MODE_MASTERSYNC = RPCMode.MASTERSYNC
    RPC_MODE_PUPPETSYNC = RPCMode.PUPPETSYNC

    def __init__(self) -> None:
        #: Decode (and send) full Objects in RPC and rset arguments; never for untrusted peers.
        self.allow_object_decoding = False
        self._peer: NetworkPeer | None = None
        self._connected: set[int] = set()
        self._nodes: dict[str, RemoteNode] = {}
        self._send_cache = rpc.SendPathCache()
        self._receive_cache = rpc.ReceivePathCache()
        self._sender_id = 0

    # ------------------------------------------------------------ the peer

    @property
    def network_peer(self) -> NetworkPeer | None:
        """The multiplayer-mode :class:`WebSocketServer` (or another ``NetworkedMultiplayerPeer``)
        this API runs over; ``None`` when detached.
        """
        return self._peer

    @network_peer.setter
    def network_peer(self, peer: NetworkPeer | None) -> None:
        self.set_network_peer(peer)

    def get_network_peer(self) -> NetworkPeer | None:
        """Return :attr:`network_peer`."""
        return self._peer

    def has_network_peer(self) -> bool:
        """True when a :attr:`network_peer` is set."""
        return self._peer is not None

    def set_network_peer(self, peer: NetworkPeer | None) -> None:
        """Use ``peer`` (None to detach); it must be listening/connecting, as in Godot."""
        if peer is self._peer:
            return
        if peer is not None and peer.get_connection_status() == ConnectionStatus.CONNECTION_DISCONNECTED:
            logger.error("set_network_peer: Supplied NetworkedMultiplayerPeer must be "
                         "connecting or connected.")
            return
        old = self._peer
        if old is not None:
            for signal, slot in self._peer_slots():
                if old.has_signal(signal) and old.is_connected(signal, slot):
                    old.disconnect(signal, slot)
            self.clear()
        self._peer = peer
        if peer is not None:
            for signal, slot in self._peer_slots():
                if peer.has_signal(signal):
                    peer.connect(signal, slot)

    def _active_peer(self) -> NetworkPeer:
        """The peer, on paths that run only while one is set (their callers checked)."""
        peer = self._peer
        assert peer is not None, "MultiplayerAPI has no network peer"
        return peer

    def _peer_slots(self) -> tuple[tuple[str, Callback], ...]:
        return (("peer_connected", self._add_peer), ("peer_disconnected", self._del_peer),
                ("connection_succeeded", self._connected_to_server),
                ("connection_failed", self._connection_failed),
                ("server_disconnected", self._server_disconnected))

    def clear(self) -> None:
        """Forget peers and both path caches (Godot does this when the peer changes)."""
        self._connected.clear()
        self._send_cache.clear()
        self._receive_cache.clear()

    def _add_peer(self, peer_id: int) -> None:
        self._connected.add(peer_id)
        self._receive_cache.add_peer(peer_id)
        self.emit_signal("network_peer_connected", peer_id)

    def _del_peer(self, peer_id: int) -> None:
        self._connected.discard(peer_id)
        self._receive_cache.forget_peer(peer_id)
        self._send_cache.forget_peer(peer_id)
        self.emit_signal("network_peer_disconnected", peer_id)

    def _connected_to_server(self) -> None:
        self.emit_signal("connected_to_server")

    def _connection_failed(self) -> None:
        self.emit_signal("connection_failed")

    def _server_disconnected(self) -> None:
        self.emit_signal("server_disconnected")

    def _wake(self) -> None:
        wake = getattr(self._peer, "_wake", None)
        if wake is not None:
            wake()

    # ------------------------------------------------------- queries (Godot)

    def _require_peer(self, method: str, what: str) -> bool:
        if self._peer is None:
            logger.error("%s: No network peer is assigned. %s", method, what)
            return False
        return True

    def get_network_unique_id(self) -> int:
        """This side's peer id (1 on the server); 0 and an error log without a peer."""
        if not self._require_peer("get_network_unique_id", "Unable to get unique network ID."):
            return 0
        return self._active_peer().get_unique_id()

    def is_network_server(self) -> bool:
        """True when this side is the server (peer id 1)."""
        if not self._require_peer("is_network_server", "I can't be a server."):
            return False
        is_server = getattr(self._peer, "is_server", None)
        return bool(is_server()) if callable(is_server) else self._active_peer().get_unique_id() == 1

    def get_network_connected_peers(self) -> list[int]:
        """Ids of the other connected peers, sorted."""
        if not self._require_peer("get_network_connected_peers", "Assume no peers are connected."):
            return []
        return sorted(self._connected)

    def get_rpc_sender_id(self) -> int:
        """The peer whose packet is being processed (own id during a local sync call), else 0."""
        return self._sender_id

    #: The name some Godot 3 docs and tutorials use for ``get_rpc_sender_id``.
    get_network_sender_id = get_rpc_sender_id

    @property
    def refuse_new_network_connections(self) -> bool:
        """Whether the peer refuses new connections (Godot: ``refuse_new_network_connections``)."""
        return self.is_refusing_new_network_connections()

    @refuse_new_network_connections.setter
    def refuse_new_network_connections(self, refuse: bool) -> None:
        self.set_refuse_new_network_connections(refuse)

    def set_refuse_new_network_connections(self, refuse: bool) -> None:
        """Make the network peer refuse (``refuse=True``) or accept new connections."""
        if self._require_peer("set_refuse_new_network_connections",
                              "Unable to set 'refuse_new_connections'."):
            self._active_peer().refuse_new_connections = bool(refuse)

    def is_refusing_new_network_connections(self) -> bool:
        """Return :attr:`refuse_new_network_connections`."""
        if not self._require_peer("is_refusing_new_network_connections",
                                  "Unable to get 'refuse_new_connections'."):
            return False
        return bool(self._active_peer().refuse_new_connections)

    def set_allow_object_decoding(self, enable: bool) -> None:
        """Allow (``enable=True``) full Objects in RPC and rset arguments (never for untrusted
        peers).
        """
        self.allow_object_decoding = bool(enable)

    def is_object_decoding_allowed(self) -> bool:
        """Return ``allow_object_decoding``."""
        return self.allow_object_decoding

    def _objects_allowed(self) -> bool:
        return self.allow_object_decoding or bool(getattr(self._peer, "allow_object_decoding", False))

    def _is_connected(self) -> bool:
        return self._active_peer().get_connection_status() == ConnectionStatus.CONNECTION_CONNECTED

    # ------------------------------------------------------------ the nodes

    def register(self, path: str | NodePath, obj: object, master: int = 1) -> RemoteNode:
        """Make ``obj`` the node at ``path`` (relative to the root, e.g. ``"Main"``).

        ``master`` is its network master (Godot's default: 1, the server).
        Returns the ``RemoteNode`` handle (``rpc``, ``rset``, ``rpc_config``...).
        """
        key = _node_key(path)
        if not key:
            raise ValueError(f"node path {str(path)!r} must name a node below the multiplayer root "
                             f"(like 'Main' or 'Game/P1'; '{_ROOT}/Main' is accepted too)")
        if key in self._nodes:
            raise ValueError(f"a node is already registered at {key!r}; unregister it first")
        node = self._nodes[key] = RemoteNode(self, key, obj, int(master))
        return node

    def unregister(self, path: str | NodePath) -> None:
        """Remove the node at ``path``; later packets for it are dropped as unknown."""
        key = _node_key(path)
        if key is None or self._nodes.pop(key, None) is None:
            raise ValueError(f"no node is registered at {str(path)!r}")

    def get_node(self, path: str | NodePath) -> RemoteNode | None:
        """The node registered at ``path`` (resolved as Godot's ``root.get_node``), or None."""
        key = _node_key(path)
        return self._nodes.get(key) if key else None

    def _node(self, node: object) -> RemoteNode:
        if isinstance(node, RemoteNode):
            if node.api is not self:
                raise ValueError(f"{node!r} belongs to another MultiplayerAPI")
            return node
        if isinstance(node, (str, NodePath)):
            found = self.get_node(node)
            if found is not None:
                return found
            raise ValueError(f"no node is registered at {str(node)!r}; call register() first")
        for found in self._nodes.values():
            if found.obj is node:
                return found
        raise ValueError(f"{node!r} is not registered; call register(path, obj) first")

    # ------------------------------------------------------------- sending

    def _local_modes(self, modes: tuple[RPCMode | None, RPCMode | None], peer_id: int,
                     own_id: int, is_master: bool) -> tuple[bool, bool]:
        """Godot's sender rule: (run locally, skip the network) for this target."""
        skip = own_id == peer_id
        if not rpc.target_includes_self(peer_id, own_id):
            return False, skip
        for mode in modes:  # node config first; the script only if that gave no local call
            if mode is None:
                continue
            local, skip_net = rpc.should_call_local(mode, is_master)
            skip = skip or skip_net
            if local:
                return True, skip
        return False, skip

    def _can_send(self, what: str) -> bool:
        if self._peer is None:
            logger.error("Trying to %s while no network peer is active.", what)
            return False
        if not self._is_connected():
            logger.error("Trying to %s via a network peer which is not connected.", what)
            return False
        return True

    def rpcp(self, node: object, peer_id: int, unreliable: bool, method: str, args: Iterable[Any]) -> None:
        """Call ``method`` on ``node`` at ``peer_id`` (0: everyone, -X: all but X), as Godot."""
        target = self._node(node)
        args = tuple(args)
        if not self._can_send("call an RPC"):
            return
        own_id = self._active_peer().get_unique_id()
        local, skip = self._local_modes(target.rpc_modes_for(method), peer_id, own_id,
                                        target.network_master == own_id)
        if not skip:
            self._send(target, peer_id, unreliable, Command.REMOTE_CALL, method, args)
        if local:
            self._call(target, method, args, own_id, "rpc() aborted in local call")
        elif skip:
            logger.error("RPC '%s' on yourself is not allowed by selected mode.", method)

    def rsetp(self, node: object, peer_id: int, unreliable: bool, property: str, value: Any) -> None:
        """Set ``property`` of ``node`` at ``peer_id``, as Godot (the local set comes first)."""
        target = self._node(node)
        if not self._can_send("RSET"):
            return
        own_id = self._active_peer().get_unique_id()
        local, skip = self._local_modes(target.rset_modes_for(property), peer_id, own_id,
                                        target.network_master == own_id)
        if local and not self._set_as(target, property, value, own_id,
                                   "rset() aborted in local set, property not found"):
            return
        if skip:
            if not local:
                logger.error("RSET for '%s' on yourself is not allowed by selected mode.", property)
            return
        self._send(target, peer_id, unreliable, Command.REMOTE_SET, property, (value,))

    def _send(self, node: RemoteNode, peer_id: int, unreliable: bool, command: Command,
              name: str, args: tuple) -> None:
        """Godot's ``_send_rpc``: encode once, then SIMPLIFY_PATH / cached / inline puts."""
        if len(args) > rpc.MAX_ARGS:
            logger.error("Too many arguments >%d.", rpc.MAX_ARGS)
            return
        if peer_id != 0 and abs(peer_id) not in self._connected:
            if peer_id == self._active_peer().get_unique_id():
                logger.error("Attempt to remote call/set yourself! unique ID: %d.", peer_id)
            else:
                logger.error("Attempt to remote call unexisting ID: %d.", peer_id)
            return
        full = self._objects_allowed()
        if command == Command.REMOTE_SET:
            tail = rpc.encode_set_tail(name, args[0], full)
        else:
            tail = rpc.encode_call_tail(name, args, full)
        puts = self._send_cache.outgoing(node.path, command, tail, peer_id, self._connected)
        mode = TransferMode.TRANSFER_MODE_UNRELIABLE if unreliable else TransferMode.TRANSFER_MODE_RELIABLE
        for target, payload in puts:
            self._put(target, payload, mode)

    def _put(self, target: int, payload: bytes,
             mode: TransferMode = TransferMode.TRANSFER_MODE_RELIABLE) -> Error:
        set_mode = getattr(self._peer, "set_transfer_mode", None)
        if set_mode is not None:
            set_mode(mode)
        peer = self._active_peer()
        peer.set_target_peer(target)
        return peer.put_packet(payload)

    def send_bytes(self, data: bytes, id: int = 0,
                   mode: int = TransferMode.TRANSFER_MODE_RELIABLE) -> Error:
        """Send ``data`` to peer ``id`` (0: everyone); it arrives as ``network_peer_packet``."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"send_bytes needs bytes, not {type(data).__name__}")
        if len(data) < 1:
            logger.error("send_bytes: Trying to send an empty raw packet.")
            return Error.ERR_INVALID_DATA
        if self._peer is None:
            logger.error("send_bytes: Trying to send a raw packet while no network peer is active.")
            return Error.ERR_UNCONFIGURED
        if not self._is_connected():
            logger.error("send_bytes: Trying to send a raw packet via a network peer which is not connected.")
            return Error.ERR_UNCONFIGURED
        return self._put(int(id), rpc.encode_raw(data), TransferMode(mode))

    # ------------------------------------------------------------ receiving

    def poll(self, timeout: float = 1.0) -> None:
        """Poll the peer (waiting up to ``timeout`` s, as the server's ``poll``), then
        process every packet it queued for us, as Godot's ``MultiplayerAPI.poll``."""
        peer = self._peer
        if peer is None or peer.get_connection_status() == ConnectionStatus.CONNECTION_DISCONNECTED:
            if timeout:
                time.sleep(min(timeout, _IDLE_WAIT))  # nothing to wait on; don't spin callers
            self._flush_deferred()
            return
        peer.poll(timeout)
        while self._peer is peer and peer.get_available_packet_count() > 0:
            sender = peer.get_packet_peer()
            packet = peer.get_packet()
            self._sender_id = sender
            try:
                self._process_packet(sender, packet)
            finally:
                self._sender_id = 0
        self._flush_deferred()

    def _process_packet(self, sender: int, packet: bytes) -> None:
        """Handle one MultiplayerAPI packet from ``sender`` (what ``poll`` does per packet)."""
        if not packet:
            self._drop(sender, "packet", None, "Invalid packet received. Size too small.")
            return
        command = packet[0]
        if command == Command.SIMPLIFY_PATH:
            self._process_simplify_path(sender, packet)
        elif command == Command.CONFIRM_PATH:
            self._process_confirm_path(sender, packet)
        elif command in (Command.REMOTE_CALL, Command.REMOTE_SET):
            self._process_remote(sender, Command(command), packet)
        elif command == Command.RAW:
            try:
                data = rpc.parse_raw(packet)
            except RpcError as exc:
                self._drop(sender, "RAW packet", None, str(exc))
                return
            self.emit_signal("network_peer_packet", sender, data)
        # Any other command byte is ignored silently, as in Godot.

    def _drop(self, sender: int, what: str, path: str | None, reason: str) -> None:
        where = f" for node path '{path}'" if path is not None else ""
        logger.error("dropped %s from peer %d%s: %s", what, sender, where, reason)

    def _process_simplify_path(self, sender: int, packet: bytes) -> None:
        try:
            path_id, path = rpc.parse_simplify_path(packet)
        except RpcError as exc:
            self._drop(sender, "SIMPLIFY_PATH", None, str(exc))
            return
        path = rpc.normalize_path(path)
        self._receive_cache.add(sender, path_id, path)
        self._put(sender, rpc.encode_confirm_path(path))

    def _process_confirm_path(self, sender: int, packet: bytes) -> None:
        path = None
        try:
            path = rpc.parse_confirm_path(packet)
            self._send_cache.confirm(sender, rpc.normalize_path(path))
        except RpcError as exc:
            self._drop(sender, "CONFIRM_PATH", path, str(exc))

    def _process_remote(self, sender: int, command: Command, packet: bytes) -> None:
        what = "RPC" if command == Command.REMOTE_CALL else "RSET"
        path = None
        try:
            target = rpc.read_target(packet)
            if target & rpc.INLINE_PATH_FLAG:
                path = rpc.read_inline_path(packet, target)
            else:
                path = self._receive_cache.lookup(sender, target)
            node = self.get_node(path)
            if node is None:
                raise RpcError("Invalid packet received. Requested node was not found.")
            name, offset = rpc.read_name(packet)
            what = f"{what} '{name}'"
            if command == Command.REMOTE_CALL:
                argc = rpc.read_argc(packet, offset)
                self._check_mode(node, node.rpc_modes_for(name), sender, "RPC", name)
                args = rpc.decode_args(packet, offset + 1, argc, self._objects_allowed())
            else:
                rpc.check_more(packet, offset)
                self._check_mode(node, node.rset_modes_for(name), sender, "RSET", name)
                value = rpc.decode_value(packet, offset, self._objects_allowed())
        except RpcError as exc:
            self._drop(sender, what, path, str(exc))
            return
        if command == Command.REMOTE_CALL:
            self._call(node, name, args, sender, "RPC")
        else:
            self._set_as(node, name, value, sender, "Error setting remote property")

    def _check_mode(self, node: RemoteNode, modes: tuple[RPCMode | None, RPCMode | None],
                    sender: int, kind: str, name: str) -> None:
        mode = _effective(modes)
        own_id = self._active_peer().get_unique_id()
        if not rpc.can_call(mode, node.network_master == own_id, sender, node.network_master):
            raise RpcError(f"{kind} '{name}' is not allowed on node {_ROOT}/{node.path} from: "
                           f"{sender}. Mode is {int(mode)}, master is {node.network_master}.")

    def _call(self, node: RemoteNode, method: str, args: tuple | list, sender: int,
              context: str) -> bool:
        """Call ``method`` with ``get_rpc_sender_id() == sender``; log call errors, as Godot."""
        fn = getattr(node.obj, method, None)
        if not callable(fn):
            logger.error("%s - Invalid call. Nonexistent function '%s' in %r (node %s/%s).",
                         context, method, node.obj, _ROOT, node.path)
            return False
        signature = node.signature(method, fn)
        if signature is not None:
            try:
                signature.bind(*args)
            except TypeError as exc:
                logger.error("%s - Invalid call to function '%s' (node %s/%s, %d arguments from "
                             "peer %d): %s.", context, method, _ROOT, node.path, len(args), sender, exc)
                return False
        self._as_sender(sender, node, method, fn, *args)
        return True

    def _set_as(self, node: RemoteNode, property: str, value: Any, sender: int,
                context: str) -> bool:
        """``setattr`` with ``get_rpc_sender_id() == sender``; a missing attribute is logged."""
        if not hasattr(node.obj, property):
            logger.error("%s '%s', not found in object %r (node %s/%s).", context, property,
                         node.obj, _ROOT, node.path)
            return False
        self._as_sender(sender, node, property, setattr, node.obj, property, value)
        return True

    def _as_sender(self, sender: int, node: RemoteNode, member: str, fn: Callback,
                   *args: Any) -> None:
        """Run user code with ``get_rpc_sender_id() == sender``; its exceptions are logged,
        not raised, as a GDScript error does not stop Godot's loop."""
        previous, self._sender_id = self._sender_id, sender
        try:
            fn(*args)
        except Exception:
            logger.exception("'%s' on node %s/%s (sender %d) raised", member, _ROOT, node.path, sender)
        finally:
            self._sender_id = previous
