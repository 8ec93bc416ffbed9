# Shared plumbing of the raw-mode interop clients (Godot 3.2.3 WebSocketClient).
# Environment: GODOT_WS_PORT (required), GODOT_WS_HOST (127.0.0.1), GODOT_WS_SCHEME (ws),
# GODOT_WS_PATH (/), GODOT_WS_VERIFY_SSL (1), GODOT_WS_TIMEOUT (seconds, 10).
# Any variable X may instead be given as X_HEX (its UTF-8 bytes in hex): Godot 3.2
# drops non-ASCII characters from environment values.
# Output: one "RESULT <name> OK|FAIL <details>" line per check, then "DONE";
# the exit code is 0 only if every check passed.
extends SceneTree

var client = WebSocketClient.new()
var url = ""
var failures = 0
var finished = false
var _deadline_ms = 0


func env(name, default = ""):
	if OS.has_environment(name + "_HEX"):
		return hex_bytes(OS.get_environment(name + "_HEX")).get_string_from_utf8()
	var value = OS.get_environment(name)
	return value if value != "" else default


func has_env(name):
	return OS.has_environment(name) or OS.has_environment(name + "_HEX")


func hex_bytes(hex):
	var data = PoolByteArray()
	for i in range(0, hex.length(), 2):
		data.append(("0x" + hex.substr(i, 2)).hex_to_int())
	return data


func env_list(name):
	var items = PoolStringArray()
	for item in env(name).split(","):
		if item.strip_edges() != "":
			items.append(item.strip_edges())
	return items


func result(name, ok, details = ""):
	print("RESULT %s %s %s" % [name, "OK" if ok else "FAIL", details])
	if not ok:
		failures += 1


func expect(name, wanted_env, seen, details = ""):
	# OK unless the test asked (through wanted_env) for something else than what was seen.
	var wanted = env(wanted_env)
	var ok = not has_env(wanted_env) or wanted == str(seen)
	var extra = "" if ok else " (expected %s=%s)" % [wanted_env, wanted]
	result(name, ok, details + extra)


func finish():
	if finished:
		return
	finished = true
	print("DONE")
	quit(1 if failures > 0 else 0)


func open(protocols = PoolStringArray()):
	var err = client.connect_to_url(url, protocols, false)
	if err != OK:
		result("connect_to_url", false, "err=%d url=%s" % [err, url])
		finish()


func peer():
	return client.get_peer(1)


func send(data, text):
	peer().set_write_mode(WebSocketPeer.WRITE_MODE_TEXT if text else WebSocketPeer.WRITE_MODE_BINARY)
	return peer().put_packet(data)


func _init():
	url = "%s://%s:%s%s" % [env("GODOT_WS_SCHEME", "ws"), env("GODOT_WS_HOST", "127.0.0.1"),
			env("GODOT_WS_PORT"), env("GODOT_WS_PATH", "/")]
	_deadline_ms = OS.get_ticks_msec() + int(float(env("GODOT_WS_TIMEOUT", "10")) * 1000)
	client.verify_ssl = env("GODOT_WS_VERIFY_SSL", "1") != "0"
	client.connect("connection_established", self, "_on_established")
	client.connect("connection_error", self, "_on_error")
	client.connect("connection_closed", self, "_on_closed")
	client.connect("server_close_request", self, "_on_server_close_request")
	client.connect("data_received", self, "_on_data")
	if env("GODOT_WS_PORT") == "":
		result("setup", false, "GODOT_WS_PORT is not set")
		finish()


func _idle(_delta):
	if finished:
		return true
	client.poll()
	if not finished and OS.get_ticks_msec() > _deadline_ms:
		result("timeout", false, "no verdict within %s s; %s" % [env("GODOT_WS_TIMEOUT", "10"), state()])
		finish()
	elif not finished:
		tick()
	return false


# Overridden by the clients.
func state():
	return "status=%d" % client.get_connection_status()

func tick():
	pass

func _on_established(_protocol):
	pass

func _on_error():
	result("connection", false, "connection_error")
	finish()

func _on_closed(was_clean):
	result("connection", false, "connection_closed(was_clean=%s) before the test ended" % was_clean)
	finish()

func _on_server_close_request(code, reason):
	pass

func _on_data():
	pass
