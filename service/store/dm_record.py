"""The record of direct messages (feature `dm_history`): a conversation read backwards, the
list of conversations, and the operator's retention rule.

A repository of the store: see service/store/base.py for what every call promises. Messages
are kept after their `ack` (which takes them out of `backlog`); service/store/message_statements.py
writes them, and a trigger (revision 0006) adds the `conversations` summary's rows on the same
statement; service/store/conversation_summary.py reads the newest message per partner, and
service/store/conversation_index.py finds a conversation's messages on each database.

Whose record a message is in: a user's, by id, on either side. When an account is deleted
its id becomes NULL in the messages and its name stays, so the other user still finds them
under that name, and a new account of the same name (or, on SQLite, the same id) finds none.
A user's record with a partner NAME is therefore the messages with the account NAME has now
(by id) and those with deleted accounts that had the name (a NULL id and the name); the
conversations summary is keyed by the name too, so the two agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.orm import Session

from service.store import conversation_index
from service.store.base import Database
from service.store.conversation_summary import newest_partners, remember_newest
from service.store.messages import StoredMessage, shown
from service.store.models import BacklogEntry, Conversation, Message
from service.store.outcomes import Refusal
from service.store.users import user_id
from service.wire.timeutil import as_utc


@dataclass(frozen=True, slots=True)
class ConversationEntry:
    partner: str  # the other user's name (an account's, or a deleted account's)
    last_msg_id: int  # the newest message between the two
    last_at: datetime
    unread: int  # messages from `partner` to the user not acknowledged yet


class DmRecord:
    def __init__(self, db: Database) -> None:
        self._db = db

    def history(
        self, user: str, partner: str, before: int | None, limit: int
    ) -> list[StoredMessage] | Refusal:
        """Up to `limit` messages between `user` and `partner`, both directions, with msg_id
        < `before` (the newest when None), oldest first. Refusals in chat/1's order: SELF,
        NO_SUCH_USER (no account named `partner` and nothing with that name in the record).

        A few ranges of the conversation index (service/store/conversation_index.py), each read
        backwards and cut at the limit, merged: the cost is the page's, however long the
        conversation."""

        def query(s: Session) -> list[StoredMessage] | Refusal:
            me = user_id(s, user)
            if me is None:  # deleted meanwhile: the session ends on its next request
                return Refusal.ACCOUNT_GONE
            other = user_id(s, partner)
            if other == me:
                return Refusal.SELF
            if other is None and not _in_record(s, me, partner):
                return Refusal.NO_SUCH_USER
            dialect = s.get_bind().dialect.name
            rows = s.execute(conversation_index.history(dialect, me, other, partner, before, limit))
            return [
                StoredMessage(row.id, row.sender, row.recipient, row.text, as_utc(row.sent_at))
                for row in reversed(list(rows))
            ]

        return self._db.read(query)

    def conversations(self, user: str, limit: int) -> list[ConversationEntry]:
        """`user`'s partners, the newest conversation first, at most `limit`, each with its
        unread count: the user's rows of the summary (its primary key; as many as the user
        has partners) with the newest message of each read from the conversation index, and
        the user's backlog (its index on recipient_id) counted by sender."""

        def query(s: Session) -> list[ConversationEntry]:
            me = user_id(s, user)
            if me is None:
                return []
            listed = newest_partners(s, me, limit)
            unread = dict(
                s.execute(
                    select(Message.sender, func.count())
                    .select_from(BacklogEntry)
                    .join(Message, Message.id == BacklogEntry.msg_id)
                    .where(BacklogEntry.recipient_id == me)
                    .group_by(Message.sender)
                ).all()
            )
            return [
                ConversationEntry(p, last_id, as_utc(at), int(unread.get(p, 0)))
                for p, last_id, at in listed
            ]

        return self._db.read(query)

    def purgeable(self, before: datetime) -> int:
        """How many messages `purge` would remove now (the operator's confirmation)."""
        return self._db.read(lambda s: s.scalar(select(func.count()).where(*_purged(before))) or 0)

    def purge(self, before: datetime) -> int:
        """Remove acknowledged messages sent before `before` from the record; unacknowledged
        ones stay, whatever their age (chat/1: a message is stored until it is acked). The
        conversations summary keeps its rows: a partner stays listed, with the newest message
        ever exchanged, even when that message is gone (docs/PROTOCOL.md, choices): written
        into it here, before the messages go."""

        def job(s: Session) -> int:
            remember_newest(s, as_utc(before).replace(tzinfo=None))
            # CursorResult; Session.execute's declared Result has no rowcount
            result = s.execute(delete(Message).where(*_purged(before)))
            return int(result.rowcount)  # type: ignore[attr-defined]

        return self._db.write(job)


def _purged(before: datetime) -> tuple[ColumnElement[bool], ...]:
    return (Message.sent_at < as_utc(before).replace(tzinfo=None), shown())


def _in_record(s: Session, me: int, partner: str) -> bool:
    """Whether `me` ever exchanged a message with someone named `partner` (the summary's key)."""
    found = s.scalar(
        select(Conversation.user_id).where(
            Conversation.user_id == me, Conversation.partner == partner
        )
    )
    return found is not None
