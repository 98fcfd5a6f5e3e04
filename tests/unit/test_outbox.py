"""The outbox's bound and memory (service/net/outbox.py), on socket pairs nobody reads.

What an operator checks: bytes shared by many outboxes (a room message, encoded once) count
in full in each outbox's bound, but are held once in memory; a full outbox refuses (and its
connection is then ended as a slow consumer); what is queued reaches the peer whole and in
order, however the socket takes it.
"""

from __future__ import annotations

import socket
import tracemalloc
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.net.outbox import SEND_BYTES, Outbox

LIMIT_BYTES = 131_072  # the smallest bound ServerConfig allows: two whole frames


class Pairs:
    """Outboxes writing to one end of socket pairs; the other ends are read only on demand."""

    def __init__(self) -> None:
        self.sockets: list[socket.socket] = []

    def outbox(self, limit_bytes: int = LIMIT_BYTES) -> tuple[Outbox, socket.socket]:
        ours, theirs = socket.socketpair()
        ours.setblocking(False)
        self.sockets += [ours, theirs]
        return Outbox(ours, limit_bytes, lambda: None), theirs

    def close(self) -> None:
        for sock in self.sockets:
            sock.close()


@pytest.fixture
def pairs() -> Iterator[Pairs]:
    made = Pairs()
    yield made
    made.close()


def test_shared_bytes_count_in_each_outbox_by_their_length(pairs: Pairs) -> None:
    outboxes = [pairs.outbox()[0] for _ in range(3)]
    frame = b"r" * 60_000 + b"\n"  # one room message, the same object for every member

    assert all(box.send_nowait(frame) for box in outboxes)
    assert all(box.send_nowait(frame) for box in outboxes)

    assert [box.pending_bytes for box in outboxes] == [2 * len(frame)] * 3
    assert not any(box.overflowed for box in outboxes)


def test_a_full_outbox_refuses_keeps_what_it_holds_and_says_it_overflowed(pairs: Pairs) -> None:
    box, _ = pairs.outbox()
    frame = b"r" * 60_000 + b"\n"
    assert box.send_nowait(frame) and box.send_nowait(frame)

    assert box.send_nowait(frame) is False  # 180,002 bytes would pass the 131,072 bound
    assert box.overflowed is True  # the connection ends as a slow consumer
    assert box.pending_bytes == 2 * len(frame)  # frames stay whole: nothing half-queued
    assert box.send_nowait(b"small\n") is False  # and nothing more is taken after that


def test_many_outboxes_holding_the_same_bytes_hold_one_copy_of_them(pairs: Pairs) -> None:
    """200 members who do not read a busy room cost one copy of its messages, not 200:
    queuing 50 MiB (as the bounds count) allocates well under 1 MiB."""
    outboxes = [pairs.outbox(limit_bytes=1 << 20)[0] for _ in range(50)]
    frames = [bytes([65 + n]) * 65_535 + b"\n" for n in range(16)]  # 1 MiB in all

    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for frame in frames:
            assert all(box.send_nowait(frame) for box in outboxes)
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()

    assert sum(box.pending_bytes for box in outboxes) == 50 << 20
    assert grown < 1 << 20, f"{grown:,} bytes allocated to queue shared frames"


def read_all(theirs: socket.socket, box: Outbox, size: int) -> bytes:
    """Flush `box` and read its peer until `size` bytes came, as a reactor and a client
    would, taking turns (the socket takes only part of what is queued at a time)."""
    theirs.settimeout(2)
    got = bytearray()
    while len(got) < size:
        box.flush_nowait()
        got += theirs.recv(1 << 16)
    return bytes(got)


def test_what_is_queued_arrives_whole_and_in_order_however_the_socket_takes_it(
    pairs: Pairs,
) -> None:
    box, theirs = pairs.outbox(limit_bytes=4 << 20)
    small = [f"{n:05d}\n".encode() for n in range(5_000)]  # joined for one send() at a time
    large = [bytes([97 + n]) * (SEND_BYTES + 7) for n in range(3)]  # sent from a view
    chunks = small[:2_500] + large + small[2_500:] + [b""]
    for chunk in chunks:
        assert box.send_nowait(chunk)

    assert read_all(theirs, box, sum(map(len, chunks))) == b"".join(chunks)
    assert box.flush_nowait() is True and box.pending_bytes == 0 and not box.has_pending


def test_closing_drops_what_is_unsent(pairs: Pairs) -> None:
    box, _ = pairs.outbox()
    assert box.send_nowait(b"x" * 1_000)
    box.close()
    assert (box.pending_bytes, box.has_pending, box.send_nowait(b"y")) == (0, False, False)


class ScriptedSocket:
    """A socket that takes what a script says (0: would block, as a full TLS socket does),
    and checks OpenSSL's rule for a write it refused: the next offer starts with the same
    bytes and is no shorter."""

    def __init__(self, takes: list[int]) -> None:
        self.takes = takes
        self.got = bytearray()
        self.refused: bytes | None = None

    def send(self, data: bytes | memoryview) -> int:
        offered = bytes(data)
        if self.refused is not None:
            assert offered.startswith(self.refused), "a retry must offer the same bytes"
        took = min(self.takes.pop(0) if self.takes else len(offered), len(offered))
        if took == 0:
            self.refused = offered
            raise BlockingIOError
        self.refused = None
        self.got += offered[:took]
        return took


@given(
    frames=st.lists(st.integers(1, SEND_BYTES // 3), min_size=1, max_size=12),
    takes=st.lists(st.integers(0, SEND_BYTES), max_size=30),
)
@settings(max_examples=200, deadline=None)
def test_a_refused_write_is_offered_again_from_the_same_bytes_and_all_arrive_in_order(
    frames: list[int], takes: list[int]
) -> None:
    sock = ScriptedSocket(list(takes))
    box = Outbox(sock, 4 << 20, lambda: None)  # type: ignore[arg-type]  # a socket's send only
    sent = [bytes([97 + n % 26]) * size for n, size in enumerate(frames)]
    for n, frame in enumerate(sent):
        assert box.send_nowait(frame)
        if n % 3 == 2:  # frames also arrive between one flush and the next
            box.flush_nowait()
    while not box.flush_nowait():
        pass
    assert bytes(sock.got) == b"".join(sent)
