"""Direct messages at rest: the backlog a login delivers (the unacknowledged ones), and one
message or ack at a time through the server's batch path (tests, tools).

A repository of the store: see service/store/base.py for what every call promises. The
server's own `message` and `ack` go through the writer in rounds instead
(service/store/message_statements.py); save_message and acknowledge run those very statements,
so they answer alike.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, ScalarSelect, exists, func, select
from sqlalchemy.orm import Session

from service.store.base import Database
from service.store.message_record import MessageRecord
from service.store.message_statements import MessageStatements, Outcome
from service.store.models import BacklogEntry, Message, User
from service.store.users import user_id
from service.wire.timeutil import as_utc


def shown() -> ColumnElement[bool]:
    """Whether a row of `messages` was shown to its recipient: it has left the backlog (an
    `ack` took its row out; revision 0013)."""
    return ~exists().where(BacklogEntry.msg_id == Message.id)


def _user_id(name: str) -> ScalarSelect[int]:
    """The account's id, as a value the backlog's index is searched with."""
    return select(User.id).where(User.name == name).scalar_subquery()


@dataclass(frozen=True, slots=True)
class StoredMessage:
    msg_id: int
    sender: str
    recipient: str
    text: str
    sent_at: datetime


@dataclass(frozen=True, slots=True)
class Backlog:
    count: int  # stored messages waiting, as of the snapshot
    last_id: int  # the newest of them (0 if none): later ones are delivered live


class Messages:
    def __init__(self, db: Database) -> None:
        self._db = db

    def backlog_snapshot(self, recipient: str) -> Backlog:
        """How many messages wait for `recipient` and the newest one's id, read at once.

        Called after the recipient is online: anything committed later is delivered live, so
        the backlog is exactly the messages up to `last_id`.
        """

        def query(s: Session) -> Backlog:
            row = s.execute(
                select(func.count(BacklogEntry.msg_id), func.max(BacklogEntry.msg_id)).where(
                    BacklogEntry.recipient_id == _user_id(recipient)
                )
            ).one()
            return Backlog(int(row[0]), int(row[1] or 0))

        return self._db.read(query)

    def iter_backlog(self, recipient: str, backlog: Backlog) -> Iterator[StoredMessage]:
        """The messages of a snapshot, fetched a page at a time so memory stays bounded."""
        after_id = 0
        while page := self.pending_messages(recipient, after_id=after_id, up_to_id=backlog.last_id):
            yield from page
            after_id = page[-1].msg_id

    def pending_messages(
        self, recipient: str, *, after_id: int = 0, up_to_id: int | None = None, limit: int = 500
    ) -> list[StoredMessage]:
        """Stored, unacknowledged messages for `recipient`, oldest first, one page of them."""

        def query(s: Session) -> list[StoredMessage]:
            # The backlog drives, its index in order, the user's id a value to seek it with:
            # joined through `users` first, PostgreSQL (without statistics on a table just
            # filled) sorted every remaining entry of a 50,000-message backlog for each page
            # of 500 (35-50 ms a page, measured); this way a page reads `limit` entries.
            statement = (
                select(Message.id, Message.sender, Message.text, Message.sent_at)
                .select_from(BacklogEntry)
                .join(Message, Message.id == BacklogEntry.msg_id)
                .where(BacklogEntry.recipient_id == _user_id(recipient))
                .where(BacklogEntry.msg_id > after_id)
                .order_by(BacklogEntry.msg_id)
                .limit(limit)
            )
            if up_to_id is not None:
                statement = statement.where(BacklogEntry.msg_id <= up_to_id)
            return [
                StoredMessage(row.id, row.sender, recipient, row.text, as_utc(row.sent_at))
                for row in s.execute(statement)
            ]

        return self._db.read(query)

    def save_message(
        self, sender: str, recipient: str, text: str, nonce: str | None, now: datetime, *,
        max_chars: int,
    ) -> Outcome:  # fmt: skip
        """One message through the server's batch path (tests, tools): committed when this
        returns, unless refused."""

        def job(s: Session) -> Outcome:
            connection = s.connection()
            record = MessageRecord(user_id(s, sender) or 0, sender, recipient, text, nonce)
            statements = MessageStatements(connection.dialect)
            [outcome] = statements.save_all(connection, [record], now, max_chars)
            return outcome

        return self._db.write(job)

    def acknowledge(self, recipient: str, msg_id: int) -> None:
        """Mark a delivered message shown (tests, tools): it leaves the backlog and stays in
        the record; only its recipient can."""

        def job(s: Session) -> None:
            connection = s.connection()
            recipient_id = user_id(s, recipient) or 0
            MessageStatements(connection.dialect).ack_all(connection, [(msg_id, recipient_id)])

        self._db.write(job)
