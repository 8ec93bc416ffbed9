# Connects and reports which of connection_established / connection_error fired within
# GODOT_WS_WAIT seconds (default 3): "RESULT outcome OK established|error|none".
# GODOT_WS_EXPECT (established, error or none) turns the report into a check.
# When established, closes with 1000 before DONE.
extends "raw_common.gd"

var wait_until_ms = 0
var outcome = ""


func _init():
	wait_until_ms = OS.get_ticks_msec() + int(float(env("GODOT_WS_WAIT", "3")) * 1000)
	open()


func report(seen):
	if outcome != "":
		return
	outcome = seen
	expect("outcome", "GODOT_WS_EXPECT", seen, seen)


func tick():
	if outcome == "" and OS.get_ticks_msec() > wait_until_ms:
		report("none")
		finish()


func _on_established(_protocol):
	report("established")
	client.disconnect_from_host(1000, "")


func _on_error():
	report("error")
	finish()


func _on_closed(_was_clean):
	if outcome == "":
		report("closed")
	finish()
