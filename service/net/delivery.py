"""Live events to one connection, and the stored backlog at login: one owner for both.

chat/1 wants the backlog of stored direct messages first, oldest first, then the rooms'
catch-up, and live messages after it without duplicates. So during a login live events are
held (bounded like the outbox); the backlog goes out a page at a time, each page waiting for
room in the outbox (a client that reads gets any number of stored messages); then what was
held follows, minus any message the backlog carried already (same `msg_id`) and any room
message at or below the seq the login's snapshot of that room ended at (it came in the
catch-up, or was read already, or is not counted as unread).

Threads: `live()` from any thread (the writer, a worker delivering someone's broadcast);
`hold()`, `catch_up()` and `drop_held()` only from the worker thread running the login.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence

from service.core.hub import Live, RoomLive
from service.net.outbox import Outbox

CHUNK_BYTES = 65_536  # backlog bytes sent at a time: one syscall for many small frames
PACED_WAIT_S = 10.0  # a backlog page waits this long for the client to read before giving up

# What a held event is known by: a direct message's msg_id, a room message's (room, seq), or
# None for events that are never duplicates (presence, broadcasts...).
HeldKey = int | tuple[str, int] | None


class Delivery:
    __slots__ = ("_backlog_last_id", "_held", "_held_bytes", "_lock", "_on_overflow", "_outbox",
                 "_room_last")  # fmt: skip

    def __init__(self, outbox: Outbox, on_overflow: Callable[[], None]) -> None:
        self._outbox = outbox
        self._on_overflow = on_overflow  # the client stopped reading: end it, slow consumer
        self._lock = threading.Lock()
        # live events waiting while the backlog goes out
        self._held: list[tuple[bytes, HeldKey]] | None = None
        self._held_bytes = 0
        self._backlog_last_id = 0  # messages up to this id came in the backlog: not again live
        self._room_last: dict[str, int] = {}  # room -> seq up to which the login accounted for

    def live(self, items: Sequence[Live], first: bytes = b"") -> bool:
        """Queue live events without blocking; False when the connection cannot take them.
        `first`: this connection's own replies, sent ahead in the same write (never held)."""
        with self._lock:
            held = self._held is not None
            if held:
                size = sum(len(data) for data, _ in items)
                if self._held_bytes + size > self._outbox.limit_bytes:
                    self._give_up()
                    return False
                self._held.extend(items)  # type: ignore[union-attr]
                self._held_bytes += size
        if held:
            return self._send_nowait(first)
        last = self._backlog_last_id
        return self._send_nowait(
            first + b"".join(d for d, msg_id in items if msg_id is None or msg_id > last)
        )

    def room_live(self, room: str, data: bytes, items: Sequence[RoomLive]) -> bool:
        """Queue live messages of one room without blocking (`data`: their frames joined, the
        same bytes for every member); False when the connection cannot take them."""
        with self._lock:
            if self._held is not None:
                if self._held_bytes + len(data) > self._outbox.limit_bytes:
                    self._give_up()
                    return False
                self._held.extend((frame, (room, seq)) for frame, seq in items)
                self._held_bytes += len(data)
                return True
        last = self._room_last.get(room)
        if last is not None and items[0][1] <= last:  # only just after a login
            data = b"".join(frame for frame, seq in items if seq > last)
        return self._send_nowait(data)

    def forget_room(self, room: str) -> None:
        """This user joins `room` now: whatever its login saw of a room by that name (one an
        operator has since deleted, whose numbering a new room starts again) drops nothing."""
        self._room_last.pop(room, None)

    def _give_up(self) -> None:
        """What was held overflowed: a slow consumer. The outbox refuses from now on, so the
        login's paced sending stops at once instead of waiting for a client that does not
        read (the session cannot end while the login runs)."""
        self._outbox.give_up()
        self._on_overflow()

    def _send_nowait(self, data: bytes) -> bool:
        if not data or self._outbox.send_nowait(data):
            return True
        if self._outbox.overflowed:
            self._on_overflow()
        return False

    def hold(self) -> None:
        with self._lock:
            self._held, self._held_bytes = [], 0

    def drop_held(self) -> None:
        """A login that failed after hold(): what was held is stored or was for nobody."""
        with self._lock:
            self._held, self._held_bytes = None, 0

    def catch_up(
        self, frames: Iterable[bytes], backlog_last_id: int,
        room_last: Mapping[str, int] | None = None,
    ) -> bool:  # fmt: skip
        """Send the backlog (encoded frames), then release what was held. False (and the
        session is ending as a slow consumer) if the client stopped reading. `room_last`:
        per room, the seq up to which the login accounted for its messages."""
        self._backlog_last_id = backlog_last_id
        self._room_last = dict(room_last or {})
        chunk = bytearray()
        for frame in frames:
            chunk += frame
            if len(chunk) >= CHUNK_BYTES and not self._send_paced(bytes(chunk)):
                return False
            if len(chunk) >= CHUNK_BYTES:
                chunk.clear()
        if chunk and not self._send_paced(bytes(chunk)):
            return False
        return self._release()

    def _send_paced(self, data: bytes) -> bool:
        if self._outbox.send_waiting(data, PACED_WAIT_S):
            return True
        self._on_overflow()
        self.drop_held()
        return False

    def _release(self) -> bool:
        """Send what was held, in order; events that arrive meanwhile join the queue, and the
        waiting for room happens outside the lock, so no sender waits on this one."""
        while True:
            with self._lock:
                batch = self._held or []
                self._held, self._held_bytes = ([], 0) if batch else (None, 0)
            if not batch:
                return True
            data = b"".join(d for d, key in batch if self._is_new(key))
            if data and not self._send_paced(data):
                return False

    def _is_new(self, key: HeldKey) -> bool:
        """Whether a held event is not a duplicate of what the login sent or accounted for."""
        if key is None:
            return True
        if isinstance(key, int):
            return key > self._backlog_last_id
        room, seq = key
        return seq > self._room_last.get(room, 0)
