# One player of a multiplayer game relayed by our server (listen(..., gd_mp_api=True)).
# Environment (besides mp_common.gd's): GODOT_WS_CLIENTS, how many clients play (default 2).
#
# The client reports its id, and once it sees the server and every other client it sends
# "ready" to the server (multiplayer.send_bytes, target 1). Then it obeys the server's raw
# commands:
#   rpc1  report every server packet so far (RESULT server_packets), then
#         rpc_id(each other client, "direct", "from <id>") and rpc("to_all", "1 from <id>"),
#         send_bytes("except <other>", -other) for each other client and
#         send_bytes("not for the server", -1); once every other client's direct, round-1
#         to_all and "not for the server" arrived: send "done1"
#   rpc2  report the raw packets from clients so far (RESULT client_packets), then
#         rpc("to_all", "2 from <id>"); once every other client's arrived: send "done2"
#   leave close the connection (code 1000, "leaving") and finish once it is closed
#   end   report what it saw (RESULT seen), close and finish
# When another client leaves after "ready", it reports RESULT peer_left and, still in the
# game, does rpc("to_all", "alone from <id>") and sends "alone" to the server.
# Every rpc received is checked: sender (get_rpc_sender_id) is a known other client and the
# text names that sender.
extends "mp_common.gd"

var clients = int(env("GODOT_WS_CLIENTS", "2"))
var ready_sent = false
var alone_sent = false
var got = {}  # "direct" / "to_all 1" / "to_all 2" -> ids it came from


func _init():
	open()


func on_joined():
	check_ready()


func on_peer_change():
	check_ready()
	if ready_sent and not alone_sent and disconnected_ids.size() > 0 and not leaving:
		alone_sent = true
		result("peer_left", disconnected_ids.size() == 1,
				"disconnected=%s others=%s" % [disconnected_ids, others()])
		main.rpc("to_all", "alone from %d" % my_id)
		send_raw("alone")


func check_ready():
	if ready_sent or my_id <= 1 or not 1 in connected_ids or others().size() < clients - 1:
		return
	ready_sent = true
	result("peers", connected_ids[0] == 1 and others().size() == clients - 1,
			"connected=%s" % [connected_ids])
	send_raw("ready")


func on_command(text):
	match text:
		"rpc1":
			result("server_packets", true, PoolStringArray(server_packets).join(","))
			for id in others():
				main.rpc_id(id, "direct", "from %d" % my_id)
			main.rpc("to_all", "1 from %d" % my_id)
			for id in others():
				send_raw("except %d" % id, -id)
			send_raw("not for the server", -1)
		"rpc2":
			result("client_packets", true, PoolStringArray(client_packets).join(","))
			main.rpc("to_all", "2 from %d" % my_id)
		"leave":
			leave(1000, "leaving")
		"end":
			result("seen", true, "connected=%s disconnected=%s" % [connected_ids, disconnected_ids])
			leave()


func on_rpc_received(name, sender, text):
	var key = name
	if name == "to_all":
		key = "to_all " + text.split(" ")[0]
	var ok = sender in others() and text.ends_with("from %d" % sender)
	result(key.replace(" ", "_"), ok, "sender=%d text=%s" % [sender, text])
	if not got.has(key):
		got[key] = []
	got[key].append(sender)
	if key == "to_all 2" and complete("to_all 2"):
		send_raw("done2")
	else:
		check_round_1()


func on_client_packet(id, text):
	if text == "not for the server":
		if not got.has(text):
			got[text] = []
		got[text].append(id)
		check_round_1()


func check_round_1():
	if not got.has("done1") and complete("direct") and complete("to_all 1") and complete("not for the server"):
		got["done1"] = true
		send_raw("done1")


func complete(key):
	return got.has(key) and got[key].size() == clients - 1


func on_left():
	result("left", true, "status=%d" % client.get_connection_status())
	finish()
