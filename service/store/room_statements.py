"""The rooms' hot path: the `say` and `read` requests of a whole batch, checked and stored at once.

The writer runs these inside the group commit and on the connection it holds
(service/store/writer.py), so a `say` is committed in the same fsync as the direct messages beside
it, before its `ok`. A batch costs a few indexed queries (rooms, users with their memberships,
the senders' blockers; nonces when any say carries one), one UPDATE per room to number its
messages, and one insert of all of them.

Sequence numbers. The messages of a batch are numbered by `UPDATE rooms SET last_seq =
last_seq + n ... RETURNING last_seq` in the transaction that inserts them: the row lock
(PostgreSQL) or the write lock (SQLite) puts concurrent writers one after the other, a
rollback takes the numbers back with the messages, and (room_id, seq) is the primary key. So
`seq` is gap-free, never reused and in commit order, also across `kill -9`. Nothing deletes a
single room message, which lets unread counts use the arithmetic of service/wire/rooms.py.

Nothing here decides what goes on the wire: results are SavedSay, a Refusal, an int (a read
that moved its marker: the new marker) or None (a read that moved nothing), one per request,
in order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, insert, select, update
from sqlalchemy.dialects import sqlite

from service.store.batch_reads import chunks, seen_nonces
from service.store.driver_statement import RowsInsert
from service.store.models import Block, Room, RoomMember, RoomMessage, RoomNonce, User
from service.store.outcomes import Refusal
from service.wire.rooms import is_valid_room_name
from service.wire.timeutil import as_utc


def naive_utc(moment: datetime) -> datetime:
    return as_utc(moment).replace(tzinfo=None)


# --- what the writer gets and gives back -------------------------------------------------------


@dataclass(slots=True)
class SayRecord:
    """One `say` as the store needs it (the sender's id comes from its login)."""

    sender_id: int
    sender: str
    room: str
    text: str
    nonce: str | None


@dataclass(slots=True)
class ReadRecord:
    """One `read`: `user_id`'s client has shown `room` up to `seq`."""

    user_id: int
    room: str
    seq: int


@dataclass(frozen=True, slots=True)
class SavedSay:
    seq: int
    sent_at: datetime
    is_retry: bool  # the nonce was seen before: nothing new was stored
    blockers: frozenset[str]  # users who block the sender: they do not get it live


# int: a `read` that moved the member's marker, to it; None: a `read` that moved nothing
RoomOutcome = SavedSay | Refusal | int | None


# --- the writer's statements -------------------------------------------------------------------

_ROOMS_BY_NAME = select(Room.id, Room.name, Room.last_seq).where(
    Room.name.in_(bindparam("names", expanding=True))
)
# The batch's users that still exist, each with its memberships among the batch's rooms.
_USERS_AND_MEMBERSHIPS = (
    select(User.id, RoomMember.room_id, RoomMember.read_seq)
    .outerjoin(
        RoomMember,
        and_(
            RoomMember.user_id == User.id,
            RoomMember.room_id.in_(bindparam("room_ids", expanding=True)),
        ),
    )
    .where(User.id.in_(bindparam("user_ids", expanding=True)))
)
_BLOCKERS_OF_SENDERS = (
    select(Block.blocked_id, User.name)
    .join(User, User.id == Block.blocker_id)
    .where(Block.blocked_id.in_(bindparam("sender_ids", expanding=True)))
)
_SEEN_NONCES = select(
    RoomNonce.sender_id, RoomNonce.nonce, RoomNonce.seq, RoomNonce.created_at
).where(
    RoomNonce.sender_id.in_(bindparam("sender_ids", expanding=True)),
    RoomNonce.nonce.in_(bindparam("nonces", expanding=True)),
)
_NEXT_SEQS = (
    update(Room)
    .where(Room.id == bindparam("b_room_id"))
    .values(last_seq=Room.last_seq + bindparam("b_count"))
    .returning(Room.last_seq)
)
_INSERT_MESSAGE = insert(RoomMessage)
_SQLITE = sqlite.dialect()
_SQLITE_ROWS = RowsInsert(RoomMessage, _SQLITE, ("room_id", "seq", "sender", "text", "sent_at"))
_SQLITE_TIME: Callable[[Any], Any] = RoomMessage.__table__.c.sent_at.type.dialect_impl(
    _SQLITE
).bind_processor(_SQLITE) or (lambda at: at)
_INSERT_NONCE = insert(RoomNonce)
_MOVE_MARKER = (
    update(RoomMember)
    .where(
        RoomMember.room_id == bindparam("b_room_id"),
        RoomMember.user_id == bindparam("b_user_id"),
        RoomMember.read_seq < bindparam("b_seq"),
    )
    .values(read_seq=bindparam("b_seq"))
)


def _insert_messages(c: Connection, rows: list[tuple[int, int, str, str]], at: datetime) -> None:
    """A batch's messages (room_id, seq, sender, text), all sent `at`: one statement on SQLite,
    so the full-text index gets one segment per batch, not one per message (RowsInsert in
    service/store/driver_statement.py); `executemany` on PostgreSQL."""
    if c.dialect.name == "sqlite":
        stored_at = _SQLITE_TIME(at)
        _SQLITE_ROWS.run(c, [(*row, stored_at) for row in rows])
        return
    keys = ("room_id", "seq", "sender", "text", "sent_at")
    c.execute(_INSERT_MESSAGE, [dict(zip(keys, (*row, at), strict=True)) for row in rows])


@dataclass(slots=True)
class _Known:
    """What the database says about a batch's rooms and users, read in a few queries."""

    rooms: dict[str, list[int]]  # by name: [room id, last seq] (last seq moves as we store)
    users: set[int]  # the batch's users whose accounts still exist
    members: dict[tuple[int, int], int]  # (room_id, user_id) -> the member's read marker
    blockers: dict[int, frozenset[str]]  # sender id -> names of the users who block it
    nonces: dict[tuple[int, str], tuple[int, datetime]]  # (sender id, nonce) -> (seq, at)

    @classmethod
    def read(cls, c: Connection, says: Sequence[SayRecord], reads: Sequence[ReadRecord]) -> _Known:
        known = cls({}, set(), {}, {}, {})
        names = sorted({r.room for r in says} | {r.room for r in reads})
        names = [name for name in names if is_valid_room_name(name)]
        for part in chunks(names):
            for room_id, name, last_seq in c.execute(_ROOMS_BY_NAME, {"names": part}):
                known.rooms[name] = [room_id, last_seq]
        room_ids = [room_id for room_id, _ in known.rooms.values()] or [0]
        user_ids = sorted({s.sender_id for s in says} | {r.user_id for r in reads})
        for part in chunks(user_ids):
            for rids in chunks(room_ids):
                params = {"user_ids": part, "room_ids": rids}
                for user_id, room_id, read_seq in c.execute(_USERS_AND_MEMBERSHIPS, params):
                    known.users.add(user_id)
                    if room_id is not None:
                        known.members[room_id, user_id] = read_seq
        sender_ids = sorted({s.sender_id for s in says})
        blockers: dict[int, set[str]] = {}
        for part in chunks(sender_ids):
            for blocked_id, blocker in c.execute(_BLOCKERS_OF_SENDERS, {"sender_ids": part}):
                blockers.setdefault(blocked_id, set()).add(blocker)
        known.blockers = {sender: frozenset(names) for sender, names in blockers.items()}
        nonces = sorted({s.nonce for s in says if s.nonce is not None})
        known.nonces = seen_nonces(c, _SEEN_NONCES, sender_ids, nonces)
        return known

    def refusal(self, user_id: int, room: str) -> Refusal | None:
        """chat/1's order: the account still exists, no_such_room, not_member."""
        if user_id not in self.users:
            return Refusal.ACCOUNT_GONE
        found = self.rooms.get(room)
        if found is None:
            return Refusal.NO_SUCH_ROOM
        if (found[0], user_id) not in self.members:
            return Refusal.NOT_MEMBER
        return None


class RoomStatements:
    """The writer's work for `say` and `read`; see the module docstring for the numbering."""

    def __init__(self) -> None:
        self._rows_added = 0  # to `room_messages`, since take_rows_added()

    def take_rows_added(self) -> int:
        """Messages stored since the last call: the writer's full-text merging follows them
        (service/store/index_merges.py)."""
        rows, self._rows_added = self._rows_added, 0
        return rows

    def write_all(
        self, c: Connection, says: Sequence[SayRecord], reads: Sequence[ReadRecord],
        now: datetime, max_chars: int,
    ) -> tuple[list[RoomOutcome], list[RoomOutcome]]:  # fmt: skip
        """Check and store the says, move the read markers: one outcome per request, in order.
        One read of rooms and users serves both (a round often has both)."""
        known = _Known.read(c, says, reads)
        return self._save(c, list(says), known, now, max_chars), self._mark(c, list(reads), known)

    def _save(
        self, c: Connection, says: list[SayRecord], known: _Known, now: datetime, max_chars: int
    ) -> list[RoomOutcome]:
        """chat/1's order: nonce retry, account gone, no_such_room, not_member, too_long."""
        outcomes: list[RoomOutcome] = [None] * len(says)
        by_room: dict[int, list[int]] = {}  # room id -> indexes of the says to store there
        first_use: dict[tuple[int, str], int] = {}  # a nonce repeated inside this batch
        repeats: list[tuple[int, int]] = []  # (index, index of the first use)
        for index, say in enumerate(says):
            key = (say.sender_id, say.nonce) if say.nonce is not None else None
            if key is not None and key in known.nonces:
                seq, at = known.nonces[key]
                outcomes[index] = SavedSay(seq, as_utc(at), True, frozenset())
            elif key is not None and key in first_use:
                repeats.append((index, first_use[key]))
            elif (refusal := known.refusal(say.sender_id, say.room)) is not None:
                outcomes[index] = refusal
            elif len(say.text) > max_chars:
                outcomes[index] = Refusal.TOO_LONG
            else:
                if key is not None:
                    first_use[key] = index
                by_room.setdefault(known.rooms[say.room][0], []).append(index)
        if by_room:
            self._rows_added += self._insert(c, says, by_room, known, now, outcomes)
        for index, first in repeats:
            original = outcomes[first]
            if isinstance(original, SavedSay):
                original = SavedSay(original.seq, original.sent_at, True, frozenset())
            outcomes[index] = original
        return outcomes

    @staticmethod
    def _insert(
        c: Connection, says: list[SayRecord], by_room: dict[int, list[int]], known: _Known,
        now: datetime, outcomes: list[RoomOutcome],
    ) -> int:  # fmt: skip
        """Stores the says `by_room` names, filling in their outcomes; how many it stored."""
        at = naive_utc(now)
        messages: list[tuple[int, int, str, str]] = []
        nonces: list[dict[str, Any]] = []
        last_by_id = {entry[0]: entry for entry in known.rooms.values()}
        for room_id, indexes in by_room.items():
            last = c.execute(_NEXT_SEQS, {"b_room_id": room_id, "b_count": len(indexes)})
            newest = last.scalar_one_or_none()
            if newest is None:  # deleted by an operator since we looked (PostgreSQL)
                for index in indexes:
                    outcomes[index] = Refusal.NO_SUCH_ROOM
                continue
            last_by_id[room_id][1] = newest
            for seq, index in enumerate(indexes, start=newest - len(indexes) + 1):
                say = says[index]
                messages.append((room_id, seq, say.sender, say.text))
                if say.nonce is not None:
                    nonces.append({"sender_id": say.sender_id, "nonce": say.nonce,
                                   "room_id": room_id, "seq": seq, "created_at": at})  # fmt: skip
                blockers = known.blockers.get(say.sender_id, frozenset())
                outcomes[index] = SavedSay(seq, now, False, blockers)
        if messages:
            _insert_messages(c, messages, at)
        if nonces:
            c.execute(_INSERT_NONCE, nonces)
        return len(messages)

    @staticmethod
    def _mark(c: Connection, reads: list[ReadRecord], known: _Known) -> list[RoomOutcome]:
        """Each member's marker moves to the highest seq its batch's reads name (never back,
        never past the room's last message); the read that moved it says to where."""
        outcomes: list[RoomOutcome] = []
        best: dict[tuple[int, int], int] = {}
        mover: dict[tuple[int, int], int] = {}  # the index of the read that named the best
        for index, read in enumerate(reads):
            refusal = known.refusal(read.user_id, read.room)
            outcomes.append(refusal)
            if refusal is None:
                room_id, last_seq = known.rooms[read.room]
                key = (room_id, read.user_id)
                seq = min(read.seq, last_seq)
                if seq > best.get(key, 0):
                    best[key], mover[key] = seq, index
        for key, seq in best.items():
            if seq > known.members[key]:
                outcomes[mover[key]] = seq
                known.members[key] = seq
        rows = [
            {"b_room_id": room_id, "b_user_id": user_id, "b_seq": seq}
            for (room_id, user_id), seq in best.items()
            if seq > 0
        ]
        if rows:
            c.execute(_MOVE_MARKER, rows)
        return outcomes
