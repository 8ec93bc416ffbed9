# Variant round trips through a raw-mode server that echoes each packet after decoding
# it with bytes2var and re-encoding it with var2bytes (so the bytes Godot gets back are
# the Python codec's own encoding).
# Sends one value per packet with put_var (every Variant type, nested containers, edge
# ints and floats, Unicode strings), reads each echo with get_var and compares it with
# the original: same types all the way down, floats bit for bit (NaN and -0.0 too),
# NodePaths by value, objects by the id they were sent as. Then closes with 1000.
# Environment: as raw_common.gd (GODOT_WS_PORT is required).
extends "raw_common.gd"

var cases = []  # [name, value]
var next_case = 0
var closing = false
var node = Node.new()  # sent as its instance id


func add(name, value):
	cases.append([name, value])


func utf8(hex):
	return hex_bytes(hex).get_string_from_utf8()


func _init():
	var zero = 0.0
	# "héllo wörld ✓ 日本 🎮": 2-, 3- and 4-byte UTF-8 sequences
	var unicode = utf8("68c3a96c6c6f2077c3b6726c6420e29c9320e697a5e69cac20f09f8eae")
	var emoji = utf8("f09f9880")
	add("nil", null)
	add("bool_true", true)
	add("bool_false", false)
	for v in [0, 1, -1, 42, 2147483647, -2147483648, 2147483648, -2147483649, 4294967296,
			1000000000000, 9223372036854775807, -9223372036854775807 - 1]:
		add("int_%d" % v, v)
	add("real_0", 0.0)
	add("real_neg0", -zero)
	add("real_0_5", 0.5)
	add("real_m2_25", -2.25)
	add("real_0_1", 0.1)
	add("real_pi", PI)
	add("real_1e300", 1e300)
	add("real_m1e_300", -1e-300)
	add("real_1e_45", 1e-45)
	add("real_2p24p1", 16777217.0)
	add("real_inf", INF)
	add("real_ninf", -INF)
	add("real_nan", NAN)
	add("str_empty", "")
	add("str_a", "a")
	add("str_abcd", "abcd")
	add("str_ctrl", "line1\nline2\ttab\r")
	add("str_unicode", unicode)
	add("str_emoji", emoji + emoji + "!")
	add("str_long", "x".repeat(5000) + unicode)
	add("vec2", Vector2(1.5, -2))
	add("vec2_frac", Vector2(0.1, 0.2))
	add("vec2_nan_inf", Vector2(NAN, INF))
	add("rect2", Rect2(-10.25, 0.5, 100, 0.1))
	add("vec3", Vector3(1, 2, 3))
	add("vec3_big", Vector3(1e30, -1e-30, -zero))
	add("t2d", Transform2D(Vector2(1, 2), Vector2(3, 4), Vector2(5, 6)))
	add("t2d_rot", Transform2D(0.5, Vector2(10, -20)))
	add("plane", Plane(0.6, 0.8, 0, -2.5))
	add("quat", Quat(0.1, 0.2, 0.3, 0.9))
	add("aabb", AABB(Vector3(-1, -2, -3), Vector3(0.5, 0.25, 0.125)))
	add("basis", Basis(Vector3(1, 2, 3), Vector3(4, 5, 6), Vector3(7, 8, 9)))
	add("basis_rot", Basis(Vector3.UP, 0.3))
	add("xform", Transform(Basis(Vector3(1, 2, 3), Vector3(4, 5, 6), Vector3(7, 8, 9)), Vector3(10, 11, 12)))
	add("color", Color(0.1, 0.2, 0.3, 0.4))
	add("color_default_alpha", Color(1, 0, 0))
	add("np_empty", NodePath())
	add("np_rel", NodePath("Player/Sprite"))
	add("np_abs_sub", NodePath("/root/A/B:c"))
	add("np_only_sub", NodePath(":position:x"))
	add("np_dots", NodePath("../.."))
	add("np_unicode", NodePath("Sp" + utf8("c3a9") + "ler/" + emoji + ":pr" + utf8("c3b6") + "p"))
	add("rid", RID())
	add("object_id", node)
	add("dict_empty", {})
	add("dict_str", {"a": 1})
	add("dict_record", {"name": "bob", "hp": 100, "pos": Vector2(3, 4), "tags": ["x", "y"]})
	add("dict_keys", {1: "one", 2.5: "two and a half", Vector2(1, 2): "vec", null: "nil key",
			"1": "string one", NodePath("a/b"): "path", Color(1, 0, 0): "red"})
	add("dict_array_key", {[1, 2]: {"inner": {"deeper": [1]}}})
	var big_dict = {}
	for i in range(200):
		big_dict["key_%d" % i] = [i, i * 0.5, Vector3(i, -i, 0)]
	add("dict_200", big_dict)
	add("arr_empty", [])
	add("arr_mixed", [null, true, 42, 4.5, "str", Vector2(1, 2), [1, [2, [3]]], {"k": "v"}])
	var deep = ["bottom"]
	for i in range(40):
		deep = [deep, {"level": i}]
	add("arr_deep_40", deep)
	var ints = []
	for i in range(1000):
		ints.append(i * 1000003 - 500000000)
	add("arr_1000_ints", ints)
	add("arr_all_types", [null, false, 42, 4.5, "str", Vector2(1, 2), Rect2(1, 2, 3, 4),
			Vector3(1, 2, 3), Transform2D(), Plane(1, 0, 0, 2), Quat(), AABB(), Basis(),
			Transform(), Color(1, 1, 1), NodePath("a:b"), RID(), {}, [],
			PoolByteArray([1]), PoolIntArray([1]), PoolRealArray([1.0]), PoolStringArray(["a"]),
			PoolVector2Array([Vector2()]), PoolVector3Array([Vector3()]), PoolColorArray([Color()])])
	for n in [0, 1, 3, 4, 5, 1027, 60000]:
		var bytes = PoolByteArray()
		for i in range(n):
			bytes.append((i * 7) % 256)
		add("pba_%d" % n, bytes)
	add("pia_empty", PoolIntArray())
	add("pia_edges", PoolIntArray([0, -1, 2147483647, -2147483648]))
	var many = PoolIntArray()
	for i in range(5000):
		many.append(i * i - 1000)
	add("pia_5000", many)
	add("pra_empty", PoolRealArray())
	add("pra", PoolRealArray([0.5, 0.1, -1, 1e10, NAN, INF]))
	add("psa_empty", PoolStringArray())
	add("psa", PoolStringArray(["", "a", "abc", "abcd", utf8("c3a9"), emoji, unicode]))
	add("pv2a_empty", PoolVector2Array())
	var v2s = PoolVector2Array()
	for i in range(300):
		v2s.append(Vector2(i, -i * 0.5))
	add("pv2a_300", v2s)
	add("pv3a", PoolVector3Array([Vector3(1, 2, 3), Vector3(-0.1, 0, 1e20)]))
	add("pca", PoolColorArray([Color(1, 0, 0), Color(0.1, 0.2, 0.3, 0.4)]))
	add("pca_empty", PoolColorArray())
	open()


