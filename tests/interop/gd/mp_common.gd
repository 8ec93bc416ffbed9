# Shared plumbing of the multiplayer-mode interop clients (Godot 3.2.3 high-level multiplayer).
# The WebSocketClient connects with gd_mp_api = true and becomes this SceneTree's network_peer;
# a node /root/Main (class Main below) carries the `remote` functions the clients call on
# each other. Everything of raw_common.gd applies (env, RESULT lines, DONE, timeout), plus:
#   GODOT_WS_TRUSTED_CERT: PEM file for client.trusted_ssl_certificate (wss), optional.
# The Python server drives the scenario with raw packets (the MultiplayerAPI RAW command:
# byte 4, then ASCII text) that arrive here through network_peer_packet; see on_command().
extends "raw_common.gd"

const Trust = preload("wss_trust.gd")


class Main extends Node:
	# Same path (/root/Main) on every client, so rpc/rpc_id reach the twin node.
	remote func direct(text):
		get_tree().on_rpc("direct", text)

	remote func to_all(text):
		get_tree().on_rpc("to_all", text)


var main = Main.new()
var my_id = 0
var connected_ids = []     # network_peer_connected ids, in order
var disconnected_ids = []  # network_peer_disconnected ids, in order
var server_packets = []    # texts of raw packets from the server (network_peer_packet)
var client_packets = []    # "<id>:<text>" of raw packets from other clients
var rpcs = []              # [name, sender, text] of every rpc received
var leaving = false        # set when the script closes on purpose


func open(_protocols = PoolStringArray()):
	if not Trust.apply(self, client, env("GODOT_WS_TRUSTED_CERT")):
		return
	var err = client.connect_to_url(url, PoolStringArray(), true)
	if err != OK:
		result("connect_to_url", false, "err=%d url=%s" % [err, url])
		finish()
		return
	network_peer = client


func _init():
	main.name = "Main"
	root.add_child(main)
	connect("connected_to_server", self, "_on_connected_to_server")
	connect("connection_failed", self, "_on_connection_failed")
	connect("server_disconnected", self, "_on_server_disconnected")
	connect("network_peer_connected", self, "_on_peer_connected")
	connect("network_peer_disconnected", self, "_on_peer_disconnected")
	multiplayer.connect("network_peer_packet", self, "_on_peer_packet")  # a MultiplayerAPI signal


func others():
	# Client ids seen so far (the server, id 1, excluded).
	var ids = []
	for id in connected_ids:
		if id != 1 and not id in disconnected_ids:
			ids.append(id)
	return ids


func send_raw(text, to = 1):
	# multiplayer.send_bytes: the server receives 04 + these bytes from our id.
	var err = multiplayer.send_bytes(text.to_ascii(), to)
	if err != OK:
		result("send_bytes", false, "send_bytes(%s, %d) err=%d" % [text, to, err])


func leave(code = 1000, reason = ""):
	leaving = true
	client.disconnect_from_host(code, reason)


func state():
	return "status=%d id=%d connected=%s disconnected=%s server_packets=%s client_packets=%s rpcs=%s" % [
			client.get_connection_status(), my_id, connected_ids, disconnected_ids,
			server_packets, client_packets, rpcs]


# Raw-mode signals of raw_common.gd: not emitted in multiplayer mode, ignored.
func _on_error():
	pass

func _on_closed(_was_clean):
	pass


func _on_connected_to_server():
	my_id = get_network_unique_id()
	result("id", my_id > 1, str(my_id))
	on_joined()


func _on_connection_failed():
	# Godot 3.2's WebSocketClient reports every disconnection in multiplayer mode this way,
	# our own disconnect_from_host() included.
	if not leaving:
		result("connection", false, "connection_failed")
		finish()


func _on_server_disconnected():
	if not leaving:
		result("connection", false, "server_disconnected before the test ended")
		finish()


func tick():
	if leaving and client.get_connection_status() == NetworkedMultiplayerPeer.CONNECTION_DISCONNECTED:
		on_left()


func _on_peer_connected(id):
	connected_ids.append(id)
	on_peer_change()


func _on_peer_disconnected(id):
	disconnected_ids.append(id)
	on_peer_change()


func _on_peer_packet(id, packet):
	var text = packet.get_string_from_ascii()
	if id == 1:
		server_packets.append(text)
		on_command(text)
	else:
		client_packets.append("%d:%s" % [id, text])
		on_client_packet(id, text)


func on_rpc(name, text):
	rpcs.append([name, get_rpc_sender_id(), text])
	on_rpc_received(name, get_rpc_sender_id(), text)


# Overridden by the clients.
func on_joined():
	pass

func on_peer_change():
	pass

func on_command(_text):
	pass

func on_client_packet(_id, _text):
	pass

func on_rpc_received(_name, _sender, _text):
	pass

func on_left():
	finish()
