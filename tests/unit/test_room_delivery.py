"""Live room messages around a login's catch-up (service/net/delivery.py), on a socket pair.

What the login accounted for (its snapshot's last seq per room) never comes again live; what
is newer follows the catch-up in order, held or not; and a hold that overflows gives up at
once instead of pacing a client that does not read.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from service.net.delivery import Delivery
from service.net.outbox import Outbox
from service.wire.events import room_message_event

LIMIT_BYTES = 131_072


def frame(room: str, seq: int, stored: bool = False) -> bytes:
    return room_message_event(room, seq, "alice", f"m{seq}", "t", stored)


def live(delivery: Delivery, room: str, *seqs: int) -> bool:
    items = [(frame(room, seq), seq) for seq in seqs]
    return delivery.room_live(room, b"".join(f for f, _ in items), items)


class Wire:
    """A Delivery whose outbox writes to one end of a socket pair; read the other end."""

    def __init__(self) -> None:
        self.ours, self.theirs = socket.socketpair()
        self.ours.setblocking(False)
        self.overflows = 0
        self.outbox = Outbox(self.ours, LIMIT_BYTES, lambda: None)
        self.delivery = Delivery(self.outbox, self._overflowed)

    def _overflowed(self) -> None:
        self.overflows += 1

    def received(self) -> list[bytes]:
        self.outbox.flush_nowait()
        self.theirs.settimeout(0.5)
        data = b""
        while not data.endswith(b"\n"):
            data += self.theirs.recv(1 << 20)
        return data.splitlines(keepends=True)

    def close(self) -> None:
        self.ours.close()
        self.theirs.close()


@pytest.fixture
def wire() -> Iterator[Wire]:
    w = Wire()
    yield w
    w.close()


def test_held_messages_the_login_accounted_for_are_dropped(wire: Wire) -> None:
    wire.delivery.hold()
    assert live(wire.delivery, "#a", 5, 6)  # committed before the snapshot: 5 is in it
    assert live(wire.delivery, "#b", 1)  # a room whose snapshot ended at 0
    assert live(wire.delivery, "#a", 7)
    catch_up = [frame("#a", 4, stored=True), frame("#a", 5, stored=True)]

    assert wire.delivery.catch_up(catch_up, 0, {"#a": 5, "#b": 0})

    assert wire.received() == [*catch_up, frame("#a", 6), frame("#b", 1), frame("#a", 7)]


def test_after_the_login_late_copies_are_dropped_and_new_ones_go_out(wire: Wire) -> None:
    wire.delivery.hold()
    assert wire.delivery.catch_up([], 0, {"#a": 5})
    assert live(wire.delivery, "#a", 4, 5, 6)  # answered by the reactor after the snapshot
    assert live(wire.delivery, "#c", 1)
    assert wire.received() == [frame("#a", 6), frame("#c", 1)]


def test_a_room_joined_after_the_login_is_not_filtered(wire: Wire) -> None:
    """An operator deleted #a after the login saw it at seq 5, and a new #a starts at 1."""
    wire.delivery.hold()
    assert wire.delivery.catch_up([], 0, {"#a": 5})
    wire.delivery.forget_room("#a")
    assert live(wire.delivery, "#a", 1)
    assert wire.received() == [frame("#a", 1)]


def test_a_hold_that_overflows_gives_up_at_once(wire: Wire) -> None:
    wire.delivery.hold()
    big = [(room_message_event("#a", n, "alice", "x" * 4_000, "t", False), n) for n in range(40)]
    refused = [not wire.delivery.room_live("#a", f, [(f, n)]) for f, n in big]
    assert any(refused) and wire.overflows >= 1
    finished = threading.Event()

    def log_in() -> None:  # the login's worker: must not wait PACED_WAIT_S for room
        wire.delivery.catch_up([b"x" * (LIMIT_BYTES // 2) + b"\n"] * 4, 0, {})
        finished.set()

    threading.Thread(target=log_in, daemon=True).start()
    assert finished.wait(2.0), "the catch-up waited for a client that is being cut off"
