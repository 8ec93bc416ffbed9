"""Echo server: every message goes back to its sender, text as text, binary as binary.

Run:  python samples/echo_server.py   (then connect samples/godot/raw_client.gd
or any WebSocket client to ws://127.0.0.1:9080)
"""
from godot_ws import WebSocketServer, WriteMode

server = WebSocketServer()


def on_connected(peer_id, protocol):
    print(f"peer {peer_id} connected from {server.get_peer_address(peer_id)}")


def on_data(peer_id):
    peer = server.get_peer(peer_id)
    data = peer.get_packet()
    peer.set_write_mode(WriteMode.WRITE_MODE_TEXT if peer.was_string_packet()
                        else WriteMode.WRITE_MODE_BINARY)
    peer.put_packet(data)


def on_disconnected(peer_id, was_clean):
    print(f"peer {peer_id} left (clean: {was_clean})")


server.connect("client_connected", on_connected)
server.connect("data_received", on_data)
server.connect("client_disconnected", on_disconnected)
server.listen(9080)
print(f"listening on ws://127.0.0.1:{server.get_port()}")
try:
    while True:
        server.poll(1.0)   # signals fire here, on this thread
except KeyboardInterrupt:
    server.stop()
