"""The checks of a batch of direct messages: who exists, who blocks whom, which nonces were seen.

One indexed query answers them for a whole batch (one more when a message carries a nonce).
The writer also remembers the answers across batches on SQLite, because a batch mostly asks
about the same people as the one before: a batch whose every name and (recipient, sender)
pair was answered before costs one `PRAGMA data_version` instead of the query.

What makes a remembered answer stale is a write to users or blocks. One by another connection
(chat-admin, another process) changes SQLite's data_version, which every batch reads inside
its transaction; the writer begins those with BEGIN IMMEDIATE (service/store/db.py, `writing`), so
it holds the write lock and nothing can commit between that read and the batch's own commit.
A job on the writer's own connection (data_version ignores those) runs in a transaction that
the writer begins with forget(), as it ends a failed one. Nonces are never remembered: a
batch with one always asks. PostgreSQL has no data_version, and several servers may share it,
so there every batch asks, with one statement text over two arrays whatever the batch's size.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ARRAY, Connection, Dialect, Integer, String, and_, any_, bindparam, select
from sqlalchemy.sql.elements import BindParameter

from service.store.batch_reads import chunks, seen_nonces
from service.store.driver_statement import DriverStatement
from service.store.message_record import MessageRecord
from service.store.models import Block, Nonce, User
from service.store.outcomes import Refusal

MAX_REMEMBERED = 65_536  # names and pairs remembered; past it, start again

_SEEN_NONCES = select(Nonce.sender_id, Nonce.nonce, Nonce.msg_id, Nonce.created_at).where(
    Nonce.sender_id.in_(bindparam("sender_ids", expanding=True)),
    Nonce.nonce.in_(bindparam("nonces", expanding=True)),
)


@dataclass(slots=True)
class Known:
    """What the database says about a batch's names."""

    ids: dict[str, int]  # by name, recipients and senders alike
    blocks: set[tuple[int, int]]  # (blocker_id, blocked_id) among the batch's senders
    nonces: dict[tuple[int, str], tuple[int, datetime]]  # (sender_id, nonce) -> (msg_id, at)

    def refusal(self, record: MessageRecord, max_chars: int) -> Refusal | None:
        """chat/1's order: the sender still exists, no_such_user, self, blocked, too_long."""
        if self.ids.get(record.sender) != record.sender_id:  # deleted (maybe made anew)
            return Refusal.ACCOUNT_GONE
        recipient_id = self.ids.get(record.recipient)
        if recipient_id is None:
            return Refusal.NO_SUCH_USER
        if recipient_id == record.sender_id:
            return Refusal.SELF
        if (recipient_id, record.sender_id) in self.blocks:
            return Refusal.BLOCKED
        if len(record.text) > max_chars:
            return Refusal.TOO_LONG
        return None


class BatchChecks:
    """`remember`: keep answers across batches (SQLite only; see the module's docstring)."""

    def __init__(self, dialect: Dialect, *, remember: bool = False) -> None:
        self._query = _CheckQuery(dialect)
        self._remembered = _Remembered() if remember and dialect.name == "sqlite" else None

    def start(self, connection: Connection, records: Sequence[MessageRecord]) -> Any:
        """PostgreSQL: send the batch's query without waiting for its rows (the writer's
        pipeline sends it with the batch's other first statements); pass what this returns to
        read(). None on SQLite, whose checks read() runs (or remembers) itself."""
        if not self._query.takes_arrays or not records:
            return None
        return self._query.start(connection, *_names_and_ids(records))

    def read(
        self, connection: Connection, records: Sequence[MessageRecord], started: Any = None
    ) -> Known:
        """Inside the batch's transaction; `started`: what start() returned for `records`."""
        if started is not None:
            return self._ask(connection, records, started)
        remembered = self._remembered
        if remembered is not None:
            known = remembered.answer(connection, records)
            if known is not None:
                return known
        known = self._ask(connection, records)
        if remembered is not None:
            remembered.add(known, records)
        return known

    def forget(self) -> None:
        """Users or blocks may have changed on this connection (a job ran, or failed)."""
        if self._remembered is not None:
            self._remembered.clear()

    def _ask(
        self, connection: Connection, records: Sequence[MessageRecord], started: Any = None
    ) -> Known:
        names, sender_ids = _names_and_ids(records)
        known = Known({}, set(), {})
        if started is not None:
            rows = list(started.fetchall())
        else:
            rows = [
                row
                for name_part in chunks(names)
                for id_part in chunks(sender_ids)
                for row in self._query.run(connection, name_part, id_part)
            ]
        for user_id, name, blocked_id in rows:
            known.ids[name] = user_id
            if blocked_id is not None:
                known.blocks.add((user_id, blocked_id))
        nonces = sorted({r.nonce for r in records if r.nonce is not None})
        known.nonces = seen_nonces(connection, _SEEN_NONCES, sender_ids, nonces)
        return known


