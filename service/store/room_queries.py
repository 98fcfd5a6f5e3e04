"""Rooms in the store: membership, history, the snapshot at login, the operator's listings.

Part of the store (see service/store/base.py): each method one short transaction, plain
results, UTC times; refusals come back as a Refusal, never as a protocol error. What the
writer runs for `say` and `read` inside the group commit is in service/store/room_statements.py.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import bindparam, delete, exists, func, select
from sqlalchemy.orm import Session

from service.store.base import StoreBase, naive_utc
from service.store.models import Room, RoomMember, RoomMessage, RoomNonce, User
from service.store.outcomes import CreationLimited, Refusal
from service.store.room_statements import ReadRecord, RoomStatements, SavedSay, SayRecord
from service.wire.paging import by_name
from service.wire.rooms import (
    ROOM_CREATION_WINDOW,
    catch_up_count,
    creation_wait_s,
    has_room_for_another,
    is_valid_room_name,
    unread_count,
)
from service.wire.timeutil import as_utc

ROOM_NONCE_KEEP = timedelta(hours=25)  # chat/1 precise point 11 asks for at least 24 h
_NO_SAYS = datetime.min.replace(tzinfo=UTC)  # the `now` of a batch without says: unused


# --- what handlers and the operator get --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Joined:
    created: bool  # the room did not exist: this join made it
    members: int  # after the join, the joiner included
    already: bool  # the user was a member before: nothing changed


@dataclass(frozen=True, slots=True)
class RoomEntry:
    """One line of the `rooms` reply."""

    room: str
    members: int
    joined: bool


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


@dataclass(frozen=True, slots=True)
class RoomSummary:
    """A room as the operator sees it."""

    name: str
    created_at: datetime
    creator: str
    members: int
    messages: int
    last_activity: datetime  # the newest message, join or the creation


_USER_ID = select(User.id).where(User.name == bindparam("name")).scalar_subquery()


def _room(s: Session, name: str) -> Room | None:
    if not is_valid_room_name(name):
        return None
    return s.scalars(select(Room).where(Room.name == name)).one_or_none()


def _user_id(s: Session, name: str) -> int | None:
    return s.scalar(select(User.id).where(User.name == name))


def _creations(s: Session, user: str, now: datetime, limit: int) -> list[datetime]:
    """`user`'s newest `limit` room creations within the window before `now` (by the index on
    (creator, created_at))."""
    since = naive_utc(now - ROOM_CREATION_WINDOW)
    rows = s.scalars(
        select(Room.created_at)
        .where(Room.creator == user, Room.created_at > since)
        .order_by(Room.created_at.desc())
        .limit(limit)
    )
    return [as_utc(at) for at in rows]


def _member_count(s: Session, room_id: int) -> int:
    return s.scalar(select(func.count()).where(RoomMember.room_id == room_id)) or 0


def _is_member(s: Session, room_id: int, user_id: int) -> bool:
    return s.get(RoomMember, (room_id, user_id)) is not None


def _line(seq: int, sender: str, text: str, sent_at: datetime) -> RoomLine:
    return RoomLine(seq, sender, text, as_utc(sent_at))


class RoomQueries(StoreBase):
    # --- membership ----------------------------------------------------------------------------

    def join_room(
        self, user: str, room: str, now: datetime, then: Callable[[Joined], None] | None = None,
        *, creations_per_hour: int = 0,
    ) -> Joined | Refusal | CreationLimited:  # fmt: skip
        """Join (creating the room if it is new); the marker starts at the room's last seq.
        Refusals: ACCOUNT_GONE, TOO_MANY_ROOMS, then CreationLimited when the room is new and
        `user` created `creations_per_hour` rooms in the last hour (0: no limit; counted from
        the rooms table, so it holds across restarts). `then` runs once committed, in commit
        order (the hub's index of online members changes there: service/store/writer.py)."""
        assert is_valid_room_name(room), room

        def job(s: Session) -> Joined | Refusal | CreationLimited:
            user_id = _user_id(s, user)
            if user_id is None:
                return Refusal.ACCOUNT_GONE
            found = _room(s, room)
            if found is not None and _is_member(s, found.id, user_id):
                return Joined(False, _member_count(s, found.id), already=True)
            joined = s.scalar(select(func.count()).where(RoomMember.user_id == user_id)) or 0
            if not has_room_for_another(joined):
                return Refusal.TOO_MANY_ROOMS
            created = found is None
            if found is None and creations_per_hour > 0:
                wait_s = creation_wait_s(_creations(s, user, now, creations_per_hour),
                                         creations_per_hour, now)  # fmt: skip
                if wait_s is not None:
                    return CreationLimited(creations_per_hour, wait_s)
            if found is None:
                found = Room(name=room, created_at=naive_utc(now), creator=user, last_seq=0)
                s.add(found)
                s.flush()
            s.add(RoomMember(room_id=found.id, user_id=user_id, read_seq=found.last_seq,
                             joined_at=naive_utc(now)))  # fmt: skip
            s.flush()
            return Joined(created, _member_count(s, found.id), already=False)

        def joined(result: Joined | Refusal | CreationLimited) -> None:
            if isinstance(result, Joined) and not result.already and then is not None:
                then(result)

        return self.write(job, joined)

    def leave_room(
        self, user: str, room: str, then: Callable[[], None] | None = None
    ) -> Refusal | None:
        """Refusals in chat/1's order: NO_SUCH_ROOM (malformed names too), NOT_MEMBER."""

        def job(s: Session) -> Refusal | None:
            found = _room(s, room)
            if found is None:
                return Refusal.NO_SUCH_ROOM
            user_id = _user_id(s, user)
            if user_id is None or not _is_member(s, found.id, user_id):
                return Refusal.NOT_MEMBER
            s.execute(
                delete(RoomMember).where(
                    RoomMember.room_id == found.id, RoomMember.user_id == user_id
                )
            )
            return None

        def left(result: Refusal | None) -> None:
            if result is None and then is not None:
                then()

        return self.write(job, left)

    def rooms_of(self, user: str) -> list[str]:
        """The rooms `user` is a member of, by name."""
        statement = (
            select(Room.name)
            .join(RoomMember, RoomMember.room_id == Room.id)
            .where(RoomMember.user_id == _USER_ID)
            .order_by(Room.name)
        )
        return self.read(lambda s: list(s.scalars(statement, {"name": user})))

    def members_of(self, room: str) -> list[str] | None:
        """The members of `room`, sorted bytewise (chat/1's order, whatever the database's
        collation); None when there is no such room."""

        def query(s: Session) -> list[str] | None:
            found = _room(s, room)
            if found is None:
                return None
            names = s.scalars(
                select(User.name)
                .join(RoomMember, RoomMember.user_id == User.id)
                .where(RoomMember.room_id == found.id)
            )
            return by_name(names)

        return self.read(query)

    def room_list(self, user: str) -> list[RoomEntry]:
        """Every room, with its member count and whether `user` is in it; in the database's
        order of names (its collation: the `rooms` handler sorts bytewise)."""
        counts = (
            select(RoomMember.room_id, func.count().label("n"))
            .group_by(RoomMember.room_id)
            .subquery()
        )
        mine = select(RoomMember.room_id).where(RoomMember.user_id == _USER_ID).subquery()
        statement = (
            select(Room.name, counts.c.n, mine.c.room_id)
            .outerjoin(counts, counts.c.room_id == Room.id)
            .outerjoin(mine, mine.c.room_id == Room.id)
            .order_by(Room.name)
        )
        rows = self.read(lambda s: list(s.execute(statement, {"name": user})))
        return [RoomEntry(name, n or 0, joined is not None) for name, n, joined in rows]

    # --- messages ------------------------------------------------------------------------------

    def say(
        self, user: str, room: str, text: str, nonce: str | None, now: datetime, *,
        max_chars: int,
    ) -> SavedSay | Refusal:  # fmt: skip
        """One `say` through the server's batch path (tests, tools): committed on return."""

        def job(s: Session) -> SavedSay | Refusal:
            say = SayRecord(_user_id(s, user) or 0, user, room, text, nonce)
            [outcome], _ = RoomStatements().write_all(s.connection(), [say], [], now, max_chars)
            assert isinstance(outcome, SavedSay | Refusal), outcome
            return outcome

        return self.write(job)

    def mark_read(self, user: str, room: str, seq: int) -> Refusal | None:
        """One `read` through the server's batch path (tests, tools)."""

        def job(s: Session) -> Refusal | None:
            read = ReadRecord(_user_id(s, user) or 0, room, seq)
            _, [outcome] = RoomStatements().write_all(s.connection(), [], [read], _NO_SAYS, 0)
            assert outcome is None or isinstance(outcome, Refusal), outcome
            return outcome

        return self.write(job)

    def history(
        self, user: str, room: str, before: int | None, limit: int
    ) -> list[RoomLine] | Refusal:
        """Up to `limit` messages with seq < `before` (the newest when None), oldest first.
        Refusals in chat/1's order: NO_SUCH_ROOM (malformed names too), NOT_MEMBER."""

        def query(s: Session) -> list[RoomLine] | Refusal:
            found = _room(s, room)
            if found is None:
                return Refusal.NO_SUCH_ROOM
            user_id = _user_id(s, user)
            if user_id is None or not _is_member(s, found.id, user_id):
                return Refusal.NOT_MEMBER
            statement = select(
                RoomMessage.seq, RoomMessage.sender, RoomMessage.text, RoomMessage.sent_at
            ).where(RoomMessage.room_id == found.id)
            if before is not None:
                statement = statement.where(RoomMessage.seq < before)
            rows = s.execute(statement.order_by(RoomMessage.seq.desc()).limit(limit))
            return [_line(*row) for row in reversed(list(rows))]

        return self.read(query)

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
            .where(RoomMember.user_id == _USER_ID)
            .order_by(Room.name)
        )
        rows = self.read(lambda s: list(s.execute(statement, {"name": user, "senders": names})))
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
        rows = self.read(lambda s: list(s.execute(statement)))
        return [_line(*row) for row in reversed(rows)]

    # --- the operator's ------------------------------------------------------------------------

    def list_rooms(self, *, empty: bool = False) -> list[RoomSummary]:
        """Every room (only those without members when `empty`) with its counts and last
        activity, sorted by name."""
        statement = _EMPTY_ROOMS if empty else _ALL_ROOMS
        return self.read(lambda s: [_summary(s, room) for room in s.scalars(statement)])

    def delete_empty_rooms(self, names: Collection[str]) -> list[RoomSummary]:
        """Delete those of the rooms `names` (the ones the operator confirmed) that have no
        members now, with their history (ON DELETE CASCADE); one transaction, so a room
        someone joins meanwhile is either kept or deleted whole, and a room that emptied
        after the question is not deleted unseen."""

        def job(s: Session) -> list[RoomSummary]:
            rooms = [room for room in s.scalars(_EMPTY_ROOMS) if room.name in names]
            gone = [_summary(s, room) for room in rooms]
            if rooms:
                s.execute(delete(Room).where(Room.id.in_([room.id for room in rooms])))
            return gone

        return self.write(job)

    def room_summary(self, room: str) -> RoomSummary | None:
        """What deleting `room` would remove, for the operator's confirmation."""

        def query(s: Session) -> RoomSummary | None:
            found = _room(s, room)
            return None if found is None else _summary(s, found)

        return self.read(query)

    def room_history(self, room: str, since: datetime | None) -> list[RoomLine] | None:
        """What was said in `room` (since `since`), oldest first; None when no such room."""

        def query(s: Session) -> list[RoomLine] | None:
            found = _room(s, room)
            if found is None:
                return None
            statement = select(
                RoomMessage.seq, RoomMessage.sender, RoomMessage.text, RoomMessage.sent_at
            ).where(RoomMessage.room_id == found.id)
            if since is not None:
                statement = statement.where(RoomMessage.sent_at >= naive_utc(since))
            return [_line(*row) for row in s.execute(statement.order_by(RoomMessage.seq))]

        return self.read(query)

    def delete_room(self, room: str) -> RoomSummary | None:
        """Delete the room with its memberships and messages (ON DELETE CASCADE)."""

        def job(s: Session) -> RoomSummary | None:
            found = _room(s, room)
            if found is None:
                return None
            gone = _summary(s, found)
            s.execute(delete(Room).where(Room.id == found.id))
            return gone

        return self.write(job)

    def prune_room_nonces(self, now: datetime) -> int:
        def job(s: Session) -> int:
            old = RoomNonce.created_at < naive_utc(now - ROOM_NONCE_KEEP)
            return int(s.execute(delete(RoomNonce).where(old)).rowcount)  # type: ignore[attr-defined]

        return self.write(job)


_ALL_ROOMS = select(Room).order_by(Room.name)
_EMPTY_ROOMS = _ALL_ROOMS.where(~exists().where(RoomMember.room_id == Room.id))


def _summary(s: Session, room: Room) -> RoomSummary:
    newest_message = s.scalar(
        select(RoomMessage.sent_at).where(
            RoomMessage.room_id == room.id, RoomMessage.seq == room.last_seq
        )
    )
    newest_join = s.scalar(
        select(func.max(RoomMember.joined_at)).where(RoomMember.room_id == room.id)
    )
    moments = [m for m in (room.created_at, newest_message, newest_join) if m is not None]
    return RoomSummary(
        name=room.name,
        created_at=as_utc(room.created_at),
        creator=room.creator,
        members=_member_count(s, room.id),
        messages=room.last_seq,  # gap-free and never deleted one by one
        last_activity=as_utc(max(moments)),
    )
