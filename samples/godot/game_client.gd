# A headless Godot 3 client for samples/game_server.py (the authoritative Python game server).
#
# Start the server (python samples/game_server.py), then run two of these in two terminals:
#     godot3-server --no-window --script game_client.gd -- ws://127.0.0.1:9080
# The URL may also come from the environment variable GODOT_WS_URL, and how long to play
# (seconds, default 5) from GAME_SECONDS.
# The client joins, sends a direction every half second with rpc_id(1, "move", dx, dy),
# prints the positions the server broadcasts, and leaves.
#
# In a real game the Game node is part of your scene: the same node path (/root/Game) on
# every peer is what lets the server's rpc("update_positions", ...) reach it.
extends SceneTree

const INPUTS = [
	[1, 0], [0, 1],
	[1000, 0],     # trying to run faster: the server cuts the direction to length 1
	["left", 0],   # not a number: the server ignores it (and logs it)
	[-1, 0], [0, 0],
]


class Game extends Node:
	# Set by the server (rset) when we join; puppet: only the master (server) may set it.
	puppet var board_size = Vector2() setget set_board_size
	var updates = 0

	func set_board_size(size):
		board_size = size
		print("board is %dx%d" % [size.x, size.y])

	# Called by the server 10 times a second: {player id: Vector2}.
	puppet func update_positions(positions):
		updates += 1
		if updates % 5 != 1:
			return  # print twice a second
		var text = PoolStringArray()
		for id in positions:
			text.append("%d at %s" % [id, positions[id]])
		print("positions: ", text.join(", "))


var client = WebSocketClient.new()
var game = Game.new()
var elapsed = 0.0
var next_input = 0.0
var input_index = 0
var play_for = 5.0
var joined = false
var leaving = false


func server_url():
	# A ws:// or wss:// argument, else $GODOT_WS_URL, else the sample server's address.
	for arg in OS.get_cmdline_args():
		if arg.begins_with("ws://") or arg.begins_with("wss://"):
			return arg
	var url = OS.get_environment("GODOT_WS_URL")
	return url if url != "" else "ws://127.0.0.1:9080"


func _init():
	var url = server_url()
	if OS.has_environment("GAME_SECONDS"):
		play_for = float(OS.get_environment("GAME_SECONDS"))
	game.name = "Game"
	root.add_child(game)
	connect("connected_to_server", self, "_on_connected")
	connect("connection_failed", self, "_on_connection_failed")
	print("joining ", url)
	if client.connect_to_url(url, PoolStringArray(), true) != OK:  # true: multiplayer mode
		print("bad URL: ", url)
		quit(1)
		return
	network_peer = client


func _on_connected():
	joined = true
	print("joined the game as player %d" % get_network_unique_id())


func _idle(delta):
	elapsed += delta
	if leaving:
		return elapsed > play_for + 2.0  # the close should be reported before this
	if not joined:
		if elapsed > 10.0:
			print("could not join in time")
			quit(1)
		return false
	if elapsed >= next_input and input_index < INPUTS.size():
		var input = INPUTS[input_index]
		print("input: move(%s, %s)" % input)
		game.rpc_id(1, "move", input[0], input[1])
		input_index += 1
		next_input = elapsed + 0.5
	if elapsed > play_for:
		leaving = true
		client.disconnect_from_host(1000, "bye")
	return false


func _on_connection_failed():
	# In multiplayer mode Godot 3.2 reports every end of the connection this way, ours included.
	if leaving:
		print("left the game after %d updates" % game.updates)
		quit(0)
	else:
		print("could not join, or lost the server")
		quit(1)
