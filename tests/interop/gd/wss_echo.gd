# raw_echo.gd over wss://: trusts the PEM of GODOT_WS_TRUSTED_CERT (with verify_ssl on, the
# default of raw_common.gd) before connecting. Run with GODOT_WS_SCHEME=wss.
extends "raw_echo.gd"


func open(protocols = PoolStringArray()):
	# trusted_ssl_certificate can only be set before connect_to_url
	if preload("wss_trust.gd").apply(self, client, env("GODOT_WS_TRUSTED_CERT")):
		.open(protocols)
