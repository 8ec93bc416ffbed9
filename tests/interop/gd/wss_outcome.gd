# raw_bind_refuse.gd over wss://: reports whether a client trusting GODOT_WS_TRUSTED_CERT
# (or, without it, only the system's CAs) gets connection_established or connection_error.
extends "raw_bind_refuse.gd"

const Trust = preload("wss_trust.gd")


func open(protocols = PoolStringArray()):
	if Trust.apply(self, client, env("GODOT_WS_TRUSTED_CERT")):
		.open(protocols)
	else:
		finish()
