"""Object: the part of Godot 3's ``Object`` that means something in Python.

Signals, metadata, dynamic calls, deferred calls and class introspection, with
Godot's names and return values, so code ported from GDScript reads the same.

Threading: ``connect``/``disconnect``/``emit_signal`` and the other signal and
meta methods belong to the polling thread (the one that calls ``poll()``); they
take no lock, which keeps ``emit_signal`` (called once per received message)
cheap. Only ``call_deferred`` and ``set_deferred`` may be called from any
thread: they append to a deque (atomic in CPython) and call ``_wake()``.

Class declarations, merged along the MRO (subclasses declare only their own):

- ``_CLASS_NAME``: Godot class name, for ``get_class``/``is_class``;
- ``_SIGNALS``: signal name -> argument names; an argument may carry a Godot
  type as ``"name:type"`` (``"id:int"``, ``"reason:String"``) so that
  ``get_signal_list`` reports it; a bare name has type ``0`` (Nil: any);
- ``_PROPERTIES``: documented property names, for ``get``/``set``/
  ``set_deferred``/``get_property_list`` (mapped to Python attributes).
"""
from __future__ import annotations

import collections
import itertools
import logging
import threading
import time
from collections.abc import Iterable
from typing import Any, Callable, ClassVar, TypeVar

from .enums import ConnectFlags, Error

__all__ = ["Object"]

logger = logging.getLogger("godot_ws")

# Godot 3 Variant::Type names, indexed by type id (core/variant.h).
_VARIANT_TYPES = (
    "Nil", "bool", "int", "float", "String", "Vector2", "Rect2", "Vector3",
    "Transform2D", "Plane", "Quat", "AABB", "Basis", "Transform", "Color",
    "NodePath", "RID", "Object", "Dictionary", "Array", "PoolByteArray",
    "PoolIntArray", "PoolRealArray", "PoolStringArray", "PoolVector2Array",
    "PoolVector3Array", "PoolColorArray",
)
_TYPE_IDS = {name: i for i, name in enumerate(_VARIANT_TYPES)}
_TYPE_IDS.update({"Variant": 0, "real": 3})
_PYTHON_TYPES = ((bool, 1), (int, 2), (float, 3), (str, 4), (dict, 18), (list, 19),
                 (tuple, 19), (bytes, 20))
_USAGE_DEFAULT = 7  # PROPERTY_USAGE_DEFAULT (storage | editor | network)
_AWAIT_STEP = 0.1  # seconds of poll() between timeout checks in to_signal

_ONESHOT = int(ConnectFlags.CONNECT_ONESHOT)
_DEFERRED = int(ConnectFlags.CONNECT_DEFERRED)
_REFCOUNTED = int(ConnectFlags.CONNECT_REFERENCE_COUNTED)
_MISSING = object()
_instance_ids = itertools.count(1)

Callback = Callable[..., object]
"""A signal callback or a deferred call: any callable, its result is ignored."""
_Info = dict[str, Any]
"""A Godot PropertyInfo/MethodInfo/connection Dictionary (str keys, Variant values)."""
_O = TypeVar("_O", bound="Object")


def _property_info(name: str, type_id: int = 0, class_name: str = "") -> _Info:
    """A Godot PropertyInfo dictionary (the shape of get_property_list entries)."""
    return {"name": name, "type": type_id, "class_name": class_name, "hint": 0,
            "hint_string": "", "usage": _USAGE_DEFAULT}


def _arg_info(spec: str) -> _Info:
    name, _, type_name = spec.partition(":")
    if type_name and type_name not in _TYPE_IDS:
        raise ValueError(f"signal argument {spec!r}: unknown Godot type {type_name!r}; "
                         f"use one of {', '.join(_VARIANT_TYPES)}")
    return _property_info(name, _TYPE_IDS.get(type_name, 0))


def _signal_info(name: str, args: Iterable[_Info]) -> _Info:
    """A Godot MethodInfo dictionary, as get_signal_list returns it."""
    return {"name": name, "args": [dict(a) for a in args], "default_args": [],
            "flags": 1, "id": 0, "return": _property_info("")}


class _Connection:
    """One signal connection; ``refs`` counts CONNECT_REFERENCE_COUNTED connects."""
    __slots__ = ("callback", "binds", "flags", "refs", "alive")

    def __init__(self, callback: Callback, binds: tuple[Any, ...], flags: int) -> None:
        self.callback = callback
        self.binds = binds
        self.flags = flags
        self.refs = 1
        self.alive = True


_DEFERRED_LOCK = threading.Lock()