def _names_and_ids(records: Sequence[MessageRecord]) -> tuple[list[str], list[int]]:
    """The names a batch asks about (recipients and senders), and its senders' ids."""
    names = sorted({r.recipient for r in records} | {r.sender for r in records})
    return names, sorted({r.sender_id for r in records})


class _Remembered:
    """Answers of earlier batches, valid while SQLite's data_version stays what it was."""

    def __init__(self) -> None:
        self._known = Known({}, set(), {})
        self._pairs: set[tuple[int, int]] = set()  # (recipient_id, sender_id) blocks known
        self._version: int | None = None

    def clear(self) -> None:
        self._known = Known({}, set(), {})
        self._pairs = set()
        self._version = None

    def answer(self, connection: Connection, records: Sequence[MessageRecord]) -> Known | None:
        """All the batch needs, if it was answered before and nobody wrote since; else None."""
        cursor: Any = connection.connection.cursor()
        version = int(cursor.execute("PRAGMA data_version").fetchone()[0])
        if version != self._version:
            self.clear()
            self._version = version
            return None
        ids, pairs = self._known.ids, self._pairs
        for record in records:
            if record.nonce is not None or ids.get(record.sender) != record.sender_id:
                return None
            recipient_id = ids.get(record.recipient)
            if recipient_id is None or (recipient_id, record.sender_id) not in pairs:
                return None
        return self._known

    def add(self, known: Known, records: Sequence[MessageRecord]) -> None:
        """What a query answered for `records`: their names, and each record's pair."""
        if self._version is None:  # forgotten meanwhile: nothing to build on
            return
        # `blocks` is not counted: it never holds more than the blocks table does.
        if len(self._known.ids) + len(self._pairs) > MAX_REMEMBERED:
            self.clear()
            return
        self._known.ids.update(known.ids)
        self._known.blocks |= known.blocks
        for record in records:
            recipient_id = known.ids.get(record.recipient)
            if recipient_id is not None:  # the query covered this pair: blocked or not
                self._pairs.add((recipient_id, record.sender_id))


# PostgreSQL: the same query over two arrays, one statement text for every batch (psycopg
# converts a long query's text anew at each run, and prepares only statements it sees again).
_CHECK_ARRAYS = (
    select(User.id, User.name, Block.blocked_id)
    .outerjoin(
        Block,
        and_(
            Block.blocker_id == User.id,
            Block.blocked_id == any_(bindparam("sender_ids", type_=ARRAY(Integer))),
        ),
    )
    .where(User.name == any_(bindparam("names", type_=ARRAY(String))))
)


class _CheckQuery:
    """Users by name, each with the batch's senders it blocks: one indexed query per batch.
    The IN lists are padded to a power of two (a repeated value changes nothing), so a few
    statements compiled once serve every batch size; PostgreSQL takes arrays instead."""

    def __init__(self, dialect: Dialect) -> None:
        self._dialect = dialect
        self._compiled: dict[tuple[int, int], DriverStatement] = {}
        self._arrays: DriverStatement | None = None
        if dialect.name != "sqlite":
            self._arrays = DriverStatement(_CHECK_ARRAYS, dialect, ("sender_ids", "names"))

    def run(self, connection: Connection, names: list[str], ids: list[int]) -> list[Any]:
        """Rows of (user id, name, blocked sender id or None)."""
        if not names or not ids:
            return []
        if self._arrays is not None:
            return list(self.start(connection, names, ids).fetchall())
        sizes = (_bucket(len(names)), _bucket(len(ids)))
        statement = self._compiled.get(sizes) or self._compile(*sizes)
        return statement.execute(connection, (*_pad(ids, sizes[1]), *_pad(names, sizes[0])))

    @property
    def takes_arrays(self) -> bool:
        return self._arrays is not None

    def start(self, connection: Connection, names: list[str], ids: list[int]) -> Any:
        """PostgreSQL: the query sent, as a driver cursor to fetch its rows from."""
        assert self._arrays is not None
        return self._arrays.run(connection, (ids, names))

    def _compile(self, name_count: int, id_count: int) -> DriverStatement:
        names: list[BindParameter[str]] = [bindparam(f"name{i}") for i in range(name_count)]
        ids: list[BindParameter[int]] = [bindparam(f"sender{i}") for i in range(id_count)]
        statement = (
            select(User.id, User.name, Block.blocked_id)
            .outerjoin(Block, and_(Block.blocker_id == User.id, Block.blocked_id.in_(ids)))
            .where(User.name.in_(names))
        )
        keys = tuple(p.key for p in ids + names)  # the order the SQL names them in
        compiled = self._compiled[(name_count, id_count)] = DriverStatement(
            statement, self._dialect, keys
        )
        return compiled


def _bucket(count: int) -> int:
    return 1 << max(count - 1, 0).bit_length()


def _pad(values: list[Any], size: int) -> list[Any]:
    return values + [values[-1]] * (size - len(values))
