# One player of a room of a rooms server (tests/interop/test_rooms_godot.py).
# Environment (besides mp_common.gd's): GODOT_WS_PATH=/rooms/<room>, GODOT_WS_ROOM (the room's
# name), GODOT_WS_CLIENTS (players per room, default 2).
#
# The room's server is a Python MultiplayerAPI serving /root/Game (network master 1).
# Once the client sees the server and every other player of its room it reports RESULT peers,
# calls rpc_id(1, "hello", <room>) (the server answers with the puppet func welcome) and
# rpc("to_all", "<room> from <id>") through the relay, and sends "ready" (send_bytes to 1).
# It sends "done" once the welcome and every other player's to_all arrived; the server's raw
# command "end" makes it report RESULT seen (every id it ever heard of) and leave.
extends "mp_common.gd"


class Game extends Node:
	puppet func welcome(text):
		get_tree().on_welcome(text)


var clients = int(env("GODOT_WS_CLIENTS", "2"))
var room = env("GODOT_WS_ROOM")
var game = Game.new()
var ready_sent = false
var done_sent = false
var welcomed = false
var heard = []  # senders of to_all


func _init():
	game.name = "Game"
	root.add_child(game)
	open()


func on_joined():
	check_ready()


func on_peer_change():
	check_ready()


func check_ready():
	if ready_sent or my_id <= 1 or not 1 in connected_ids or others().size() < clients - 1:
		return
	ready_sent = true
	result("peers", connected_ids[0] == 1 and others().size() == clients - 1,
			"connected=%s" % [connected_ids])
	game.rpc_id(1, "hello", room)
	main.rpc("to_all", "%s from %d" % [room, my_id])
	send_raw("ready")


func on_welcome(text):
	welcomed = true
	result("welcome", get_rpc_sender_id() == 1 and text == "%s welcomes %d" % [room, my_id],
			"sender=%d text=%s" % [get_rpc_sender_id(), text])
	check_done()


func on_rpc_received(name, sender, text):
	var ok = name == "to_all" and sender in others() and text == "%s from %d" % [room, sender]
	result("to_all", ok, "sender=%d text=%s" % [sender, text])
	heard.append(sender)
	check_done()


func check_done():
	if not done_sent and welcomed and heard.size() == clients - 1:
		done_sent = true
		send_raw("done")


func on_command(text):
	if text == "end":
		# A partner that got "end" in the same packet batch may be gone already.
		var ok = connected_ids.size() == clients
		for id in disconnected_ids:
			ok = ok and id in connected_ids
		result("seen", ok, "connected=%s disconnected=%s" % [connected_ids, disconnected_ids])
		leave()


func on_left():
	result("left", true, "status=%d" % client.get_connection_status())
	finish()
