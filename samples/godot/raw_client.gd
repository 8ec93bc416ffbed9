# A minimal Godot 3 WebSocket client for the echo and chat samples (raw mode).
#
# Run it headless next to `python -m godot_ws serve --mode echo`:
#     godot3-server --no-window --script raw_client.gd -- ws://127.0.0.1:9080
# It connects, sends a few text messages, prints every reply, and quits after
# 5 seconds (or at once if the server goes away). In a game, move the same code
# into a Node: connect in _ready(), call client.poll() in _process().
extends SceneTree

var client = WebSocketClient.new()
var seconds_left = 5.0


func _init():
	var url = "ws://127.0.0.1:9080"
	for arg in OS.get_cmdline_args():
		if arg.begins_with("ws://") or arg.begins_with("wss://"):
			url = arg
	client.connect("connection_established", self, "_on_connected")
	client.connect("connection_error", self, "_on_error")
	client.connect("connection_closed", self, "_on_closed")
	client.connect("data_received", self, "_on_data")
	print("connecting to ", url)
	if client.connect_to_url(url) != OK:
		print("bad URL: ", url)
		quit(1)


func _on_connected(protocol):
	print("connected (subprotocol: '%s')" % protocol)
	var peer = client.get_peer(1)
	peer.set_write_mode(WebSocketPeer.WRITE_MODE_TEXT)  # Godot's default is binary
	for text in ["hello from Godot", "héllo, wörld", "bye"]:
		peer.put_packet(text.to_utf8())


func _on_data():
	var peer = client.get_peer(1)
	var data = peer.get_packet()
	if peer.was_string_packet():
		print("received text: ", data.get_string_from_utf8())
	else:
		print("received %d bytes: %s" % [data.size(), data.hex_encode()])


func _on_error():
	print("could not connect")
	quit(1)


func _on_closed(was_clean):
	# Godot 3.2 reports was_clean=false when the client started the close, even
	# though the server answered it properly.
	print("connection closed (clean: %s)" % was_clean)
	quit(0)


func _idle(delta):
	client.poll()  # nothing happens (no signal fires) without this, once per frame
	seconds_left -= delta
	if seconds_left <= 0:
		client.disconnect_from_host(1000, "done")
		seconds_left = 1000.0  # quit when connection_closed arrives
	return false
