"""Object: signals, meta, calls, deferral, introspection and to_signal (no sockets)."""
import threading
import unittest

from godot_ws.enums import ConnectFlags, Error
from godot_ws.object import Object
from tests.support import no_logs


class Base(Object):
    _CLASS_NAME = "PacketPeer"
    _SIGNALS = {"ping": ("id:int",), "closed": ("id:int", "reason:String")}
    _PROPERTIES = ("encode_buffer_max_size",)

    def __init__(self):
        self.encode_buffer_max_size = 8388608


class Thing(Base):
    """A tiny server-like object: poll() runs scheduled emissions, then flushes deferred work."""
    _CLASS_NAME = "Thing"
    _SIGNALS = {"data": ("payload",)}
    _PROPERTIES = ("bind_ip", "flag")

    def __init__(self):
        super().__init__()
        self.bind_ip = "*"
        self.flag = False
        self.polls = []
        self.pending = []  # (signal, args) to emit at the next poll
        self.woken = threading.Event()

    def poll(self, timeout=1.0):
        self.polls.append(timeout)
        pending, self.pending = self.pending, []
        for signal, args in pending:
            self.emit_signal(signal, *args)
        self._flush_deferred()

    def _wake(self):
        self.woken.set()

    def add(self, a, b=0):
        return a + b


class NoInit(Object):
    """A subclass that never calls super().__init__()."""
    _SIGNALS = {"x": ()}

    def __init__(self):
        pass


class Recorder:
    def __init__(self):
        self.calls = []

    def on(self, *args):
        self.calls.append(args)


