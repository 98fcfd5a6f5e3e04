"""What is said in rooms: one `say` or `read` at a time (tests, tools), a room's history, and
what a login catches up on (each room's unread count and its newest unread messages).

A repository of the store: see service/store/base.py for what every call promises. The
server's own `say` and `read` go through the writer in rounds instead
(service/store/room_statements.py); say and mark_read here run those very statements, so they
answer alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from service.store.base import Database
from service.store.models import Room, RoomMember, RoomMessage
from service.store.outcomes import Refusal
from service.store.room_statements import ReadRecord, RoomStatements, SavedSay, SayRecord
from service.store.rooms import USER_ID, membership
from service.store.users import user_id
from service.wire.rooms import catch_up_count, unread_count
from service.wire.timeutil import as_utc

_NO_SAYS = datetime.min.replace(tzinfo=UTC)  # the `now` of a batch without says: unused


@dataclass(frozen=True, slots=True)
class RoomLine:
    """One message of a room's history."""

    seq: int
    sender: str
    text: str
    sent_at: datetime


@dataclass(frozen=True, slots=True)
class RoomState:
    """One of a user's rooms as a login finds it."""

    room: str
    room_id: int
    last_seq: int  # live messages up to here are duplicates of the catch-up or already read
    marker: int
    unread: int


@dataclass(frozen=True, slots=True)
class RoomsAtLogin:
    rooms: list[RoomState]  # sorted by name
    excluded: frozenset[str]  # senders that do not count as unread: the user and its blocks


class RoomMessages:
    def __init__(self, db: Database) -> None:
        self._db = db

    def say(
        self, user: str, room: str, text: str, nonce: str | None, now: datetime, *,
        max_chars: int,
    ) -> SavedSay | Refusal:  # fmt: skip
        """One `say` through the server's batch path (tests, tools): committed on return."""

        def job(s: Session) -> SavedSay | Refusal:
            say = SayRecord(user_id(s, user) or 0, user, room, text, nonce)
            [outcome], _ = RoomStatements().write_all(s.connection(), [say], [], now, max_chars)
            assert isinstance(outcome, SavedSay | Refusal), outcome
            return outcome

        return self._db.write(job)

    def mark_read(self, user: str, room: str, seq: int) -> Refusal | int | None:
        """One `read` through the server's batch path (tests, tools): the marker it moved to,
        None when it did not move, or the refusal."""

        def job(s: Session) -> Refusal | int | None:
            read = ReadRecord(user_id(s, user) or 0, room, seq)
            _, [outcome] = RoomStatements().write_all(s.connection(), [], [read], _NO_SAYS, 0)
            assert not isinstance(outcome, SavedSay), outcome
            return outcome

        return self._db.write(job)

    def history(
        self, user: str, room: str, before: int | None, limit: int
    ) -> list[RoomLine] | Refusal:
        """Up to `limit` messages with seq < `before` (the newest when None), oldest first.
        Refusals in chat/1's order: NO_SUCH_ROOM (malformed names too), NOT_MEMBER."""

        def query(s: Session) -> list[RoomLine] | Refusal:
            found = membership(s, room, user)
            if isinstance(found, Refusal):
                return found
            statement = select(
                RoomMessage.seq, RoomMessage.sender, RoomMessage.text, RoomMessage.sent_at
            ).where(RoomMessage.room_id == found[0])
            if before is not None:
                statement = statement.where(RoomMessage.seq < before)
            rows = s.execute(statement.order_by(RoomMessage.seq.desc()).limit(limit))
            return [room_line(*row) for row in reversed(list(rows))]

        return self._db.read(query)

    # --- catching up at login ------------------------------------------------------------------

    def rooms_at_login(self, user: str, excluded: frozenset[str]) -> RoomsAtLogin:
        """`user`'s rooms, sorted by name, each with its unread count: messages above the
        marker, not counting those sent by `excluded` (the user and the users it blocks).

        One statement, so it is one snapshot on PostgreSQL too: the last seq and the
        messages counted agree."""
        names = sorted(excluded) or [""]
        excluded_count = (
            select(func.count())
            .where(
                RoomMessage.room_id == Room.id,
                RoomMessage.sender.in_(bindparam("senders", expanding=True)),
                RoomMessage.seq > RoomMember.read_seq,
                RoomMessage.seq <= Room.last_seq,
            )
            .scalar_subquery()
        )
        statement = (
            select(Room.id, Room.name, Room.last_seq, RoomMember.read_seq, excluded_count)
            .join(RoomMember, RoomMember.room_id == Room.id)
            .where(RoomMember.user_id == USER_ID)
            .order_by(Room.name)
        )
        params = {"name": user, "senders": names}
        rows = self._db.read(lambda s: list(s.execute(statement, params)))
        rooms = [
            RoomState(name, room_id, last, marker, unread_count(last, marker, skipped))
            for room_id, name, last, marker, skipped in rows
        ]
        return RoomsAtLogin(rooms, excluded)

    def catch_up(self, state: RoomState, excluded: frozenset[str]) -> list[RoomLine]:
        """The newest min(unread, 50) unread messages of a room as the login found it (none
        above its last seq: those come live), oldest first."""
        count = catch_up_count(state.unread)
        if count == 0:
            return []
        statement = (
            select(RoomMessage.seq, RoomMessage.sender, RoomMessage.text, RoomMessage.sent_at)
            .where(
                RoomMessage.room_id == state.room_id,
                RoomMessage.seq > state.marker,
                RoomMessage.seq <= state.last_seq,
                RoomMessage.sender.not_in(sorted(excluded) or [""]),
            )
            .order_by(RoomMessage.seq.desc())
            .limit(count)
        )
        rows = self._db.read(lambda s: list(s.execute(statement)))
        return [room_line(*row) for row in reversed(rows)]


def room_line(seq: int, sender: str, text: str, sent_at: datetime) -> RoomLine:
    return RoomLine(seq, sender, text, as_utc(sent_at))
