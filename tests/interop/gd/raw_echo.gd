# Echo round trips against a raw-mode echo server that answers with the same frame type.
# Sends text and binary messages of GODOT_WS_SIZES bytes (default 1,2,125,126,127,1000,65535,
# one at a time), non-ASCII text, then a burst of GODOT_WS_BURST mixed messages (default 20);
# checks every reply's bytes and was_string_packet(), then closes with 1000.
extends "raw_common.gd"

var cases = []  # [name, bytes, is_text]
var next_case = 0
var burst_from = 0
var closing = false


func pattern(size, text, seed_value):
	var data = PoolByteArray()
	data.resize(size)
	for i in range(size):
		data[i] = (32 + (i * 7 + seed_value) % 95) if text else ((i * 31 + seed_value) % 256)
	return data


func _init():
	for size in env("GODOT_WS_SIZES", "1,2,125,126,127,1000,65535").split(","):
		cases.append(["bin_%s" % size, pattern(int(size), false, 1), false])
		cases.append(["text_%s" % size, pattern(int(size), true, 2), true])
	# "héllo wörld ✓ 日本 🎮": 2-, 3- and 4-byte UTF-8 sequences
	var mixed = hex_bytes("68c3a96c6c6f2077c3b6726c6420e29c9320e697a5e69cac20f09f8eae")
	cases.append(["text_utf8", mixed, true])
	var big = PoolByteArray()
	for i in range(20000):
		big.append_array(PoolByteArray([0xe6, 0x97, 0xa5]))  # 日 × 20000 = 60000 bytes
	cases.append(["text_utf8_60000", big, true])
	burst_from = cases.size()
	for i in range(int(env("GODOT_WS_BURST", "20"))):
		cases.append(["burst_%d" % i, pattern(1 + i * 97, i % 2 == 0, i), i % 2 == 0])
	open()


func _on_established(protocol):
	result("connected", true, "protocol=[%s]" % protocol)
	send_next()


func send_next():
	if next_case < burst_from:
		send_case(next_case)
	elif next_case == burst_from:
		for i in range(burst_from, cases.size()):
			send_case(i)
	if next_case >= cases.size():
		closing = true
		client.disconnect_from_host(1000, "echo done")


func send_case(i):
	var err = send(cases[i][1], cases[i][2])
	if err != OK:
		result(cases[i][0], false, "put_packet err=%d" % err)


func _on_data():
	while peer().get_available_packet_count() > 0:
		var got = peer().get_packet()
		var is_text = peer().was_string_packet()
		if next_case >= cases.size():
			result("unexpected_packet", false, "len=%d" % got.size())
			continue
		var c = cases[next_case]
		var same = got == c[1]
		result(c[0], same and is_text == c[2], "len=%d/%d string=%s/%s same_bytes=%s"
				% [got.size(), c[1].size(), is_text, c[2], same])
		next_case += 1
		if next_case <= burst_from or next_case == cases.size():
			send_next()


func _on_closed(was_clean):
	if not closing:
		._on_closed(was_clean)
		return
	expect("closed", "GODOT_WS_EXPECT_CLEAN", was_clean, "was_clean=%s" % was_clean)
	finish()


func state():
	return "status=%d replies=%d/%d" % [client.get_connection_status(), next_case, cases.size()]
