"""Where the messages between two users are, newest first: the conversation index that
`dm_history` and `conversations` read (feature `dm_history`), one kind per database.

A user's conversation with the partner NAME is its messages with the account NAME has now (by
id) and with deleted accounts that had the name (a NULL id, the name kept beside it; see
service/store/dm_record.py). Each database finds both without reading the rest of the record:

- PostgreSQL: the B-tree index (sender_id, recipient_id, id) of revision 0006. Four ranges,
  each read backwards from `before`: me -> them, them -> me, and me -> NULL / NULL -> me
  filtered by the name.
- SQLite: the `pair` column of the full-text index of direct messages (revision 0010 says why:
  a B-tree entry per message dirtied a page per message and commit). `{pair} : "p17x42"` is the
  conversation of users 17 and 42 both ways, walked newest rowid first by FTS5 and cut at the
  limit; `p0x42` is user 42's messages with deleted accounts, filtered by the name.

So the cost is the page's, or the limit's, however long the conversation. A deleted partner's
range holds the messages with every deleted account, read until the name's are found: as many
as those, never the whole record.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    ScalarSelect,
    Select,
    SQLColumnExpression,
    String,
    case,
    column,
    func,
    literal,
    select,
    table,
    union_all,
)
from sqlalchemy.orm import Session

from service.store.models import Message

History = Select[int, str, str, str, datetime]  # id, sender, recipient, text, sent_at

_COLUMNS = (Message.id, Message.sender, Message.recipient, Message.text, Message.sent_at)

# SQLite: the FTS5 table of revision 0010 (not a model: the database's own machinery). Its
# hidden column of the same name takes MATCH.
_FTS = table("messages_fts", column("rowid", Integer), column("messages_fts", String))


def pair_token(user: int | None, other: int | None) -> str:
    """The `pair` token of a message between these two users (either way round; a deleted
    account is None): revision 0010's SQL computes the same in its triggers."""
    low, high = sorted((user or 0, other or 0))
    return f"p{low}x{high}"


def _in_pair(token: str | ColumnElement[str]) -> ColumnElement[bool]:
    """FTS5: the messages whose `pair` is `token` (a word of letters and digits, quoted)."""
    if isinstance(token, str):
        return _FTS.c.messages_fts.match(f'{{pair}} : "{token}"')
    return _FTS.c.messages_fts.match(literal('{pair} : "') + token + '"')


def _other_name() -> ColumnElement[str]:
    """In a message of a user with a deleted account: that account's name."""
    return case((Message.sender_id.is_(None), Message.sender), else_=Message.recipient)


def _is_sqlite(dialect_name: str) -> bool:
    return dialect_name == "sqlite"


# --- dm_history ---------------------------------------------------------------------------------


def history(
    dialect_name: str, me: int, other: int | None, partner: str, before: int | None, limit: int
) -> History:
    """The newest `limit` messages of `me`'s conversation with `partner` (its account `other`,
    None when it has none now) with msg_id < `before`, newest first."""
    newest_first: SQLColumnExpression[int]
    if _is_sqlite(dialect_name):  # the bound goes to FTS5, which seeks to it
        ranges, newest_first = _fts_ranges(me, other, partner), _FTS.c.rowid
    else:
        ranges, newest_first = _btree_ranges(me, other, partner), Message.id
    if before is not None:
        ranges = [statement.where(newest_first < before) for statement in ranges]
    cut = [statement.order_by(newest_first.desc()).limit(limit).subquery() for statement in ranges]
    merged = union_all(*(select(r) for r in cut)).subquery()
    return (
        select(merged.c.id, merged.c.sender, merged.c.recipient, merged.c.text, merged.c.sent_at)
        .order_by(merged.c.id.desc())
        .limit(limit)
    )


def _btree_ranges(me: int, other: int | None, partner: str) -> list[History]:
    directions: list[tuple[ColumnElement[bool], ...]] = [
        (Message.sender_id == me, Message.recipient_id.is_(None), Message.recipient == partner),
        (Message.recipient_id == me, Message.sender_id.is_(None), Message.sender == partner),
    ]
    if other is not None:
        directions += [
            (Message.sender_id == me, Message.recipient_id == other),
            (Message.recipient_id == me, Message.sender_id == other),
        ]
    return [select(*_COLUMNS).where(*where) for where in directions]


def _fts_ranges(me: int, other: int | None, partner: str) -> list[History]:
    # FTS5 the outer loop, newest rowid first: the LIMIT stops it; each hit read from
    # `messages` by its id (tests/integration/test_dm_record.py holds the plan).
    def walk(token: str, *where: ColumnElement[bool]) -> History:
        return (
            select(*_COLUMNS)
            .select_from(_FTS.join(Message, Message.id == _FTS.c.rowid))
            .where(_in_pair(token), *where)
        )

    ranges = [walk(pair_token(me, None), _other_name() == partner)]
    if other is not None:
        ranges.append(walk(pair_token(me, other)))
    return ranges


# --- conversations -------------------------------------------------------------------------------


def with_deleted_accounts(s: Session, me: int) -> bool:
    """Whether `me` may have messages with deleted accounts: on SQLite one lookup of its
    `p0x...` token, so that `conversations` need not look for each partner (newest's
    `deleted`); on PostgreSQL those ranges are seeks of the B-tree, so just True."""
    if not _is_sqlite(s.get_bind().dialect.name):
        return True
    return s.scalar(select(_FTS.c.rowid).where(_in_pair(pair_token(me, None))).limit(1)) is not None


def newest(
    dialect_name: str,
    me: SQLColumnExpression[int],
    other: SQLColumnExpression[Any],
    name: SQLColumnExpression[str],
    *,
    deleted: bool = True,
) -> list[ColumnElement[Any]]:
    """For a row of the `conversations` summary (`me`, its partner's `name`, the account
    `other` of that name now or NULL): the newest msg_id of each range of the conversation,
    NULL for an empty one, as correlated subqueries (a seek or a short walk each). `deleted`
    False: `me` has no messages with deleted accounts (with_deleted_accounts), their ranges
    are left out on SQLite (a lookup each, for nothing)."""
    if _is_sqlite(dialect_name):
        mine = func.printf("p%dx%d", func.min(me, other), func.max(me, other))
        live = select(_FTS.c.rowid).where(_in_pair(mine))
        gone = (
            select(_FTS.c.rowid)
            .select_from(_FTS.join(Message, Message.id == _FTS.c.rowid))
            .where(_in_pair(func.printf("p0x%d", me)), _other_name() == name)
        )
        # no account of that name now: no live range (printf would make "p0x0" of the NULLs)
        newest: list[ColumnElement[Any]] = [case((other.is_not(None), _newest_hit(live)))]
        return [*newest, _newest_hit(gone)] if deleted else newest
    m = Message
    return [
        _newest_message(m.sender_id == me, m.recipient_id == other),
        _newest_message(m.sender_id == other, m.recipient_id == me),
        _newest_message(m.sender_id == me, m.recipient_id.is_(None), m.recipient == name),
        _newest_message(m.sender_id.is_(None), m.recipient_id == me, m.sender == name),
    ]


def _newest_hit(statement: Select[tuple[Any]]) -> ScalarSelect[Any]:
    return statement.order_by(_FTS.c.rowid.desc()).limit(1).scalar_subquery()


def _newest_message(*where: ColumnElement[bool]) -> ScalarSelect[int]:
    return select(Message.id).where(*where).order_by(Message.id.desc()).limit(1).scalar_subquery()
