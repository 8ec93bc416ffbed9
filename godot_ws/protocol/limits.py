"""Godot's per-peer buffer limits (``set_buffers``) and the input queue they bound.

Pure: the rounding to powers of two and the ring-buffer capacities of spec §4,
and the output rule of later Godot 3.x (spec §3.3).
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

__all__ = ["nearest_shift", "Limits", "DEFAULT_LIMITS", "InputQueue"]

_MAX_KB = 1 << 20       # 1 GiB per buffer is far beyond any sane game message
_MAX_PACKETS = 1 << 20


def nearest_shift(n: int) -> int:
    """Godot's ``nearest_shift``: the bit length of ``n``."""
    return max(0, int(n)).bit_length()


@dataclass(frozen=True)
class Limits:
    """Per-peer limits, already rounded as Godot rounds them."""
    in_buf_shift: int
    in_pkt_shift: int
    out_buf_shift: int
    out_pkt_shift: int

    @classmethod
    def from_kb(cls, input_buffer_size_kb: int, input_max_packets: int,
                output_buffer_size_kb: int, output_max_packets: int) -> Limits:
        """Validate ``set_buffers`` arguments and round them as Godot does."""
        args = {"input_buffer_size_kb": input_buffer_size_kb,
                "input_max_packets": input_max_packets,
                "output_buffer_size_kb": output_buffer_size_kb,
                "output_max_packets": output_max_packets}
        for name, value in args.items():
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"{name} must be an int, got {type(value).__name__}")
            cap = _MAX_KB if name.endswith("_kb") else _MAX_PACKETS
            if not 1 <= value <= cap:
                raise ValueError(f"{name} must be between 1 and {cap}, got {value}")
        return cls(nearest_shift(input_buffer_size_kb - 1) + 10,
                   nearest_shift(input_max_packets - 1),
                   nearest_shift(output_buffer_size_kb - 1) + 10,
                   nearest_shift(output_max_packets - 1))

    def __post_init__(self) -> None:
        # Derived sizes, computed once: they are read for every message.
        object.__setattr__(self, "max_message_size", 1 << self.in_buf_shift)
        object.__setattr__(self, "input_bytes", (1 << self.in_buf_shift) - 1)
        object.__setattr__(self, "input_packets", max(1, (1 << self.in_pkt_shift) - 1))
        object.__setattr__(self, "output_bytes", 1 << self.out_buf_shift)
        object.__setattr__(self, "output_packets", 1 << self.out_pkt_shift)

    #: Largest incoming message accepted on the wire; a bigger one closes with 1009.
    max_message_size: int = field(init=False, repr=False, compare=False)
    #: Usable input ring capacity in bytes and packets (one less than its size).
    input_bytes: int = field(init=False, repr=False, compare=False)
    input_packets: int = field(init=False, repr=False, compare=False)
    #: Output limits of later Godot 3.x (see ``output_full``).
    output_bytes: int = field(init=False, repr=False, compare=False)
    output_packets: int = field(init=False, repr=False, compare=False)

    def output_full(self, queued_packets: int, queued_bytes: int, size: int) -> bool:
        """Later Godot 3.x's ``put_packet`` refusal rule (ERR_OUT_OF_MEMORY)."""
        return (queued_packets >= self.output_packets
                or queued_bytes + size >= self.output_bytes)


DEFAULT_LIMITS = Limits.from_kb(64, 1024, 64, 1024)


_NO_ITEMS: deque[tuple[bytes, bool]] = deque(maxlen=0)  # shared, always empty


class InputQueue:
    """A peer's received packets, bounded as Godot's input ring buffers are.

    ``push`` returns a reason string when the packet is dropped (the queue keeps
    what it has), else None. Not thread-safe by itself: the owner locks it.
    """
    __slots__ = ("_items", "_bytes", "_max_bytes", "_max_packets")

    def __init__(self, limits: Limits = DEFAULT_LIMITS) -> None:
        self._items: deque[tuple[bytes, bool]] = _NO_ITEMS  # a deque from the first push
        self._bytes = 0
        self._max_bytes = limits.input_bytes
        self._max_packets = limits.input_packets

    def push(self, data: bytes, is_text: bool) -> str | None:
        if len(self._items) >= self._max_packets:
            return "Too many packets in queue! Dropping data."
        if self._bytes + len(data) > self._max_bytes:
            return "Buffer payload full! Dropping data."
        if self._items is _NO_ITEMS:
            self._items = deque()
        self._items.append((data, is_text))
        self._bytes += len(data)
        return None

    def pop(self) -> tuple[bytes, bool] | None:
        if not self._items:
            return None
        item = self._items.popleft()
        self._bytes -= len(item[0])
        return item

    def clear(self) -> None:
        if self._items is not _NO_ITEMS:
            self._items.clear()
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._items)
