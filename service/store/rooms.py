"""Rooms' membership: joining (and creating), leaving, who is in which room, the `rooms` list.

A repository of the store: see service/store/base.py for what every call promises. What is said
in a room and what a login catches up on is RoomMessages' (service/store/room_messages.py);
the operator's view of rooms is OperatorRooms' (service/store/operator_rooms.py). The rules
(names, limits) are chat/1's, in service/wire/rooms.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.orm import Session

from service.store.base import Database, naive_utc
from service.store.models import Room, RoomMember, User
from service.store.outcomes import CreationLimited, Refusal
from service.store.users import user_id
from service.wire.paging import by_name
from service.wire.rooms import (
    ROOM_CREATION_WINDOW,
    creation_wait_s,
    has_room_for_another,
    is_valid_room_name,
)
from service.wire.timeutil import as_utc


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


# The id of the user named by the parameter `name`, inside a statement.
USER_ID = select(User.id).where(User.name == bindparam("name")).scalar_subquery()


class Rooms:
    def __init__(self, db: Database) -> None:
        self._db = db

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
            uid = user_id(s, user)
            if uid is None:
                return Refusal.ACCOUNT_GONE
            found = find_room(s, room)
            if found is not None and is_member(s, found.id, uid):
                return Joined(False, member_count(s, found.id), already=True)
            joined = s.scalar(select(func.count()).where(RoomMember.user_id == uid)) or 0
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
            s.add(RoomMember(room_id=found.id, user_id=uid, read_seq=found.last_seq,
                             joined_at=naive_utc(now)))  # fmt: skip
            s.flush()
            return Joined(created, member_count(s, found.id), already=False)

        def joined(result: Joined | Refusal | CreationLimited) -> None:
            if isinstance(result, Joined) and not result.already and then is not None:
                then(result)

        return self._db.write(job, joined)

    def leave_room(
        self, user: str, room: str, then: Callable[[], None] | None = None
    ) -> Refusal | None:
        """Refusals in chat/1's order: NO_SUCH_ROOM (malformed names too), NOT_MEMBER."""

        def job(s: Session) -> Refusal | None:
            found = membership(s, room, user)
            if isinstance(found, Refusal):
                return found
            room_id, uid = found
            s.execute(
                delete(RoomMember).where(RoomMember.room_id == room_id, RoomMember.user_id == uid)
            )
            return None

        def left(result: Refusal | None) -> None:
            if result is None and then is not None:
                then()

        return self._db.write(job, left)

    def rooms_of(self, user: str) -> list[str]:
        """The rooms `user` is a member of, by name."""
        statement = (
            select(Room.name)
            .join(RoomMember, RoomMember.room_id == Room.id)
            .where(RoomMember.user_id == USER_ID)
            .order_by(Room.name)
        )
        return self._db.read(lambda s: list(s.scalars(statement, {"name": user})))

    def members_of(self, room: str) -> list[str] | None:
        """The members of `room`, sorted bytewise (chat/1's order, whatever the database's
        collation); None when there is no such room."""

        def query(s: Session) -> list[str] | None:
            found = find_room(s, room)
            if found is None:
                return None
            names = s.scalars(
                select(User.name)
                .join(RoomMember, RoomMember.user_id == User.id)
                .where(RoomMember.room_id == found.id)
            )
            return by_name(names)

        return self._db.read(query)

    def room_list(self, user: str) -> list[RoomEntry]:
        """Every room, with its member count and whether `user` is in it; in the database's
        order of names (its collation: the `rooms` handler sorts bytewise)."""
        counts = (
            select(RoomMember.room_id, func.count().label("n"))
            .group_by(RoomMember.room_id)
            .subquery()
        )
        mine = select(RoomMember.room_id).where(RoomMember.user_id == USER_ID).subquery()
        statement = (
            select(Room.name, counts.c.n, mine.c.room_id)
            .outerjoin(counts, counts.c.room_id == Room.id)
            .outerjoin(mine, mine.c.room_id == Room.id)
            .order_by(Room.name)
        )
        rows = self._db.read(lambda s: list(s.execute(statement, {"name": user})))
        return [RoomEntry(name, n or 0, joined is not None) for name, n, joined in rows]


# --- the rows of rooms, for the other rooms' repositories ---------------------------------------


def find_room(s: Session, name: str) -> Room | None:
    if not is_valid_room_name(name):
        return None
    return s.scalars(select(Room).where(Room.name == name)).one_or_none()


def membership(s: Session, room: str, user: str) -> tuple[int, int] | Refusal:
    """(room id, user id) of `user` in `room`, or the refusal in chat/1's order:
    NO_SUCH_ROOM (malformed names too), then NOT_MEMBER."""
    found = find_room(s, room)
    if found is None:
        return Refusal.NO_SUCH_ROOM
    uid = user_id(s, user)
    if uid is None or not is_member(s, found.id, uid):
        return Refusal.NOT_MEMBER
    return found.id, uid


def member_count(s: Session, room_id: int) -> int:
    return s.scalar(select(func.count()).where(RoomMember.room_id == room_id)) or 0


def is_member(s: Session, room_id: int, uid: int) -> bool:
    return s.get(RoomMember, (room_id, uid)) is not None


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
