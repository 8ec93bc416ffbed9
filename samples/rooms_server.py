"""Many games in one Python server: a room per match, each with its own authoritative game.

Godot clients join ws://HOST:PORT/rooms/<name>: the first player makes the room, at most
4 play in one, and a room closes 5 seconds after its last player left. The lobby,
GET http://HOST:PORT/rooms, lists the rooms as JSON. In every room the server is peer 1
with its own MultiplayerAPI and /root/Chat node: a client calls rpc_id(1, "say", text),
the server checks it and sends rpc("said", id, text) to the players of that room only.

Run:  python samples/rooms_server.py [PORT]    (default 9080; 0 = any free port)
then clients (headless Godot 3.2), picking a room by name or from the lobby:
      godot3-server --no-window --script samples/godot/rooms_client.gd -- ws://127.0.0.1:9080 red
"""
import logging
import os
import sys

from godot_ws import Error, MultiplayerAPI, Room, Rooms, WebSocketServer, remote

log = logging.getLogger("rooms")


class Chat:
    """The server's twin of the clients' /root/Chat node, one per room."""

    def __init__(self, room: Room, multiplayer: MultiplayerAPI) -> None:
        self.room = room
        self.multiplayer = multiplayer
        self.node = multiplayer.register("Chat", self)

    @remote  # any player of this room may call it
    def say(self, text):
        player = self.multiplayer.get_rpc_sender_id()
        if not isinstance(text, str) or not 0 < len(text) <= 200:
            log.warning("room %s: ignored bad message from %d", self.room.name, player)
            return
        log.info("room %s: player %d says %s", self.room.name, player, text)
        self.node.rpc("said", player, text)  # a puppet func on the room's clients


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 9080
    server = WebSocketServer()
    server.rooms = Rooms(max_peers=4, grace=float(os.environ.get("ROOMS_GRACE", 5)))
    games: dict[str, MultiplayerAPI] = {}

    def on_created(room: Room) -> None:
        multiplayer = MultiplayerAPI()
        multiplayer.network_peer = room  # this room's game, and nothing else
        Chat(room, multiplayer)
        room.metadata = {"game": "chat"}  # shown in the lobby
        games[room.name] = multiplayer
        log.info("room %s created", room.name)

    def on_closed(room: Room) -> None:
        del games[room.name]
        log.info("room %s closed", room.name)

    server.rooms.connect("room_created", on_created)
    server.rooms.connect("room_closed", on_closed)
    server.rooms.connect("peer_joined", lambda room, id: log.info("player %d joined room %s", id, room.name))
    server.rooms.connect("peer_left", lambda room, id: log.info("player %d left room %s", id, room.name))
    if server.listen(port, gd_mp_api=True) != Error.OK:
        sys.exit(f"cannot listen on port {port} (in use?)")
    print(f"rooms server listening on ws://127.0.0.1:{server.get_port()}/rooms/<name>", flush=True)
    try:
        while True:
            server.poll(0.1)                       # joins, leaves, relays, for every room
            for multiplayer in list(games.values()):
                multiplayer.poll(0)                # each room's rpcs (Chat.say)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
