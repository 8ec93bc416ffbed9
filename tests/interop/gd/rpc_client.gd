# One player of a game whose server is Python's MultiplayerAPI (tests/interop/test_rpc_godot.py).
# Environment: mp_client.gd's (GODOT_WS_CLIENTS: how many clients play, default 2).
#
# Nodes, at the same paths as on the Python side:
#   /root/Game          network master 1 (the server); Python serves its twin
#   /root/Players/<id>  one per player, network master: that player (Python registers them so too)
#   /root/Main          mp_common.gd's, for rpcs between clients
# As mp_client.gd, it sends "ready" (send_bytes to 1) once it sees the server and every
# other client, and reports the other clients' rpcs. Then the server's raw commands:
#   go     RESULT before_go (what the server rset before any path was confirmed), then the
#          calls of on_go(): accepted and refused rpc_id/rset_id to the server, an rpc_id to
#          each other client and an rpc to all; then send "sent"
#   again  after the refused calls, call and set the server again; send "sent2"
#   end    RESULT final (the server's master-only call never ran, the last rset arrived), leave
# The server's rpcs report RESULT welcome and RESULT announce; the other clients' rpcs
# RESULT direct and RESULT to_all_1.
extends "mp_client.gd"


class Game extends Node:
	puppet var score = 0
	remote var motd = ""
	var master_only_ran = false

	puppet func welcome(text):
		get_tree().on_server_rpc("welcome", text)

	remote func announce(text):
		get_tree().on_server_rpc("announce", text)

	master func master_only(_text):
		# Game's master is the server, so Godot must refuse the server's call.
		master_only_ran = true


class Player extends Node:
	# Only the Python side runs these; here they only name the node.
	puppet var hp = 100

	puppet func move_to(_x, _y):
		pass


var game = Game.new()
var players = Node.new()


func _init():
	game.name = "Game"
	root.add_child(game)
	players.name = "Players"
	root.add_child(players)


func player(id):
	# Players/<id>, made on first use, with that player as its network master.
	if not players.has_node(str(id)):
		var node = Player.new()
		node.name = str(id)
		node.set_network_master(id)
		players.add_child(node)
	return players.get_node(str(id))


func on_command(text):
	match text:
		"go":
			result("before_go", game.motd == "hello all" and game.score == 10,
					"motd=%s score=%d" % [game.motd, game.score])
			on_go()
			send_raw("sent")
		"again":
			game.rpc_id(1, "hello", "again from %d" % my_id)
			game.rset_id(1, "nick", "still %d" % my_id)
			send_raw("sent2")
		"end":
			result("final", not game.master_only_ran and game.motd == "round 2" and game.score == 20,
					"master_only_ran=%s motd=%s score=%d" % [game.master_only_ran, game.motd, game.score])
			leave()


func on_go():
	# What the server accepts (its Game: remote hello, master claim/level, remote nick;
	# Players/<me>: puppet move_to/hp, whose master is me) ...
	game.rpc_id(1, "hello", "hello from %d" % my_id)
	game.rpc_id(1, "claim", my_id)
	game.rset_id(1, "nick", "nick %d" % my_id)
	game.rset_id(1, "level", my_id)
	player(my_id).rpc_id(1, "move_to", my_id, 1)
	player(my_id).rset_id(1, "hp", my_id)
	# ... what Godot would refuse: puppet on the master, disabled, unknown, wrong arity,
	# puppet from a peer that is not the master, master on a node the server does not own.
	game.rpc_id(1, "puppet_only", my_id)
	game.rpc_id(1, "not_rpc", my_id)
	game.rpc_id(1, "no_such_method", my_id)
	game.rpc_id(1, "hello")
	game.rset_id(1, "secret", my_id)
	player(my_id).rpc_id(1, "kick")
	for id in others():
		player(id).rpc_id(1, "move_to", my_id, 2)
		player(id).rset_id(1, "hp", my_id)
	# Between clients, through the server, while its MultiplayerAPI reads its share.
	for id in others():
		main.rpc_id(id, "direct", "from %d" % my_id)
	main.rpc("to_all", "1 from %d" % my_id)


func on_server_rpc(name, text):
	var sender = get_rpc_sender_id()
	var expected = "welcome %d" % my_id if name == "welcome" else "round 2"
	result(name, sender == 1 and text == expected, "sender=%d text=%s" % [sender, text])


func state():
	return .state() + " motd=%s score=%d" % [game.motd, game.score]
