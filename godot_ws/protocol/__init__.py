"""Pure protocol logic: no sockets, no threads (handshake, limits, multiplayer framing, RPC)."""
