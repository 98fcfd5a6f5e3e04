"""The operator's view of rooms (chat-admin rooms): listing them, a room's history, deleting.

A repository of the store: see service/store/base.py for what every call promises. What users
do in rooms is Rooms' and RoomMessages'; the operator's rules and wording stay in
service/admin/rooms.py, which calls these. A room that does not exist comes back as None.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, exists, func, select
from sqlalchemy.orm import Session

from service.store.base import Database, naive_utc
from service.store.models import Room, RoomMember, RoomMessage
from service.store.room_messages import RoomLine, room_line
from service.store.rooms import find_room, member_count
from service.wire.timeutil import as_utc


@dataclass(frozen=True, slots=True)
class RoomSummary:
    """A room as the operator sees it."""

    name: str
    created_at: datetime
    creator: str
    members: int
    messages: int
    last_activity: datetime  # the newest message, join or the creation


_ALL_ROOMS = select(Room).order_by(Room.name)
_EMPTY_ROOMS = _ALL_ROOMS.where(~exists().where(RoomMember.room_id == Room.id))


class OperatorRooms:
    def __init__(self, db: Database) -> None:
        self._db = db

    def list_rooms(self, *, empty: bool = False) -> list[RoomSummary]:
        """Every room (only those without members when `empty`) with its counts and last
        activity, sorted by name."""
        statement = _EMPTY_ROOMS if empty else _ALL_ROOMS
        return self._db.read(lambda s: [_summary(s, room) for room in s.scalars(statement)])

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

        return self._db.write(job)

    def room_summary(self, room: str) -> RoomSummary | None:
        """What deleting `room` would remove, for the operator's confirmation."""

        def query(s: Session) -> RoomSummary | None:
            found = find_room(s, room)
            return None if found is None else _summary(s, found)

        return self._db.read(query)

    def room_history(self, room: str, since: datetime | None) -> list[RoomLine] | None:
        """What was said in `room` (since `since`), oldest first; None when no such room."""

        def query(s: Session) -> list[RoomLine] | None:
            found = find_room(s, room)
            if found is None:
                return None
            statement = select(
                RoomMessage.seq, RoomMessage.sender, RoomMessage.text, RoomMessage.sent_at
            ).where(RoomMessage.room_id == found.id)
            if since is not None:
                statement = statement.where(RoomMessage.sent_at >= naive_utc(since))
            return [room_line(*row) for row in s.execute(statement.order_by(RoomMessage.seq))]

        return self._db.read(query)

    def delete_room(self, room: str) -> RoomSummary | None:
        """Delete the room with its memberships and messages (ON DELETE CASCADE)."""

        def job(s: Session) -> RoomSummary | None:
            found = find_room(s, room)
            if found is None:
                return None
            gone = _summary(s, found)
            s.execute(delete(Room).where(Room.id == found.id))
            return gone

        return self._db.write(job)


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
        members=member_count(s, room.id),
        messages=room.last_seq,  # gap-free and never deleted one by one
        last_activity=as_utc(max(moments)),
    )
