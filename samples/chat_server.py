"""Broadcast chat: every text message is sent to everybody, prefixed with its sender.

Run:  python samples/chat_server.py   (clients: samples/godot/raw_client.gd, or
python -m websockets ws://127.0.0.1:9080)
"""
from godot_ws import WebSocketServer, WriteMode

server = WebSocketServer()
server.bind_ip = "127.0.0.1"


def broadcast(text):
    for peer_id in server.get_peer_ids():
        peer = server.get_peer(peer_id)
        peer.set_write_mode(WriteMode.WRITE_MODE_TEXT)
        peer.put_packet(text.encode("utf-8"))


def on_connected(peer_id, protocol):
    broadcast(f"* {peer_id} joined")


def on_data(peer_id):
    message = server.get_peer(peer_id).get_packet().decode("utf-8", "replace")
    broadcast(f"{peer_id}: {message}")


def on_disconnected(peer_id, was_clean):
    broadcast(f"* {peer_id} left")


server.connect("client_connected", on_connected)
server.connect("data_received", on_data)
# Deferred: the leaving peer is still in the list while its signal fires.
server.connect("client_disconnected", on_disconnected, flags=1)  # CONNECT_DEFERRED
server.listen(9080)
print(f"listening on ws://127.0.0.1:{server.get_port()}")
try:
    while True:
        server.poll(1.0)
except KeyboardInterrupt:
    server.stop()
