"""Search (chat/1 "Search", feature `search`): the messages a user may see that hold every word
of a query, newest first.

A repository of the store: see service/store/base.py for what every call promises. What a
user may see: the rooms it is a member of now (their whole history) and its own record of
direct messages, sent or received. The indexes are migration 0007's, kept by the database;
the statements for each dialect are in service/store/search_statements.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.store.base import Database
from service.store.models import Conversation, Room, RoomMember
from service.store.outcomes import Refusal
from service.store.rooms import membership
from service.store.search_statements import DmRow, RoomRow, statements_for
from service.store.users import user_id
from service.wire.timeutil import as_utc


@dataclass(frozen=True, slots=True)
class RoomHit:
    room: str
    seq: int
    sender: str
    text: str
    sent_at: datetime

    @property
    def newest_first(self) -> tuple[datetime, int, int, int]:
        """Sort key, descending: newest first; ties by room id and seq (see DmHit)."""
        return (self.sent_at, 0, 0, self.seq)


@dataclass(frozen=True, slots=True)
class DmHit:
    partner: str  # the other user of the conversation: chat/1 `with`
    msg_id: int
    sender: str
    recipient: str
    text: str
    sent_at: datetime

    @property
    def newest_first(self) -> tuple[datetime, int, int, int]:
        """Sort key, descending: newest first; at the same time a direct message before room
        messages, then the higher msg_id."""
        return (self.sent_at, 1, self.msg_id, 0)


Hit = RoomHit | DmHit


@dataclass(frozen=True, slots=True)
class _Scope:
    user_id: int
    rooms: dict[int, str]  # room id -> name: the rooms searched
    dms: bool  # the user's record of direct messages is searched
    partner: str | None  # only the conversation with this name (as `dm_history` reads it)


class Search:
    def __init__(self, db: Database) -> None:
        self._db = db

    def find(
        self, user: str, words: Sequence[str], limit: int, *, room: str | None = None,
        partner: str | None = None,
    ) -> list[Hit] | Refusal:  # fmt: skip
        """Up to `limit` of the newest messages `user` may see that match `words` (chat/1's
        rule: service/wire/search.py), newest first; only in `room`, or only with `partner`,
        when named. Refusals first, in chat/1's order, whatever the words: NO_SUCH_ROOM,
        NOT_MEMBER (`room`); NO_SUCH_USER, SELF (`partner`). No words: no hits (the caller
        refuses such a query, after these)."""

        def query(s: Session) -> list[Hit] | Refusal:
            scope = _scope(s, user, room, partner)
            if isinstance(scope, Refusal):
                return scope
            if not words:
                return []
            run = statements_for(s)
            hits: list[Hit] = []
            if scope.rooms:
                rows = run.rooms(s, list(scope.rooms), words, limit)
                hits += [_room_hit(scope.rooms, row) for row in rows]
            if scope.dms:
                rows_dm = run.dms(s, scope.user_id, scope.partner, words, limit)
                hits += [_dm_hit(scope.user_id, row) for row in rows_dm]
            hits.sort(key=_newest_first, reverse=True)
            return hits[:limit]

        return self._db.read(query)


def _newest_first(hit: Hit) -> tuple[datetime, int, int, int]:
    return hit.newest_first


def _scope(s: Session, user: str, room: str | None, partner: str | None) -> _Scope | Refusal:
    if room is not None:
        found = membership(s, room, user)
        if isinstance(found, Refusal):
            return found
        return _Scope(found[1], {found[0]: room}, dms=False, partner=None)
    uid = user_id(s, user)
    if uid is None:  # deleted meanwhile: the session ends on its next request
        return Refusal.ACCOUNT_GONE
    if partner is not None:  # chat/1's order: no_such_user, then self
        if user_id(s, partner) is None and not _in_record(s, uid, partner):
            return Refusal.NO_SUCH_USER
        if partner == user:
            return Refusal.SELF
        return _Scope(uid, {}, dms=True, partner=partner)
    rooms = s.execute(
        select(Room.id, Room.name)
        .join(RoomMember, RoomMember.room_id == Room.id)
        .where(RoomMember.user_id == uid)
    )
    return _Scope(uid, {room_id: name for room_id, name in rooms}, dms=True, partner=None)


def _in_record(s: Session, uid: int, partner: str) -> bool:
    """Whether `uid` ever exchanged a message with someone named `partner` (a deleted account's
    name): the conversations summary's key, as `dm_history` asks (service/store/dm_record.py)."""
    key = (Conversation.user_id == uid, Conversation.partner == partner)
    return s.scalar(select(Conversation.user_id).where(*key)) is not None


def _room_hit(names: dict[int, str], row: RoomRow) -> RoomHit:
    return RoomHit(names[row.room_id], row.seq, row.sender, row.text, as_utc(row.sent_at))


def _dm_hit(uid: int, row: DmRow) -> DmHit:
    partner = row.recipient if row.sender_id == uid else row.sender
    return DmHit(partner, row.msg_id, row.sender, row.recipient, row.text, as_utc(row.sent_at))
