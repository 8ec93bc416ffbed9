"""A small authoritative game server in Python for Godot 3 multiplayer clients.

Players are dots on a 400x300 board. Every client has a node /root/Game, and so does
this server (it is peer 1, the network master of Game). Clients send their input with
``rpc_id(1, "move", dx, dy)``: a direction, not a position. The server checks it
(two numbers; longer than 1 is cut to 1, so nobody runs faster than SPEED), moves every
player TICK by TICK, keeps them on the board, and sends everybody all positions with
``rpc("update_positions", {id: Vector2})``. Newcomers get the board size by ``rset_id``.

Run:  python samples/game_server.py [PORT]    (default: $GODOT_WS_PORT, else 9080; 0 = any free port)
then two clients (headless Godot 3.2):
      godot3-server --no-window --script samples/godot/game_client.gd -- ws://127.0.0.1:9080
"""
import logging
import math
import os
import sys
import time

from godot_ws import Error, MultiplayerAPI, Vector2, WebSocketServer, puppet, remote

BOARD = Vector2(400, 300)
SPEED = 100.0  # board units per second
TICK = 0.1     # seconds between two updates (10 Hz)

log = logging.getLogger("game")


class Game:
    """The server's twin of the clients' /root/Game node."""

    board_size = puppet(BOARD)  # clients may not set it: only the master (the server) does

    def __init__(self, multiplayer: MultiplayerAPI) -> None:
        self.multiplayer = multiplayer
        self.positions: dict[int, Vector2] = {}   # player id -> position
        self.directions: dict[int, Vector2] = {}  # player id -> last valid input

    @remote  # any peer may call it; get_rpc_sender_id() says who did
    def move(self, dx, dy):
        player = self.multiplayer.get_rpc_sender_id()
        if player not in self.positions or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                for v in (dx, dy)):
            log.warning("ignored bad input from %d: move(%r, %r)", player, dx, dy)
            return
        direction = Vector2(dx, dy)
        if direction.length() > 1:
            direction = direction / direction.length()  # full speed at most
        self.directions[player] = direction

    def join(self, player: int) -> None:
        self.positions[player] = Vector2(50 + 100 * (len(self.positions) % 4), 150)
        self.directions[player] = Vector2()
        log.info("player %d joined at %s", player, self.positions[player])

    def leave(self, player: int) -> None:
        self.positions.pop(player, None)
        self.directions.pop(player, None)
        log.info("player %d left", player)

    def step(self) -> None:
        """Advance the world by one TICK."""
        for player, direction in self.directions.items():
            x, y = self.positions[player] + direction * (SPEED * TICK)
            self.positions[player] = Vector2(min(max(x, 0), BOARD.x), min(max(y, 0), BOARD.y))


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    port = int(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("GODOT_WS_PORT", 9080))
    server = WebSocketServer()
    if server.listen(port, gd_mp_api=True) != Error.OK:  # Godot clients: connect_to_url(url, [], true)
        sys.exit(f"cannot listen on port {port} (in use?)")
    multiplayer = MultiplayerAPI()
    multiplayer.network_peer = server
    game = Game(multiplayer)
    node = multiplayer.register("Game", game)  # the node /root/Game; its master is 1 (us)

    def on_join(player):
        game.join(player)
        node.rset_id(player, "board_size", BOARD)  # sets board_size on that client's Game

    multiplayer.connect("network_peer_connected", on_join)
    multiplayer.connect("network_peer_disconnected", game.leave)
    print(f"game server listening on ws://127.0.0.1:{server.get_port()}", flush=True)

    next_tick = time.monotonic()
    try:
        while True:
            # Receives inputs (calls Game.move) and joins/leaves, waiting at most until the tick.
            multiplayer.poll(max(0.0, next_tick - time.monotonic()))
            if time.monotonic() >= next_tick:
                next_tick += TICK
                game.step()
                if game.positions:
                    node.rpc("update_positions", game.positions)  # puppet func on the clients
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
