"""The `conversations` summary read (feature `dm_history`): who a user exchanged messages with
is a row of `conversations` (kept by a trigger, revision 0006); the newest message with each is
read here, when asked, from the conversation index (service/store/conversation_index.py).

Why it is not kept per message: see `Conversation` in service/store/models.py (measured). A
partner name is the ranges of the index that `dm_history` reads (its account, and deleted
accounts of that name), each read backwards and cut at one message. A purge writes
the newest message into the row before removing messages (`remember_newest`), and the newer
of the two is the answer, so a purge never shortens the list nor moves a partner back.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, select, update
from sqlalchemy.orm import Session

from service.store import conversation_index
from service.store.messages import shown
from service.store.models import Conversation, Message, User

_CHUNK = 500  # ids per IN (...): well under SQLite's limit on bound parameters


def _summary(s: Session, *where: ColumnElement[bool], deleted: bool = True) -> Any:
    """Each summary row, with what a purge stored and the newest id of each range of its
    conversation (correlated subqueries: a seek or a short walk of the conversation index per
    row, so the cost is the rows', not the messages'). `deleted`: conversation_index.newest's."""
    newest = conversation_index.newest(
        s.get_bind().dialect.name, Conversation.user_id, User.id, Conversation.partner,
        deleted=deleted,
    )  # fmt: skip
    return (
        select(
            Conversation.user_id,
            Conversation.partner,
            Conversation.last_msg_id,
            Conversation.last_at,
            *newest,
        )
        .select_from(Conversation)
        .outerjoin(User, User.name == Conversation.partner)
        .where(*where)
    )


def _live(row: Row[Any]) -> int | None:
    """The newest msg_id still in `messages` for the row, or None."""
    found: tuple[int | None, ...] = tuple(row)[4:]
    ids = [msg_id for msg_id in found if msg_id is not None]
    return max(ids, default=None)


def _sent_at(s: Session, ids: Sequence[int]) -> dict[int, tuple[datetime, bool]]:
    found: dict[int, tuple[datetime, bool]] = {}
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        query = select(Message.id, Message.sent_at, shown()).where(Message.id.in_(chunk))
        found.update({i: (at, shown) for i, at, shown in s.execute(query)})
    return found


def newest_partners(s: Session, me: int, limit: int) -> list[tuple[str, int, datetime]]:
    """`me`'s partners as (name, newest msg_id, its sent_at), the newest first, at most `limit`:
    every row of the user's summary (its primary key), sorted here, then `sent_at` of the
    `limit` kept read by id."""
    newest: list[tuple[int, str, datetime | None]] = []
    deleted = conversation_index.with_deleted_accounts(s, me)
    for row in s.execute(_summary(s, Conversation.user_id == me, deleted=deleted)):
        live, stored = _live(row), row.last_msg_id
        if stored is not None and (live is None or stored >= live):
            newest.append((stored, row.partner, row.last_at))
        elif live is not None:
            newest.append((live, row.partner, None))
    newest.sort(key=lambda entry: entry[0], reverse=True)
    kept = newest[:limit]
    sent = _sent_at(s, [msg_id for msg_id, _, at in kept if at is None])
    return [
        (partner, msg_id, at if at is not None else sent[msg_id][0])
        for msg_id, partner, at in kept
        if at is not None or msg_id in sent
    ]


def remember_newest(s: Session, purged_before: datetime) -> None:
    """Before a purge: every summary row whose newest message the purge removes (acknowledged,
    sent before `purged_before`) gets it written down. It reads every summary row (a seek or
    four each): a rare operator command, never on the hot path."""
    live: dict[tuple[int, str], int] = {}
    for row in s.execute(_summary(s)):
        newest = _live(row)
        if newest is not None and (row.last_msg_id is None or newest > row.last_msg_id):
            live[(row.user_id, row.partner)] = newest
    sent = _sent_at(s, sorted(set(live.values())))
    changes = [
        {"user_id": user, "partner": partner, "last_msg_id": msg_id, "last_at": sent[msg_id][0]}
        for (user, partner), msg_id in live.items()
        if msg_id in sent and sent[msg_id][1] and sent[msg_id][0] < purged_before
    ]
    if changes:
        s.execute(update(Conversation), changes)