func same(a, b):
	# Deep equality with the strictness of the bytes: types must match, floats bit for bit.
	if typeof(a) != typeof(b):
		return false
	match typeof(a):
		TYPE_DICTIONARY:
			if a.size() != b.size():
				return false
			var ka = a.keys()
			var kb = b.keys()
			for i in range(ka.size()):
				if not same(ka[i], kb[i]) or not same(a[ka[i]], b[kb[i]]):
					return false
			return true
		TYPE_ARRAY:
			if a.size() != b.size():
				return false
			for i in range(a.size()):
				if not same(a[i], b[i]):
					return false
			return true
		TYPE_OBJECT:
			# a: what was sent (the Node), b: the echo (an EncodedObjectAsID holding its id)
			if a == null or b == null:
				return a == b
			return b is EncodedObjectAsID and b.get_object_id() == a.get_instance_id()
		TYPE_NODE_PATH:
			# var2bytes leaves NodePath padding uninitialised: compare by value
			return a == b and str(a) == str(b) and a.is_absolute() == b.is_absolute()
		TYPE_RID:
			return a == b
	return var2bytes(a) == var2bytes(b)


func short(value):
	var text = str(value)
	return text if text.length() <= 120 else text.substr(0, 120) + "..."


func _on_established(_protocol):
	peer().set_write_mode(WebSocketPeer.WRITE_MODE_BINARY)
	send_next()


func send_next():
	if next_case >= cases.size():
		closing = true
		client.disconnect_from_host(1000, "variants done")
		return
	var err = peer().put_var(cases[next_case][1])
	if err != OK:
		result(cases[next_case][0], false, "put_var err=%d" % err)


func _on_data():
	while peer().get_available_packet_count() > 0:
		var got = peer().get_var()
		if next_case >= cases.size():
			result("unexpected_packet", false, short(got))
			continue
		var c = cases[next_case]
		var ok = same(c[1], got)
		var details = "type=%d" % typeof(got)
		if not ok:
			details = "sent %s (type %d) got %s (type %d)" % [short(c[1]), typeof(c[1]), short(got), typeof(got)]
		result(c[0], ok, details)
		next_case += 1
		send_next()


func _on_closed(was_clean):
	if not closing:
		._on_closed(was_clean)
		return
	result("all_echoed", next_case == cases.size(), "%d/%d values" % [next_case, cases.size()])
	node.free()
	finish()