def _index(value: Any, key: str) -> Any:
    if isinstance(value, dict):
        return value.get(key)
    if isinstance(value, (list, tuple)) and key.lstrip("-").isdigit():
        return value[int(key)]
    return getattr(value, key, None)


def _check_name(kind: str, value: Any) -> None:
    if not isinstance(value, str):
        raise TypeError(f"{kind} name must be a str, not {type(value).__name__}")


class Object:
    """Base of every Godot-shaped class: signals, meta, call/call_deferred, get/set."""

    _CLASS_NAME: ClassVar[str] = "Object"
    _SIGNALS: ClassVar[dict[str, tuple[str, ...]]] = {}
    _PROPERTIES: ClassVar[tuple[str, ...]] = ()

    # Per-class tables merged along the MRO, built by __init_subclass__.
    _signal_table: ClassVar[dict[str, tuple[_Info, ...]]]
    _class_names: ClassVar[frozenset[str]]
    _property_names: ClassVar[tuple[str, ...]]

    # Per-instance state, set by __new__.
    _obj_slots: dict[str, tuple[_Connection, ...]]
    _obj_user_signals: dict[str, tuple[_Info, ...]]
    _obj_meta: dict[str, Any]
    _obj_blocking: bool
    _obj_deferred: collections.deque[tuple[Callback, tuple[Any, ...]]] | None
    _obj_incoming: list[tuple[Object, str, Callback]]
    _obj_id: int

    def __new__(cls: type[_O], *args: Any, **kwargs: Any) -> _O:
        # State is set here so subclasses need not remember super().__init__().
        self = super().__new__(cls)
        self._obj_slots = {}
        self._obj_user_signals = {}
        self._obj_meta = {}
        self._obj_blocking = False
        self._obj_deferred = None  # made on first use
        self._obj_incoming = []
        self._obj_id = next(_instance_ids)
        return self

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._build_tables()

    @classmethod
    def _build_tables(cls) -> None:
        signals: dict[str, tuple[_Info, ...]] = {}
        names: set[str] = set()
        props: list[str] = []
        for klass in cls.__mro__:  # most derived first, as Godot lists them
            own = vars(klass)
            for sig, args in own.get("_SIGNALS", {}).items():
                if sig not in signals:
                    signals[sig] = tuple(_arg_info(a) for a in args)
            if "_CLASS_NAME" in own:
                names.add(own["_CLASS_NAME"])
        for klass in reversed(cls.__mro__):  # base properties first, as Godot
            for prop in vars(klass).get("_PROPERTIES", ()):
                if prop not in props:
                    props.append(prop)
        cls._signal_table = signals
        cls._class_names = frozenset(names)
        cls._property_names = tuple(props)

    # ----------------------------------------------------------------- signals

    def _signal_args(self, signal: str) -> tuple[_Info, ...] | None:
        args = self._signal_table.get(signal)
        return args if args is not None else self._obj_user_signals.get(signal)

    def has_signal(self, signal: str) -> bool:
        """True if ``signal`` is a class signal (any class in the MRO) or a user signal."""
        _check_name("signal", signal)
        return self._signal_args(signal) is not None

    def has_user_signal(self, signal: str) -> bool:
        """True only for signals added with ``add_user_signal``."""
        _check_name("signal", signal)
        return signal in self._obj_user_signals

    def add_user_signal(self, signal: str, arguments: Iterable[Any] = ()) -> None:
        """Add a signal to this instance; ``arguments`` are names or ``{"name", "type"}`` dicts."""
        _check_name("signal", signal)
        if signal in self._signal_table:
            logger.error("add_user_signal: user signal %r conflicts with a built-in signal of %r",
                         signal, self.get_class())
            return
        if signal in self._obj_user_signals:
            logger.error("add_user_signal: trying to add already existing signal %r", signal)
            return
        infos = []
        for arg in arguments:
            if isinstance(arg, str):
                infos.append(_arg_info(arg))
            elif isinstance(arg, dict) and isinstance(arg.get("name"), str):
                infos.append(_property_info(arg["name"], int(arg.get("type", 0))))
            else:
                raise TypeError("add_user_signal arguments must be names or dicts with a "
                                f"'name' (and optional 'type'), not {arg!r}")
        self._obj_user_signals[signal] = tuple(infos)

    def get_signal_list(self) -> list[_Info]:
        """Every signal as Godot's dict (name, args, default_args, flags, id, return)."""
        tables = (self._signal_table, self._obj_user_signals)
        return [_signal_info(name, args) for table in tables for name, args in table.items()]

    def _find(self, signal: str, callback: Callback) -> _Connection | None:
        for conn in self._obj_slots.get(signal, ()):
            if conn.callback == callback:  # ==, as bound methods are new objects each time
                return conn
        return None

    def connect(self, signal: str, callback: Callback, binds: Iterable[Any] = (),
                flags: int = 0) -> Error:
        """Call ``callback(*signal_args, *binds)`` on each emission of ``signal``.

        ``flags`` combines ``ConnectFlags``. Returns ``ERR_INVALID_PARAMETER`` (and
        logs) for an unknown signal or a callable already connected to it, unless
        ``CONNECT_REFERENCE_COUNTED``, which counts one more reference instead.
        """
        _check_name("signal", signal)
        if not callable(callback):
            raise TypeError(f"connect: callback must be callable, not {type(callback).__name__}")
        if isinstance(binds, (str, bytes)) or not isinstance(binds, Iterable):
            raise TypeError("connect: binds must be a tuple or list of extra arguments")
        flags = int(flags)
        if self._signal_args(signal) is None:
            logger.error("connect: in object of type %r: attempt to connect nonexistent signal %r",
                         self.get_class(), signal)
            return Error.ERR_INVALID_PARAMETER
        existing = self._find(signal, callback)
        if existing is not None:
            if flags & _REFCOUNTED:
                existing.refs += 1
                return Error.OK
            logger.error("connect: signal %r is already connected to %r", signal, callback)
            return Error.ERR_INVALID_PARAMETER
        conn = _Connection(callback, tuple(binds), flags)
        self._obj_slots[signal] = self._obj_slots.get(signal, ()) + (conn,)
        target = getattr(callback, "__self__", None)
        if isinstance(target, Object):
            target._obj_incoming.append((self, signal, callback))
        return Error.OK

    def _remove(self, signal: str, conn: _Connection) -> None:
        conn.alive = False
        target = getattr(conn.callback, "__self__", None)
        if isinstance(target, Object):
            target._obj_incoming = [i for i in target._obj_incoming
                                    if not (i[0] is self and i[1] == signal
                                            and i[2] == conn.callback)]
        # Copy-on-write: an emission in progress keeps iterating its own tuple.
        remaining = tuple(c for c in self._obj_slots[signal] if c is not conn)
        if remaining:
            self._obj_slots[signal] = remaining
        else:
            del self._obj_slots[signal]

    def disconnect(self, signal: str, callback: Callback) -> None:
        """Remove a connection (one reference of a reference-counted one); logs if absent."""
        _check_name("signal", signal)
        conn = self._find(signal, callback)
        if conn is None:
            what = "nonexistent signal" if self._signal_args(signal) is None else "nonexistent connection to"
            logger.error("disconnect: %s %r in %r (callback %r)", what, signal, self.get_class(), callback)
            return
        conn.refs -= 1
        if conn.refs <= 0:
            self._remove(signal, conn)

    def is_connected(self, signal: str, callback: Callback) -> bool:
        """True if ``callback`` is connected to ``signal``; logs for an unknown signal."""
        _check_name("signal", signal)
        if self._signal_args(signal) is None:
            logger.error("is_connected: nonexistent signal %r", signal)
            return False
        return self._find(signal, callback) is not None

    def get_signal_connection_list(self, signal: str) -> list[_Info]:
        """Connections of ``signal`` in connection order, as Godot-like dicts.

        Keys: ``signal``, ``source`` (this object), ``target`` (the bound object of
        a method, else None), ``method`` (the callable's name), ``callable`` (the
        callable itself), ``binds`` (list), ``flags`` (int).
        """
        _check_name("signal", signal)
        return [{"signal": signal, "source": self, "target": getattr(c.callback, "__self__", None),
                 "method": getattr(c.callback, "__name__", repr(c.callback)),
                 "callable": c.callback, "binds": list(c.binds), "flags": c.flags}
                for c in self._obj_slots.get(signal, ())]

    def emit_signal(self, signal: str, *args: Any) -> None:
        """Call the callbacks of ``signal`` now, in connection order, on this thread.

        ``CONNECT_DEFERRED`` ones are queued for the end of the next ``poll()``;
        ``CONNECT_ONESHOT`` ones are disconnected before their call. An exception
        in a callback is logged and the remaining callbacks still run, as in Godot.
        """
        try:
            slots = self._obj_slots.get(signal)
        except TypeError:  # unhashable: not a str
            slots = None
        if not slots:
            _check_name("signal", signal)
            if not self._obj_blocking and self._signal_args(signal) is None:
                logger.error("emit_signal: can't emit nonexistent signal %r on %r",
                             signal, self.get_class())
            return
        if self._obj_blocking:
            return
        for conn in slots:
            if conn.flags:
                if conn.flags & _ONESHOT:
                    if not conn.alive:  # already fired by a re-entrant emission
                        continue
                    self._remove(signal, conn)
                if conn.flags & _DEFERRED:
                    self._deferred_queue().append((conn.callback, args + conn.binds))
                    continue
            try:
                conn.callback(*args, *conn.binds)
            except Exception:
                logger.exception("emit_signal %r: error in callback %r", signal, conn.callback)

    def set_block_signals(self, enable: bool) -> None:
        """While enabled, ``emit_signal`` does nothing."""
        self._obj_blocking = bool(enable)

    def is_blocking_signals(self) -> bool:
        """True while ``set_block_signals(True)`` keeps ``emit_signal`` from calling anything."""
        return self._obj_blocking

    # ------------------------------------------------------- calls and deferral

    def has_method(self, method: str) -> bool:
        """True if this object has a callable attribute named ``method``."""
        _check_name("method", method)
        return callable(getattr(self, method, None))

    def call(self, method: str, *args: Any) -> Any:
        """Call ``method`` by name and return its result; logs and returns None if absent."""
        return self.callv(method, args)

    def callv(self, method: str, args: Iterable[Any] = ()) -> Any:
        """As ``call``, with the arguments in one sequence."""
        _check_name("method", method)
        fn = getattr(self, method, None)
        if not callable(fn):
            logger.error("call: invalid method %r on %r", method, self.get_class())
            return None
        return fn(*args)

    def call_deferred(self, method: str, *args: Any) -> None:
        """Run ``call(method, *args)`` at the end of the next ``poll()``; any thread may call."""
        _check_name("method", method)
        self._deferred_queue().append((self.call, (method,) + args))
        self._wake()

    def set_deferred(self, property: str, value: Any) -> None:
        """Run ``set(property, value)`` at the end of the next ``poll()``; any thread may call."""
        _check_name("property", property)
        self._deferred_queue().append((self.set, (property, value)))
        self._wake()

    def _deferred_queue(self) -> collections.deque[tuple[Callback, tuple[Any, ...]]]:
        queue = self._obj_deferred
        if queue is None:
            with _DEFERRED_LOCK:  # any thread may be first
                queue = self._obj_deferred
                if queue is None:
                    queue = self._obj_deferred = collections.deque()
        return queue

    def _wake(self) -> None:
        """Hook: the server overrides it so deferred work from another thread wakes ``poll()``."""

    def _flush_deferred(self) -> None:
        """Run the deferred work queued so far (work queued meanwhile waits for the next flush)."""
        queue = self._obj_deferred
        if queue is None:
            return
        for _ in range(len(queue)):
            fn, args = queue.popleft()
            try:
                fn(*args)
            except Exception:
                logger.exception("deferred call %r%r failed", fn, args)

    def get_incoming_connections(self) -> list[_Info]:
        """Signals of other objects connected to this object's methods
        (keys ``source``, ``signal_name``, ``method_name``)."""
        return [{"source": src, "signal_name": sig,
                 "method_name": getattr(cb, "__name__", repr(cb))}
                for src, sig, cb in self._obj_incoming]

    def get_method_list(self) -> list[_Info]:
        """Public methods as Godot-like dicts (``name``, ``args``, ``flags``)."""
        out = []
        for name in sorted(dir(type(self))):
            if name.startswith("__"):
                continue
            fn = getattr(self, name, None)
            if callable(fn) and not isinstance(fn, type):
                code = getattr(getattr(fn, "__func__", fn), "__code__", None)
                args = list(code.co_varnames[1:code.co_argcount]) if code else []
                out.append({"name": name, "args": [{"name": a} for a in args], "flags": 1})
        return out

    def notification(self, what: int, reversed: bool = False) -> None:
        """Send notification ``what`` to ``_notification`` (override it to react)."""
        self._notification(int(what))

    def _notification(self, what: int) -> None:
        """Virtual: called by ``notification``."""

    def is_queued_for_deletion(self) -> bool:
        """Always False: Python frees objects itself (there is no ``queue_free``)."""
        return False

    # -------------------------------------------------------------- properties

    def _get(self, property: str) -> Any:
        """Virtual: return a value for ``property`` to override ``get`` (None: default)."""
        return None

    def _set(self, property: str, value: Any) -> bool:
        """Virtual: return True when ``set`` of ``property`` was handled here."""
        return False

    def _get_property_list(self) -> list[_Info]:
        """Virtual: extra entries for ``get_property_list``."""
        return []

    def get(self, property: str) -> Any:
        """Value of a documented property; None (as Godot) for any other name."""
        _check_name("property", property)
        custom = self._get(property)
        if custom is not None:
            return custom
        if property in self._property_names:
            return getattr(self, property)
        return None

    def set(self, property: str, value: Any) -> None:
        """Assign a documented property; other names are ignored, as in Godot."""
        _check_name("property", property)
        if self._set(property, value):
            return
        if property in self._property_names:
            setattr(self, property, value)

    def get_indexed(self, path: str) -> Any:
        """``get`` along a ``property:key:key`` path (keys index dicts, lists, attributes)."""
        _check_name("property path", path)
        first, *rest = path.split(":")
        value = self.get(first)
        for key in rest:
            value = _index(value, key)
        return value

    def set_indexed(self, path: str, value: Any) -> None:
        """``set`` along a ``property:key`` path; the last key is assigned."""
        _check_name("property path", path)
        first, *rest = path.split(":")
        if not rest:
            self.set(first, value)
            return
        holder = self.get(first)
        for key in rest[:-1]:
            holder = _index(holder, key)
        last = rest[-1]
        if isinstance(holder, dict):
            holder[last] = value
        elif isinstance(holder, list) and last.lstrip("-").isdigit():
            holder[int(last)] = value
        else:
            setattr(holder, last, value)

    def get_property_list(self) -> list[_Info]:
        """Documented properties as Godot dicts (name, type, class_name, hint, hint_string, usage)."""
        result = list(self._get_property_list())
        for name in self._property_names:
            value = getattr(self, name, None)
            if isinstance(value, Object):
                result.append(_property_info(name, 17, value.get_class()))
                continue
            type_id = next((t for py, t in _PYTHON_TYPES if isinstance(value, py)), 0)
            result.append(_property_info(name, type_id))
        return result

    # -------------------------------------------------------------------- meta

    def set_meta(self, name: str, value: Any) -> None:
        """Store metadata; ``None`` removes the entry, as in Godot."""
        _check_name("meta", name)
        if value is None:
            self._obj_meta.pop(name, None)
        else:
            self._obj_meta[name] = value

    def get_meta(self, name: str, default: Any = _MISSING) -> Any:
        """Metadata ``name``; without a default a missing entry logs an error and gives None."""
        _check_name("meta", name)
        try:
            return self._obj_meta[name]
        except KeyError:
            if default is _MISSING:
                logger.error("get_meta: no metadata %r on %r", name, self.get_class())
                return None
            return default

    def has_meta(self, name: str) -> bool:
        """True if metadata ``name`` is set."""
        _check_name("meta", name)
        return name in self._obj_meta

    def remove_meta(self, name: str) -> None:
        """Remove metadata ``name`` (no error if it is absent)."""
        _check_name("meta", name)
        self._obj_meta.pop(name, None)

    def get_meta_list(self) -> list[str]:
        """Metadata names in insertion order."""
        return list(self._obj_meta)

    # ----------------------------------------------------------- class and id

    def get_class(self) -> str:
        """The Godot class name (a Python subclass without its own reports its base's)."""
        return self._CLASS_NAME

    def is_class(self, name: str) -> bool:
        """True if ``name`` is the Godot class of this object or of one of its bases."""
        _check_name("class", name)
        return name in self._class_names

    def get_instance_id(self) -> int:
        """A positive id, unique per instance in this process."""
        return self._obj_id

    def __repr__(self) -> str:
        return f"[{self.get_class()}:{self._obj_id}]"

    # ------------------------------------------------------------------ await

    def to_signal(self, signal: str, timeout: float | None = None) -> tuple[Any, ...]:
        """Poll this object until ``signal`` fires; return its arguments.

        The blocking counterpart of GDScript's ``yield(obj, "signal")``: calls
        ``self.poll(step)`` repeatedly. Raises ``TimeoutError`` after ``timeout``
        seconds (None waits forever).
        """
        _check_name("signal", signal)
        poll = getattr(self, "poll", None)
        if not callable(poll):
            raise TypeError(f"to_signal needs an object with a poll() method; "
                            f"{type(self).__name__} has none")
        if self._signal_args(signal) is None:
            raise ValueError(f"to_signal: {self.get_class()} has no signal {signal!r}")
        got: list[tuple[Any, ...]] = []

        def collect(*args: Any) -> None:  # a new callable per call: never "already connected"
            got.append(args)

        self.connect(signal, collect, flags=_ONESHOT)
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            while not got:
                step = _AWAIT_STEP
                if deadline is not None:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise TimeoutError(f"{signal!r} not emitted within {timeout} s")
                    step = min(step, remaining)
                poll(step)
            return got[0]
        finally:
            if not got and self._find(signal, collect) is not None:
                self.disconnect(signal, collect)


Object._build_tables()
