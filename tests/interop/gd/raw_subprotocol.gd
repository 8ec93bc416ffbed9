# Connects offering the subprotocols in GODOT_WS_PROTOCOLS ("a,b"; empty: none) and reports
# "RESULT handshake OK established protocol=[p]" or "RESULT handshake OK error".
# GODOT_WS_EXPECT ("established protocol=[p]" or "error") turns the report into a check.
# When established, closes with 1000 before DONE.
extends "raw_common.gd"

var established = false


func _init():
	open(env_list("GODOT_WS_PROTOCOLS"))


func _on_established(protocol):
	established = true
	var outcome = "established protocol=[%s]" % protocol
	expect("handshake", "GODOT_WS_EXPECT", outcome, outcome)
	client.disconnect_from_host(1000, "")


func _on_error():
	expect("handshake", "GODOT_WS_EXPECT", "error", "error")
	finish()


func _on_closed(was_clean):
	if not established:
		._on_closed(was_clean)
	finish()
