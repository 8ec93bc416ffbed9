"""Variant codec speed: var2bytes/bytes2var next to pickle and json on the same data.

Run: ``python bench/bench_variant.py`` (a few seconds). Prints a markdown table
of operations per second (best of 3 timed batches) for a typical game-state
Dictionary and a 64 KiB PoolByteArray. pickle and json get the equivalent
plain Python data (vectors as tuples/lists; for json the bytes as base64).
"""
from __future__ import annotations

import base64
import json
import os
import pickle
import sys
import time
from typing import Any, Callable

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from godot_ws.variant.codec import bytes2var, var2bytes  # noqa: E402
from godot_ws.variant.types import Vector2, Vector3  # noqa: E402

BATCH_SECONDS = 0.08


def game_state() -> dict:
    """~20 entries as a game server sends them each tick."""
    return {
        "tick": 123456, "time": 617.25, "player_id": 1114054110, "name": "Player One",
        "pos": Vector2(512.5, -96.25), "vel": Vector2(3.5, 0.0), "aim": Vector2(0.7071, 0.7071),
        "pos3": Vector3(10.0, 2.5, -7.75), "rot3": Vector3(0.0, 1.5707964, 0.0),
        "hp": 87, "max_hp": 100, "armor": 12, "ammo": 24, "score": 1530,
        "speed": 0.1, "gravity": 9.8, "alive": True, "team": "blue", "weapon": "rifle",
        "state": "running",
    }


def plain(value: Any) -> Any:
    """The same data with plain Python types (vectors as tuples)."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (Vector2, Vector3)):
        return tuple(value)
    return value


def rate(fn: Callable[[], Any]) -> float:
    """Calls per second: best of 3 batches of about BATCH_SECONDS each."""
    n = 1
    while True:
        start = time.perf_counter()
        for _ in range(n):
            fn()
        elapsed = time.perf_counter() - start
        if elapsed >= BATCH_SECONDS / 4:
            break
        n *= 4
    n = max(1, int(n * BATCH_SECONDS / elapsed))
    best = 0.0
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        best = max(best, n / (time.perf_counter() - start))
    return best


def row(label: str, codec: str, enc: Callable[[], Any], dec: Callable[[], Any], size: int) -> str:
    return f"| {label} | {codec} | {rate(enc):,.0f} | {rate(dec):,.0f} | {size:,} |"


def main() -> None:
    state = game_state()
    state_plain = plain(state)
    blob = os.urandom(64 * 1024)
    lines = [
        f"Variant codec, Python {sys.version.split()[0]} ({sys.platform}); ops/s, higher is better",
        "",
        "| data | codec | encode ops/s | decode ops/s | bytes |",
        "|---|---|---:|---:|---:|",
    ]
    for label, godot_value, plain_value, json_value in (
        ("game state (20 entries)", state, state_plain, state_plain),
        ("PoolByteArray 64 KiB", blob, blob, base64.b64encode(blob).decode()),
    ):
        wire = var2bytes(godot_value)
        assert bytes2var(wire) == godot_value
        pickled = pickle.dumps(plain_value, pickle.HIGHEST_PROTOCOL)
        text = json.dumps(json_value)
        lines.append(row(label, "var2bytes / bytes2var", lambda: var2bytes(godot_value),
                         lambda: bytes2var(wire), len(wire)))
        lines.append(row(label, "pickle", lambda: pickle.dumps(plain_value, pickle.HIGHEST_PROTOCOL),
                         lambda: pickle.loads(pickled), len(pickled)))
        lines.append(row(label, "json" + (" (base64)" if json_value is not plain_value else ""),
                         lambda: json.dumps(json_value), lambda: json.loads(text), len(text)))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
