extends SceneTree
# Godot 3's own WebSocketServer (C++), echo or broadcast, busy-polling:
# the reference column of the benchmark. bench/servers/godot_server.py starts
# it with GWB_PORT, GWB_MODE (echo|broadcast) and GWB_BUFFERS
# ("in_kb,in_pkts,out_kb,out_pkts", optional) in the environment.
var srv
var peers = []

func _on_connected(id, _proto):
	peers.append(id)

func _on_disconnected(id, _clean):
	peers.erase(id)

func _on_echo(id):
	var p = srv.get_peer(id)
	var pkt = p.get_packet()
	p.set_write_mode(WebSocketPeer.WRITE_MODE_TEXT if p.was_string_packet() else WebSocketPeer.WRITE_MODE_BINARY)
	p.put_packet(pkt)

func _on_broadcast(id):
	var src = srv.get_peer(id)
	var pkt = src.get_packet()
	var mode = WebSocketPeer.WRITE_MODE_TEXT if src.was_string_packet() else WebSocketPeer.WRITE_MODE_BINARY
	for to in peers:
		var p = srv.get_peer(to)
		p.set_write_mode(mode)
		p.put_packet(pkt)

func _init():
	var port = int(OS.get_environment("GWB_PORT"))
	var mode = OS.get_environment("GWB_MODE")
	srv = WebSocketServer.new()
	srv.connect("client_connected", self, "_on_connected")
	srv.connect("client_disconnected", self, "_on_disconnected")
	srv.connect("data_received", self, "_on_echo" if mode == "echo" else "_on_broadcast")
	if OS.get_environment("GWB_BUFFERS") != "":
		var b = OS.get_environment("GWB_BUFFERS").split(",")
		srv.set_buffers(int(b[0]), int(b[1]), int(b[2]), int(b[3]))
	srv.bind_ip = "127.0.0.1"
	if srv.listen(port) != OK:
		printerr("listen failed")
		quit()
		return
	print("listening on ws://127.0.0.1:%d" % port)
	while true:
		srv.poll()
