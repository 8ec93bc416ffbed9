"""Relay server for Godot 3 high-level multiplayer games (what Godot's own server does).

Godot clients set a WebSocketClient as their network_peer; this server gives each one an
id, tells everybody who joined or left, and relays their rpc()/rpc_id()/rset() packets
between them. It also greets each player and logs what players send to the server with
multiplayer.send_bytes(data, 1).

Run:  python samples/relay_server.py [PORT]     (default 9080)
then two or more clients, e.g. two of samples/godot/mp_relay_client.gd:
      godot3-server --no-window --script samples/godot/mp_relay_client.gd -- ws://127.0.0.1:9080
"""
import logging
import sys

from godot_ws import Error, WebSocketServer

RAW = 4  # first payload byte of multiplayer.send_bytes packets (MultiplayerAPI's RAW command)

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
log = logging.getLogger("relay")
server = WebSocketServer()


def on_joined(peer_id):
    log.info("player %d joined from %s (%d online)", peer_id,
             server.get_peer_address(peer_id), len(server.get_peer_ids()))
    server.set_target_peer(peer_id)  # 0 would be everybody, -peer_id everybody but them
    server.put_packet(bytes([RAW]) + b"welcome!")  # the client's network_peer_packet


def on_left(peer_id):
    log.info("player %d left (%d online)", peer_id, len(server.get_peer_ids()))


def on_packet(_source):
    # Packets for the server: send_bytes(…, 1), and rpcs sent to the server or to all.
    # This server has no scene, so it only logs the send_bytes ones.
    while server.get_available_packet_count():
        sender = server.get_packet_peer()  # before get_packet(), as in Godot
        data = server.get_packet()
        if data[:1] == bytes([RAW]):
            log.info("player %d says: %s", sender, data[1:].decode("utf-8", "replace"))


server.connect("peer_connected", on_joined)
server.connect("peer_disconnected", on_left)
server.connect("peer_packet", on_packet)
if server.listen(int(sys.argv[1]) if len(sys.argv) > 1 else 9080, gd_mp_api=True) != Error.OK:
    sys.exit("cannot listen (port in use?)")
print(f"relay listening on ws://127.0.0.1:{server.get_port()}", flush=True)
try:
    while True:
        server.poll(1.0)  # joins, leaves and relaying happen here, on this thread
except KeyboardInterrupt:
    server.stop()
