# Shared plumbing of the Godot 3.2.3 servers of the client interop tests (server_host.gd,
# game_host.gd): the WebSocketServer, the run's deadline (GODOT_WS_TIMEOUT, s, 20) and
# the end ("DONE", exit 0). A script overrides tick() for per-frame work.
extends SceneTree

var srv = WebSocketServer.new()
var finished = false
var _deadline_ms = 0


func _init():
	var timeout = OS.get_environment("GODOT_WS_TIMEOUT")
	_deadline_ms = OS.get_ticks_msec() + int(float(timeout if timeout != "" else "20") * 1000)
	srv.bind_ip = "127.0.0.1"


func finish():
	if not finished:
		finished = true
		srv.stop()
		print("DONE")
		quit(0)


func tick():
	pass


func _idle(_delta):
	if finished:
		return true
	tick()
	if OS.get_ticks_msec() > _deadline_ms:
		print("EV timeout")
		finish()
	return false