class SignalsTest(unittest.TestCase):
    def setUp(self):
        self.t = Thing()
        self.r = Recorder()

    def test_connect_and_emit_with_binds(self):
        self.assertEqual(self.t.connect("data", self.r.on, ["b1", 2]), Error.OK)
        self.t.emit_signal("data", "p")
        self.assertEqual(self.r.calls, [("p", "b1", 2)])

    def test_returns_error_members(self):
        self.assertIs(self.t.connect("data", self.r.on), Error.OK)
        with self.assertLogs("godot_ws", "ERROR"):
            self.assertIs(self.t.connect("data", self.r.on), Error.ERR_INVALID_PARAMETER)

    def test_callbacks_run_in_connection_order(self):
        order = []
        for i in range(5):
            self.t.connect("ping", lambda id, i=i: order.append((i, id)))
        self.t.emit_signal("ping", 7)
        self.assertEqual(order, [(i, 7) for i in range(5)])

    def test_emit_runs_on_calling_thread(self):
        seen = []
        self.t.connect("ping", lambda id: seen.append(threading.get_ident()))
        self.t.emit_signal("ping", 1)
        self.assertEqual(seen, [threading.get_ident()])

    def test_inherited_signals_and_mro_merge(self):
        self.assertTrue(self.t.has_signal("ping"))
        self.assertTrue(self.t.has_signal("data"))
        self.assertFalse(Base().has_signal("data"))
        self.assertEqual(self.t.connect("closed", self.r.on), Error.OK)
        self.t.emit_signal("closed", 1, "bye")
        self.assertEqual(self.r.calls, [(1, "bye")])

    def test_unknown_signal(self):
        with self.assertLogs("godot_ws", "ERROR") as cm:
            self.assertEqual(self.t.connect("nope", self.r.on), Error.ERR_INVALID_PARAMETER)
        self.assertIn("nope", cm.output[0])
        with self.assertLogs("godot_ws", "ERROR"):
            self.t.emit_signal("nope", 1)
        with self.assertLogs("godot_ws", "ERROR"):
            self.assertFalse(self.t.is_connected("nope", self.r.on))
        with self.assertLogs("godot_ws", "ERROR"):
            self.t.disconnect("nope", self.r.on)
        self.assertFalse(self.t.has_signal("nope"))

    def test_emit_known_signal_without_connections_is_silent(self):
        with no_logs(self, "godot_ws"):
            self.t.emit_signal("ping", 1)

    def test_same_callable_twice_is_refused(self):
        self.t.connect("ping", self.r.on)
        with self.assertLogs("godot_ws", "ERROR"):
            self.assertEqual(self.t.connect("ping", self.r.on), Error.ERR_INVALID_PARAMETER)
        self.t.emit_signal("ping", 1)
        self.assertEqual(self.r.calls, [(1,)])

    def test_same_function_on_other_signal_or_other_object_is_fine(self):
        other = Recorder()
        self.assertEqual(self.t.connect("ping", self.r.on), Error.OK)
        self.assertEqual(self.t.connect("data", self.r.on), Error.OK)
        self.assertEqual(self.t.connect("ping", other.on), Error.OK)
        self.t.emit_signal("ping", 3)
        self.assertEqual((self.r.calls, other.calls), ([(3,)], [(3,)]))

    def test_disconnect(self):
        self.t.connect("ping", self.r.on)
        self.assertTrue(self.t.is_connected("ping", self.r.on))
        self.t.disconnect("ping", self.r.on)
        self.assertFalse(self.t.is_connected("ping", self.r.on))
        self.t.emit_signal("ping", 1)
        self.assertEqual(self.r.calls, [])
        with self.assertLogs("godot_ws", "ERROR") as cm:
            self.t.disconnect("ping", self.r.on)
        self.assertIn("ping", cm.output[0])

    def test_disconnect_keeps_other_connections(self):
        other = Recorder()
        self.t.connect("ping", self.r.on)
        self.t.connect("ping", other.on)
        self.t.disconnect("ping", self.r.on)
        self.t.emit_signal("ping", 2)
        self.assertEqual((self.r.calls, other.calls), ([], [(2,)]))

    def test_reference_counted(self):
        rc = ConnectFlags.CONNECT_REFERENCE_COUNTED
        self.assertEqual(self.t.connect("ping", self.r.on, flags=rc), Error.OK)
        self.assertEqual(self.t.connect("ping", self.r.on, flags=rc), Error.OK)
        self.t.emit_signal("ping", 1)
        self.assertEqual(self.r.calls, [(1,)])  # one connection, two references
        self.t.disconnect("ping", self.r.on)
        self.assertTrue(self.t.is_connected("ping", self.r.on))
        self.t.disconnect("ping", self.r.on)
        self.assertFalse(self.t.is_connected("ping", self.r.on))

    def test_oneshot_disconnected_before_call(self):
        seen = []

        def once(id):
            seen.append((id, self.t.is_connected("ping", once)))
        self.t.connect("ping", once, flags=ConnectFlags.CONNECT_ONESHOT)
        self.t.emit_signal("ping", 1)
        self.t.emit_signal("ping", 2)
        self.assertEqual(seen, [(1, False)])

    def test_oneshot_not_called_twice_on_reentrant_emit(self):
        seen = []

        def first(id):
            if id == 1:
                self.t.emit_signal("ping", 2)
        self.t.connect("ping", first)
        self.t.connect("ping", lambda id: seen.append(id), flags=ConnectFlags.CONNECT_ONESHOT)
        self.t.emit_signal("ping", 1)
        self.assertEqual(seen, [2])

    def test_deferred_connection_runs_at_end_of_next_poll(self):
        self.t.connect("ping", self.r.on, ["b"], ConnectFlags.CONNECT_DEFERRED)
        self.t.emit_signal("ping", 1)
        self.assertEqual(self.r.calls, [])
        self.t.poll(0)
        self.assertEqual(self.r.calls, [(1, "b")])

    def test_deferred_connection_from_emission_inside_poll_runs_in_that_poll(self):
        self.t.connect("ping", self.r.on, flags=ConnectFlags.CONNECT_DEFERRED)
        self.t.pending.append(("ping", (5,)))
        self.t.poll(0)
        self.assertEqual(self.r.calls, [(5,)])

    def test_callback_exception_is_logged_and_others_still_run(self):
        def boom(id):
            raise RuntimeError("boom")
        self.t.connect("ping", boom)
        self.t.connect("ping", self.r.on)
        with self.assertLogs("godot_ws", "ERROR") as cm:
            self.t.emit_signal("ping", 1)
        self.assertEqual(self.r.calls, [(1,)])
        self.assertIn("RuntimeError: boom", "\n".join(cm.output))

    def test_wrong_argument_count_is_logged_not_raised(self):
        self.t.connect("ping", lambda: None)
        with self.assertLogs("godot_ws", "ERROR"):
            self.t.emit_signal("ping", 1)

    def test_disconnect_during_emit_does_not_disturb_iteration(self):
        other = Recorder()

        def first(id):
            self.t.disconnect("ping", first)
            self.t.connect("ping", Recorder().on)
        self.t.connect("ping", first)
        self.t.connect("ping", other.on)
        self.t.emit_signal("ping", 1)
        self.assertEqual(other.calls, [(1,)])
        self.assertFalse(self.t.is_connected("ping", first))

    def test_block_signals(self):
        self.t.connect("ping", self.r.on)
        self.assertFalse(self.t.is_blocking_signals())
        self.t.set_block_signals(True)
        self.assertTrue(self.t.is_blocking_signals())
        self.t.emit_signal("ping", 1)
        self.t.set_block_signals(False)
        self.t.emit_signal("ping", 2)
        self.assertEqual(self.r.calls, [(2,)])

    def test_user_signals(self):
        self.assertFalse(self.t.has_user_signal("mine"))
        self.t.add_user_signal("mine", ["a", {"name": "b", "type": 2}])
        self.assertTrue(self.t.has_user_signal("mine"))
        self.assertTrue(self.t.has_signal("mine"))
        self.assertFalse(self.t.has_user_signal("ping"))
        self.assertFalse(Thing().has_signal("mine"))  # per instance
        self.t.connect("mine", self.r.on)
        self.t.emit_signal("mine", 1, 2)
        self.assertEqual(self.r.calls, [(1, 2)])
        with self.assertLogs("godot_ws", "ERROR"):
            self.t.add_user_signal("mine")
        with self.assertLogs("godot_ws", "ERROR"):
            self.t.add_user_signal("ping")
        self.assertFalse(self.t.has_user_signal("ping"))
        with self.assertRaises(TypeError):
            self.t.add_user_signal("bad", [42])

    def test_get_signal_list_has_godot_keys(self):
        self.t.add_user_signal("mine", [{"name": "q", "type": 2}])
        sigs = {s["name"]: s for s in self.t.get_signal_list()}
        self.assertEqual(set(sigs), {"ping", "closed", "data", "mine"})
        closed = sigs["closed"]
        self.assertEqual(set(closed), {"name", "args", "default_args", "flags", "id", "return"})
        self.assertEqual([(a["name"], a["type"]) for a in closed["args"]], [("id", 2), ("reason", 4)])
        self.assertEqual(set(closed["args"][0]), {"name", "type", "class_name", "hint", "hint_string", "usage"})
        self.assertEqual(closed["default_args"], [])
        self.assertEqual([(a["name"], a["type"]) for a in sigs["data"]["args"]], [("payload", 0)])
        self.assertEqual(sigs["mine"]["args"][0]["type"], 2)
        # the list is a copy: editing it does not change the class
        closed["args"][0]["name"] = "changed"
        again = {s["name"]: s for s in self.t.get_signal_list()}
        self.assertEqual(again["closed"]["args"][0]["name"], "id")

    def test_signal_list_order_most_derived_first(self):
        names = [s["name"] for s in self.t.get_signal_list()]
        self.assertEqual(names[0], "data")

    def test_bad_arg_type_in_declaration(self):
        with self.assertRaises(ValueError):
            type("Bad", (Object,), {"_SIGNALS": {"s": ("x:notatype",)}})

    def test_get_signal_connection_list(self):
        self.t.connect("ping", self.r.on, [9], ConnectFlags.CONNECT_DEFERRED)
        fn = lambda id: None  # noqa: E731
        self.t.connect("ping", fn)
        conns = self.t.get_signal_connection_list("ping")
        self.assertEqual(len(conns), 2)
        c = conns[0]
        self.assertEqual(set(c), {"signal", "source", "target", "method", "callable", "binds", "flags"})
        self.assertEqual((c["signal"], c["method"], c["binds"], c["flags"]), ("ping", "on", [9], 1))
        self.assertIs(c["source"], self.t)
        self.assertIs(c["target"], self.r)
        self.assertEqual(c["callable"], self.r.on)
        self.assertIsNone(conns[1]["target"])
        self.assertIs(conns[1]["callable"], fn)
        self.assertEqual(self.t.get_signal_connection_list("data"), [])

    def test_misuse_raises_type_error(self):
        with self.assertRaisesRegex(TypeError, "callable"):
            self.t.connect("ping", "not callable")
        with self.assertRaisesRegex(TypeError, "str"):
            self.t.connect(5, self.r.on)
        with self.assertRaisesRegex(TypeError, "binds"):
            self.t.connect("ping", self.r.on, "ab")
        with self.assertRaisesRegex(TypeError, "str"):
            self.t.emit_signal(5)
        with self.assertRaisesRegex(TypeError, "str"):
            self.t.emit_signal(["x"])
        with self.assertRaisesRegex(TypeError, "str"):
            self.t.has_signal(None)
        with self.assertRaisesRegex(TypeError, "str"):
            self.t.disconnect(b"ping", self.r.on)
        with self.assertRaisesRegex(TypeError, "str"):
            self.t.set_meta(1, 2)
        with self.assertRaisesRegex(TypeError, "str"):
            self.t.call(1)

    def test_subclass_without_super_init_works(self):
        o = NoInit()
        r = Recorder()
        self.assertEqual(o.connect("x", r.on), Error.OK)
        o.emit_signal("x")
        self.assertEqual(r.calls, [()])
        self.assertEqual(o.get_class(), "Object")


