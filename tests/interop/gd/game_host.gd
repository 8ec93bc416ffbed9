# A real Godot 3.2.3 game host for a Godot player and a Python player (test_client_godot.py).
# Environment: GODOT_WS_PORT (required), GODOT_WS_PLAYERS (2), host_common.gd's.
# The WebSocketServer (gd_mp_api) is this SceneTree's network_peer. Nodes:
#   /root/Game  remote func hello(text): prints "EV hello <sender> <text>" and answers
#               rpc_id(sender, "welcome", "welcome <sender>"); remote var nick (setter
#               prints "EV nick <sender> <value>"); puppet var score, puppet func welcome
#   /root/Main  mp_common.gd's node (the players' rpcs to everyone reach it too)
# Raw packets (send_bytes) drive the round of mp_client.gd: "ready" from every player ->
# rset_id(each player that said hello, "score", 7), then "rpc1" to each; "done1" from every player -> "end" to each.
# Prints "LISTENING <err>", "EV ..." lines, "DONE" once every player left after "end".
extends "host_common.gd"


class Game extends Node:
	puppet var score = 0
	remote var nick = "" setget set_nick
	var players = []  # who said hello (only they have a Game node)

	remote func hello(text):
		var sender = get_tree().get_rpc_sender_id()
		players.append(sender)
		print("EV hello %d %s" % [sender, text])
		rpc_id(sender, "welcome", "welcome %d" % sender)

	puppet func welcome(_text):
		pass

	func set_nick(value):
		nick = value
		print("EV nick %d %s" % [get_tree().get_rpc_sender_id(), value])


class Main extends Node:
	remote func direct(_text):
		pass

	remote func to_all(text):
		print("EV to_all %d %s" % [get_tree().get_rpc_sender_id(), text])


var players = 2
var ready = []
var done = []
var ended = false


func _init():
	if OS.get_environment("GODOT_WS_PLAYERS") != "":
		players = int(OS.get_environment("GODOT_WS_PLAYERS"))
	var game = Game.new()
	game.name = "Game"
	root.add_child(game)
	var main = Main.new()
	main.name = "Main"
	root.add_child(main)
	connect("network_peer_connected", self, "_on_peer_connected")
	connect("network_peer_disconnected", self, "_on_peer_disconnected")
	multiplayer.connect("network_peer_packet", self, "_on_packet")
	var err = srv.listen(int(OS.get_environment("GODOT_WS_PORT")), PoolStringArray(), true)
	print("LISTENING %d" % err)
	network_peer = srv


func _on_peer_connected(id):
	print("EV peer_connected %d" % id)


func _on_peer_disconnected(id):
	print("EV peer_disconnected %d" % id)
	if ended and get_network_connected_peers().size() == 0:
		finish()


func _on_packet(id, packet):
	var text = packet.get_string_from_ascii()
	print("EV raw %d %s" % [id, text])
	if text == "ready" and not id in ready:
		ready.append(id)
		if ready.size() == players:
			var game = root.get_node("Game")
			for peer in game.players:
				game.rset_id(peer, "score", 7)
			for peer in ready:
				multiplayer.send_bytes("rpc1".to_ascii(), peer)
	elif text == "done1" and not id in done:
		done.append(id)
		if done.size() == players:
			ended = true
			for peer in ready:
				multiplayer.send_bytes("end".to_ascii(), peer)
