# Closing handshakes. GODOT_WS_CLOSE_MODE:
#  "client": once connected, disconnect_from_host(GODOT_WS_CLOSE_CODE (1000),
#            GODOT_WS_CLOSE_REASON ("")) and report connection_closed(was_clean);
#  "server": wait for the server to close; report the code and reason of
#            server_close_request, then connection_closed(was_clean).
# Reports (checked against the env var in brackets when it is set):
#  RESULT server_close_request OK code=<c> reason=[<r>] reason_hex=<utf8 hex>
#        [GODOT_WS_EXPECT_CODE, GODOT_WS_EXPECT_REASON]  or "... none" if it never fired
#  RESULT closed OK was_clean=<True|False>  [GODOT_WS_EXPECT_CLEAN]
extends "raw_common.gd"

var mode = ""
var close_request = null  # [code, reason]


func _init():
	mode = env("GODOT_WS_CLOSE_MODE", "client")
	if not mode in ["client", "server"]:
		result("setup", false, "GODOT_WS_CLOSE_MODE must be client or server, not %s" % mode)
		finish()
		return
	open()


func _on_established(protocol):
	result("connected", true, "protocol=[%s]" % protocol)
	if mode == "client":
		client.disconnect_from_host(int(env("GODOT_WS_CLOSE_CODE", "1000")), env("GODOT_WS_CLOSE_REASON"))


func _on_server_close_request(code, reason):
	close_request = [code, reason]


func _on_closed(was_clean):
	if close_request == null:
		expect("server_close_request", "GODOT_WS_EXPECT_CODE", "none", "none")
	else:
		var code = close_request[0]
		var reason = close_request[1]
		var details = "code=%d reason=[%s] reason_hex=%s" % [code, reason, reason.to_utf8().hex_encode()]
		expect("server_close_request", "GODOT_WS_EXPECT_CODE", code, details)
		expect("server_close_reason", "GODOT_WS_EXPECT_REASON", reason, details)
	expect("closed", "GODOT_WS_EXPECT_CLEAN", was_clean, "was_clean=%s" % was_clean)
	finish()


func state():
	return "status=%d mode=%s close_request=%s" % [client.get_connection_status(), mode, close_request]
