# A real Godot 3.2.3 WebSocketServer for the Python client's interop tests.
# Environment: GODOT_WS_PORT (required), GODOT_WS_MODE raw|mp (raw), GODOT_WS_PROTOCOLS
# ("a,b"), GODOT_WS_TLS_KEY / GODOT_WS_TLS_CERT (PEM paths: wss), host_common.gd's.
# Prints "LISTENING <err>", then one "EV <what> ..." line per event, "DONE" at the end.
# Raw mode: every message goes back with its frame type; the text "kick" makes the server
# close that peer with 4002 "bye"; "quit" ends the script. Multiplayer mode: every packet
# for the server is printed and answered with "ack:" + it to its sender; "quit" ends it.
extends "host_common.gd"

var mp = false


func _init():
	mp = OS.get_environment("GODOT_WS_MODE") == "mp"
	var protocols = PoolStringArray()
	for item in OS.get_environment("GODOT_WS_PROTOCOLS").split(","):
		if item != "":
			protocols.append(item)
	if OS.get_environment("GODOT_WS_TLS_KEY") != "":
		var key = CryptoKey.new()
		key.load(OS.get_environment("GODOT_WS_TLS_KEY"))
		var cert = X509Certificate.new()
		cert.load(OS.get_environment("GODOT_WS_TLS_CERT"))
		srv.private_key = key
		srv.ssl_certificate = cert
	srv.connect("client_connected", self, "_on_connected")
	srv.connect("client_disconnected", self, "_on_disconnected")
	srv.connect("client_close_request", self, "_on_close_request")
	srv.connect("data_received", self, "_on_data")
	srv.connect("peer_connected", self, "_on_peer_connected")
	srv.connect("peer_disconnected", self, "_on_peer_disconnected")
	srv.connect("peer_packet", self, "_on_peer_packet")
	print("LISTENING %d" % srv.listen(int(OS.get_environment("GODOT_WS_PORT")), protocols, mp))


func tick():
	srv.poll()


func _on_connected(id, protocol):
	print("EV connected %d [%s]" % [id, protocol])


func _on_disconnected(id, clean):
	print("EV disconnected %d %s" % [id, clean])


func _on_close_request(id, code, reason):
	print("EV close_request %d %d [%s]" % [id, code, reason])


func _on_data(id):
	var peer = srv.get_peer(id)
	var data = peer.get_packet()
	var text = peer.was_string_packet()
	print("EV data %d %s %s" % [id, "text" if text else "binary", data.hex_encode()])
	if text and data.get_string_from_utf8() == "kick":
		srv.disconnect_peer(id, 4002, "bye")
		return
	if text and data.get_string_from_utf8() == "quit":
		finish()
		return
	peer.set_write_mode(WebSocketPeer.WRITE_MODE_TEXT if text else WebSocketPeer.WRITE_MODE_BINARY)
	peer.put_packet(data)


func _on_peer_connected(id):
	print("EV peer_connected %d" % id)


func _on_peer_disconnected(id):
	print("EV peer_disconnected %d" % id)


func _on_peer_packet(source):
	var data = srv.get_packet()
	print("EV peer_packet %d %s" % [source, data.hex_encode()])
	if data.get_string_from_utf8() == "quit":
		finish()
		return
	srv.set_target_peer(source)
	srv.put_packet("ack:".to_utf8() + data)
