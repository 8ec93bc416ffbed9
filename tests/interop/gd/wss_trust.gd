# Loads a PEM certificate into WebSocketClient.trusted_ssl_certificate (Godot 3.2.3 API).
# Shared by the wss interop clients; an empty path leaves the client's trust alone.
extends Reference


static func apply(script, client, pem_path):
	# True if the client is ready to connect; else it reported a FAIL line and finished.
	if pem_path == "":
		return true
	var cert = X509Certificate.new()
	var err = cert.load(pem_path)
	if err != OK:
		script.result("trusted_certificate", false, "X509Certificate.load(%s) err=%d" % [pem_path, err])
		script.finish()
		return false
	client.trusted_ssl_certificate = cert
	return true
