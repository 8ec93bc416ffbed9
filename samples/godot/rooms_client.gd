# A headless Godot 3 client for samples/rooms_server.py: read the lobby, pick a room, chat.
#
# Start the server (python samples/rooms_server.py), then run a few of these:
#     godot3-server --no-window --script rooms_client.gd -- ws://127.0.0.1:9080 red
#     godot3-server --no-window --script rooms_client.gd -- ws://127.0.0.1:9080
# The first argument is the server (or $GODOT_WS_URL), the second the room (or $GODOT_WS_ROOM);
# without one the client joins the first room of the lobby that has space, else "lobby".
# The client fetches GET /rooms with HTTPRequest, joins ws://.../rooms/<room> in multiplayer
# mode, says hello with rpc_id(1, "say", ...), prints what its room's players say, and
# leaves 2 seconds after meeting someone (or after $GAME_SECONDS, default 5, alone).
extends SceneTree


class Chat extends Node:
	# The server calls it for every message said in our room (and only our room).
	puppet func said(player, text):
		print("player %d says: %s" % [player, text])


var base = "ws://127.0.0.1:9080"
var room = ""
var http = HTTPRequest.new()
var client = WebSocketClient.new()
var chat = Chat.new()
var elapsed = 0.0
var leave_at = 5.0
var joined = false
var leaving = false


func _init():
	var args = []
	for arg in OS.get_cmdline_args():
		if not arg.ends_with(".gd") and not arg.begins_with("-"):
			args.append(arg)
	if OS.has_environment("GODOT_WS_URL"):
		base = OS.get_environment("GODOT_WS_URL")
	room = OS.get_environment("GODOT_WS_ROOM")
	if args.size() > 0:
		base = args[0]
	if args.size() > 1:
		room = args[1]
	if OS.has_environment("GAME_SECONDS"):
		leave_at = float(OS.get_environment("GAME_SECONDS"))
	chat.name = "Chat"  # the same node path (/root/Chat) as on the server
	root.add_child(chat)
	root.add_child(http)
	http.connect("request_completed", self, "_on_lobby")
	var lobby = base.replace("ws://", "http://").replace("wss://", "https://") + "/rooms"
	if http.request(lobby) != OK:
		print("cannot read the lobby at ", lobby)
		quit(1)


func _on_lobby(result, code, _headers, body):
	if result != HTTPRequest.RESULT_SUCCESS or code != 200:
		print("no lobby (result %d, HTTP %d)" % [result, code])
		quit(1)
		return
	var lobby = JSON.parse(body.get_string_from_utf8()).result
	for entry in lobby["rooms"]:
		var space = entry["max"] == null or entry["players"] < entry["max"]
		print("lobby: room %s, %d/%s players%s" % [entry["name"], entry["players"],
				str(entry["max"]) if entry["max"] != null else "any", "" if space else " (full)"])
		if room == "" and space and not entry["sealed"]:
			room = entry["name"]
	if room == "":
		room = "lobby"
	join()


func join():
	connect("connected_to_server", self, "_on_connected")
	connect("connection_failed", self, "_on_connection_failed")
	connect("network_peer_connected", self, "_on_peer_connected")
	print("joining room ", room)
	# true: high-level multiplayer mode; the path picks the room
	if client.connect_to_url("%s/rooms/%s" % [base, room], PoolStringArray(), true) != OK:
		print("bad URL: ", base)
		quit(1)
		return
	network_peer = client


func _on_connected():
	joined = true
	print("joined room %s as player %d" % [room, get_network_unique_id()])
	chat.rpc_id(1, "say", "hello from %d" % get_network_unique_id())


func _on_peer_connected(id):
	if id != 1:
		print("player %d is in the room" % id)
		leave_at = min(leave_at, elapsed + 2.0)


func _idle(delta):
	elapsed += delta
	if elapsed > leave_at + 5.0:
		print("could not join or leave in time")
		quit(1)
	elif joined and not leaving and elapsed > leave_at:
		leaving = true
		client.disconnect_from_host(1000, "bye")
	return false


func _on_connection_failed():
	# In multiplayer mode Godot 3.2 reports every end of the connection this way, ours included.
	if leaving:
		print("left room ", room)
		quit(0)
	else:
		print("could not join room %s (full? sealed?), or lost the server" % room)
		quit(1)