class CallsAndDeferralTest(unittest.TestCase):
    def setUp(self):
        self.t = Thing()

    def test_call_callv_has_method(self):
        self.assertTrue(self.t.has_method("add"))
        self.assertTrue(self.t.has_method("emit_signal"))
        self.assertFalse(self.t.has_method("bind_ip"))  # not callable
        self.assertFalse(self.t.has_method("nope"))
        self.assertEqual(self.t.call("add", 2, 3), 5)
        self.assertEqual(self.t.callv("add", [2, 3]), 5)
        self.assertEqual(self.t.callv("add", (4,)), 4)
        with self.assertLogs("godot_ws", "ERROR"):
            self.assertIsNone(self.t.call("nope"))

    def test_call_deferred_runs_at_flush_in_order(self):
        out = []
        self.t.out = out.append
        self.t.call_deferred("out", 1)
        self.t.set_deferred("bind_ip", "127.0.0.1")
        self.t.call_deferred("out", 2)
        self.assertEqual((out, self.t.bind_ip), ([], "*"))
        self.t.poll(0)
        self.assertEqual((out, self.t.bind_ip), ([1, 2], "127.0.0.1"))

    def test_work_queued_during_flush_waits_for_next_flush(self):
        out = []

        def step(n):
            out.append(n)
            if n < 3:
                self.t.call_deferred("step", n + 1)
        self.t.step = step
        self.t.call_deferred("step", 1)
        self.t._flush_deferred()
        self.assertEqual(out, [1])
        self.t._flush_deferred()
        self.assertEqual(out, [1, 2])
        self.t._flush_deferred()
        self.t._flush_deferred()
        self.assertEqual(out, [1, 2, 3])

    def test_deferred_exception_logged_and_rest_runs(self):
        out = []
        self.t.out = out.append
        self.t.call_deferred("add", "a", 1)  # TypeError inside add
        self.t.call_deferred("out", "after")
        with self.assertLogs("godot_ws", "ERROR") as cm:
            self.t._flush_deferred()
        self.assertEqual(out, ["after"])
        self.assertIn("TypeError", "\n".join(cm.output))

    def test_deferred_unknown_method_is_logged(self):
        self.t.call_deferred("nope")
        with self.assertLogs("godot_ws", "ERROR"):
            self.t._flush_deferred()

    def test_call_deferred_from_other_threads_wakes_and_runs_all(self):
        out = []
        self.t.out = out.append
        n_threads, per_thread = 4, 250

        def worker(k):
            for i in range(per_thread):
                self.t.call_deferred("out", (k, i))
        threads = [threading.Thread(target=worker, args=(k,)) for k in range(n_threads)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(10)
            self.assertFalse(th.is_alive())
        self.assertTrue(self.t.woken.wait(5))
        self.t._flush_deferred()
        self.assertEqual(len(out), n_threads * per_thread)
        for k in range(n_threads):  # per-thread order is kept
            self.assertEqual([i for kk, i in out if kk == k], list(range(per_thread)))

    def test_base_wake_is_a_noop(self):
        o = Base()
        o.call_deferred("get_class")
        o._flush_deferred()
        self.assertEqual(len(o._obj_deferred), 0)


class PropertiesMetaClassTest(unittest.TestCase):
    def setUp(self):
        self.t = Thing()

    def test_get_set_documented_properties(self):
        self.assertEqual(self.t.get("bind_ip"), "*")
        self.assertEqual(self.t.get("encode_buffer_max_size"), 8388608)  # inherited
        self.t.set("bind_ip", "10.0.0.1")
        self.assertEqual(self.t.bind_ip, "10.0.0.1")
        self.assertIsNone(self.t.get("polls"))  # not documented
        self.t.set("polls", "x")
        self.assertEqual(self.t.polls, [])
        self.assertIsNone(self.t.get("nope"))

    def test_property_list(self):
        props = self.t.get_property_list()
        self.assertEqual([p["name"] for p in props], ["encode_buffer_max_size", "bind_ip", "flag"])
        types = {p["name"]: p["type"] for p in props}
        self.assertEqual(types, {"encode_buffer_max_size": 2, "bind_ip": 4, "flag": 1})
        self.assertEqual(set(props[0]), {"name", "type", "class_name", "hint", "hint_string", "usage"})
        self.t.flag = Base()
        obj = [p for p in self.t.get_property_list() if p["name"] == "flag"][0]
        self.assertEqual((obj["type"], obj["class_name"]), (17, "PacketPeer"))

    def test_meta(self):
        self.assertEqual(self.t.get_meta_list(), [])
        self.assertFalse(self.t.has_meta("x"))
        self.t.set_meta("x", 1)
        self.t.set_meta("y", [2])
        self.assertEqual(self.t.get_meta_list(), ["x", "y"])
        self.assertEqual(self.t.get_meta("x"), 1)
        self.assertTrue(self.t.has_meta("y"))
        self.t.set_meta("x", None)
        self.assertEqual(self.t.get_meta_list(), ["y"])
        self.t.remove_meta("y")
        self.t.remove_meta("never")
        self.assertFalse(self.t.has_meta("y"))
        self.assertEqual(self.t.get_meta("zz", "dflt"), "dflt")
        self.assertIsNone(self.t.get_meta("zz", None))
        with self.assertLogs("godot_ws", "ERROR"):
            self.assertIsNone(self.t.get_meta("zz"))
        self.t.set_meta("f", False)  # falsy but not None: kept
        self.assertIs(self.t.get_meta("f"), False)

    def test_class(self):
        self.assertEqual(self.t.get_class(), "Thing")
        self.assertEqual(Base().get_class(), "PacketPeer")
        self.assertEqual(Object().get_class(), "Object")
        for name in ("Thing", "PacketPeer", "Object"):
            self.assertTrue(self.t.is_class(name))
        self.assertFalse(self.t.is_class("Node"))
        self.assertFalse(Base().is_class("Thing"))

        class UserThing(Thing):  # no own _CLASS_NAME: reports its Godot base, as a script would
            pass
        self.assertEqual(UserThing().get_class(), "Thing")

    def test_instance_ids(self):
        ids = [Object().get_instance_id() for _ in range(100)] + [self.t.get_instance_id()]
        self.assertEqual(len(set(ids)), len(ids))
        self.assertTrue(all(isinstance(i, int) and i > 0 for i in ids))
        self.assertEqual(self.t.get_instance_id(), self.t.get_instance_id())

    def test_repr(self):
        self.assertEqual(repr(self.t), f"[Thing:{self.t.get_instance_id()}]")


class IntrospectionTest(unittest.TestCase):
    def test_incoming_connections_follow_connect_and_disconnect(self):
        source, target = Thing(), Thing()
        source.connect("ping", target.add)
        incoming = target.get_incoming_connections()
        self.assertEqual(len(incoming), 1)
        self.assertIs(incoming[0]["source"], source)
        self.assertEqual((incoming[0]["signal_name"], incoming[0]["method_name"]), ("ping", "add"))
        source.disconnect("ping", target.add)
        self.assertEqual(target.get_incoming_connections(), [])

    def test_indexed_paths(self):
        class Holder(Object):
            _PROPERTIES = ("data",)
        t = Holder()
        t.data = {"a": [1, {"b": 2}]}
        self.assertEqual(t.get_indexed("data:a:1:b"), 2)
        t.set_indexed("data:a:0", 5)
        self.assertEqual(t.data["a"][0], 5)
        t.set_indexed("data:c", 7)
        self.assertEqual(t.get_indexed("data:c"), 7)

    def test_virtual_get_set_and_notification(self):
        class Custom(Object):
            def __init__(self):
                self.seen = []

            def _get(self, prop):
                return 42 if prop == "answer" else None

            def _set(self, prop, value):
                self.seen.append((prop, value))
                return True

            def _notification(self, what):
                self.seen.append(("note", what))
        c = Custom()
        self.assertEqual(c.get("answer"), 42)
        self.assertIsNone(c.get("other"))
        c.set("x", 1)
        c.notification(13)
        self.assertEqual(c.seen, [("x", 1), ("note", 13)])
        self.assertFalse(c.is_queued_for_deletion())
        names = {m["name"] for m in c.get_method_list()}
        self.assertIn("emit_signal", names)
        self.assertIn("_notification", names)


class ToSignalTest(unittest.TestCase):
    def setUp(self):
        self.t = Thing()

    def test_returns_args_when_emitted_by_poll(self):
        self.t.pending.append(("closed", (4, "bye")))
        self.assertEqual(self.t.to_signal("closed", timeout=5), (4, "bye"))
        self.assertEqual(self.t.get_signal_connection_list("closed"), [])
        self.assertTrue(self.t.polls)

    def test_waits_several_polls(self):
        calls = []
        orig = self.t.poll

        def poll(timeout):
            calls.append(timeout)
            if len(calls) == 3:
                self.t.pending.append(("ping", (1,)))
            orig(timeout)
        self.t.poll = poll
        self.assertEqual(self.t.to_signal("ping"), (1,))
        self.assertEqual(len(calls), 3)
        self.assertTrue(all(0 < c <= 1.0 for c in calls))

    def test_timeout(self):
        with self.assertRaises(TimeoutError):
            self.t.to_signal("ping", timeout=0.05)
        self.assertEqual(self.t.get_signal_connection_list("ping"), [])
        self.assertTrue(all(0 <= c <= 0.05 for c in self.t.polls))

    def test_poll_exception_propagates_and_disconnects(self):
        def poll(timeout):
            raise OSError("down")
        self.t.poll = poll
        with self.assertRaises(OSError):
            self.t.to_signal("ping", timeout=1)
        self.assertEqual(self.t.get_signal_connection_list("ping"), [])

    def test_needs_poll(self):
        with self.assertRaisesRegex(TypeError, "poll"):
            Base().to_signal("ping", timeout=0.01)

    def test_unknown_signal(self):
        with self.assertRaises(ValueError):
            self.t.to_signal("nope", timeout=0.01)

    def test_other_callbacks_unaffected(self):
        r = Recorder()
        self.t.connect("ping", r.on)
        self.t.pending.append(("ping", (2,)))
        self.assertEqual(self.t.to_signal("ping", timeout=5), (2,))
        self.assertEqual(r.calls, [(2,)])
        self.assertTrue(self.t.is_connected("ping", r.on))


if __name__ == "__main__":
    unittest.main()
