# raw_bind_refuse.gd over wss://: reports whether a client trusting GODOT_WS_TRUSTED_CERT
# (or, without it, only the system's CAs) gets connection_established or connection_error.
extends "raw_bind_refuse.gd"


func open(protocols = PoolStringArray()):
	# trusted_ssl_certificate can only be set before connect_to_url
	if preload("wss_trust.gd").apply(self, client, env("GODOT_WS_TRUSTED_CERT")):
		.open(protocols)
