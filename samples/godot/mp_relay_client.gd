# A small Godot 3 high-level multiplayer client for the Python relay server.
#
# Start the relay (python samples/relay_server.py, or python -m godot_ws serve), then
# run two of these, headless, in two terminals:
#     godot3-server --no-window --script mp_relay_client.gd -- ws://127.0.0.1:9080
# (the URL may also come from the environment variable GODOT_WS_URL).
# Each one joins the game, sends a few bytes to the server, greets every other player
# with an rpc_id, answers greetings, sends one rpc to everybody when it first meets
# someone, and leaves 3 seconds later (or after 30 seconds alone).
#
# In a game, the same code goes into your scene: connect in _ready(), keep the node
# (here: Player) at the same path on every client, and let the SceneTree poll for you.
extends SceneTree

const STAY = 3.0  # seconds to stay once we met someone


class Player extends Node:
	# "remote" functions may be called by other peers; they run on this client.
	remote func greet(text):
		var sender = get_tree().get_rpc_sender_id()
		print("player %d greets me: %s" % [sender, text])
		rpc_id(sender, "greeted_back", "nice to meet you, %d" % sender)

	remote func greeted_back(text):
		print("player %d answers: %s" % [get_tree().get_rpc_sender_id(), text])

	remote func shout(text):
		print("player %d shouts to all: %s" % [get_tree().get_rpc_sender_id(), text])


var client = WebSocketClient.new()
var player = Player.new()
var elapsed = 0.0
var leave_at = 30.0
var shouted = false
var leaving = false


func _init():
	var url = "ws://127.0.0.1:9080"
	if OS.has_environment("GODOT_WS_URL"):
		url = OS.get_environment("GODOT_WS_URL")
	for arg in OS.get_cmdline_args():
		if arg.begins_with("ws://") or arg.begins_with("wss://"):
			url = arg
	player.name = "Player"  # the same node path (/root/Player) on every client
	root.add_child(player)
	connect("connected_to_server", self, "_on_connected")
	connect("connection_failed", self, "_on_connection_failed")
	connect("network_peer_connected", self, "_on_peer_connected")
	connect("network_peer_disconnected", self, "_on_peer_disconnected")
	multiplayer.connect("network_peer_packet", self, "_on_server_bytes")
	print("joining ", url)
	# true: high-level multiplayer mode (the server must listen with gd_mp_api=True)
	if client.connect_to_url(url, PoolStringArray(), true) != OK:
		print("bad URL: ", url)
		quit(1)
		return
	network_peer = client


func _on_connected():
	print("joined the game as player %d" % get_network_unique_id())
	multiplayer.send_bytes("hi server".to_utf8(), 1)  # arrives at the server as 04 + bytes


func _on_peer_connected(id):
	if id == 1:
		return  # the server itself
	print("player %d is here" % id)
	player.rpc_id(id, "greet", "hello %d, I am %d" % [id, get_network_unique_id()])
	if not shouted:
		shouted = true
		player.rpc("shout", "hello everybody, I am %d" % get_network_unique_id())
		leave_at = elapsed + STAY


func _on_peer_disconnected(id):
	print("player %d left" % id)


func _on_server_bytes(id, bytes):
	print("server (%d) says: %s" % [id, bytes.get_string_from_utf8()])


func _on_connection_failed():
	# In this mode Godot 3 reports every end of the connection this way, ours included.
	if leaving:
		print("left the game")
		quit(0)
	else:
		print("could not join, or lost the server")
		quit(1)


func _idle(delta):
	# The SceneTree polls the network peer by itself (signals and rpcs run in its poll).
	elapsed += delta
	if elapsed > leave_at and not leaving:
		leaving = true
		client.disconnect_from_host(1000, "bye")  # then connection_failed quits
	return elapsed > leave_at + 2.0  # quit anyway if the server never answers
