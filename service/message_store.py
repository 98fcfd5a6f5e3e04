"""The durable path of direct messages: a whole batch checked, stored and acknowledged at once.

This is the server's hot path, so it is built for batches: the checks of every message in a
batch (sender still exists, recipient, blocks) are one indexed query, nonces one more when
any message carries one, the inserts one `executemany`, the acks one `executemany`.
SQLAlchemy stays the one road to the database: it writes every statement here, compiled once
for the dialect of the connection the writer holds, and the statements run on that
connection's driver cursor inside its transaction. On SQLite the new ids are read back with
`last_insert_rowid()` (the writer holds the write lock, and AUTOINCREMENT numbers a batch
consecutively); elsewhere the insert uses SQLAlchemy's INSERT ... RETURNING for many rows.

Nothing here decides what goes on the wire: results are SavedMessage or a Refusal, one per
record, in order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Dialect, and_, bindparam, delete, insert, select
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import BindParameter

from service.models import Block, Message, Nonce, User
from service.outcomes import Refusal
from service.timeutil import as_utc


@dataclass(slots=True)
class MessageRecord:
    """One `message` request as the store needs it (the sender's id comes from its login)."""

    sender_id: int
    sender: str
    recipient: str
    text: str
    nonce: str | None


@dataclass(frozen=True, slots=True)
class SavedMessage:
    msg_id: int
    sent_at: datetime
    is_retry: bool  # the nonce was seen before: nothing new was stored


Outcome = SavedMessage | Refusal

_SENDER_IDS: BindParameter[list[int]] = bindparam("sender_ids", expanding=True)
_SEEN_NONCES = select(Nonce.sender_id, Nonce.nonce, Nonce.msg_id, Nonce.created_at).where(
    Nonce.sender_id.in_(_SENDER_IDS), Nonce.nonce.in_(bindparam("nonces", expanding=True))
)
_INSERT_MESSAGE = insert(Message).values(
    recipient_id=bindparam("recipient_id"), sender=bindparam("sender"),
    text=bindparam("text"), sent_at=bindparam("sent_at"),
)  # fmt: skip
_INSERT_NONCE = insert(Nonce).values(
    sender_id=bindparam("sender_id"), nonce=bindparam("nonce"),
    msg_id=bindparam("msg_id"), created_at=bindparam("created_at"),
)  # fmt: skip
_MESSAGE_KEYS = ("recipient_id", "sender", "text", "sent_at")
_NONCE_KEYS = ("sender_id", "nonce", "msg_id", "created_at")
_ACK = delete(Message).where(
    Message.id == bindparam("msg_id"), Message.recipient_id == bindparam("recipient_id")
)


class DriverStatement:
    """A statement SQLAlchemy compiled once for `dialect`, run with the driver's executemany.
    Rows are tuples in the order of `keys`."""

    def __init__(self, statement: ClauseElement, dialect: Dialect, keys: tuple[str, ...]) -> None:
        compiled = statement.compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler)
        self.sql = str(compiled)
        self._keys = keys
        positions = compiled.positiontup
        self._named = not positions  # e.g. psycopg's %(name)s: rows become dicts
        order = tuple(keys.index(key) for key in positions or ())
        self._reorder = None if order == tuple(range(len(keys))) or self._named else order

    def execute(self, connection: Connection, row: tuple[Any, ...]) -> list[Any]:
        cursor = self.executemany(connection, [])  # a cursor, nothing run
        params: Any = row
        if self._named:
            params = dict(zip(self._keys, row, strict=True))
        elif self._reorder is not None:
            params = tuple(row[i] for i in self._reorder)
        cursor.execute(self.sql, params)
        return list(cursor.fetchall())

    def executemany(self, connection: Connection, rows: Sequence[tuple[Any, ...]]) -> Any:
        params: Sequence[Any] = rows
        if self._named:
            params = [dict(zip(self._keys, row, strict=True)) for row in rows]
        elif self._reorder is not None:
            order = self._reorder
            params = [tuple(row[i] for i in order) for row in rows]
        cursor = connection.connection.cursor()
        if params:
            cursor.executemany(self.sql, params)
        return cursor


class CheckQuery:
    """Users by name, each with the batch's senders it blocks: one indexed query per batch.
    The IN lists are padded to a power of two (a repeated value changes nothing), so a few
    statements compiled once serve every batch size."""

    def __init__(self, dialect: Dialect) -> None:
        self._dialect = dialect
        self._compiled: dict[tuple[int, int], DriverStatement] = {}

    def run(self, connection: Connection, names: list[str], ids: list[int]) -> list[Any]:
        """Rows of (user id, name, blocked sender id or None)."""
        if not names or not ids:
            return []
        sizes = (_bucket(len(names)), _bucket(len(ids)))
        statement = self._compiled.get(sizes) or self._compile(*sizes)
        return statement.execute(connection, (*_pad(names, sizes[0]), *_pad(ids, sizes[1])))

    def _compile(self, name_count: int, id_count: int) -> DriverStatement:
        names: list[BindParameter[str]] = [bindparam(f"name{i}") for i in range(name_count)]
        ids: list[BindParameter[int]] = [bindparam(f"sender{i}") for i in range(id_count)]
        statement = (
            select(User.id, User.name, Block.blocked_id)
            .outerjoin(Block, and_(Block.blocker_id == User.id, Block.blocked_id.in_(ids)))
            .where(User.name.in_(names))
        )
        keys = tuple(p.key for p in names + ids)
        compiled = self._compiled[(name_count, id_count)] = DriverStatement(
            statement, self._dialect, keys
        )
        return compiled


CHUNK = 1_024  # names (or ids, or nonces) per query; SQLite allows 32,766 parameters


def _chunks(values: list[Any]) -> list[list[Any]]:
    return [values[i : i + CHUNK] for i in range(0, len(values), CHUNK)]


def _bucket(count: int) -> int:
    return 1 << max(count - 1, 0).bit_length()


def _pad(values: list[Any], size: int) -> list[Any]:
    return values + [values[-1]] * (size - len(values))


class MessageStatements:
    """The hot statements for one dialect; built once by the writer."""

    def __init__(self, dialect: Dialect) -> None:
        self._sqlite = dialect.name == "sqlite"
        self._insert_message = DriverStatement(_INSERT_MESSAGE, dialect, _MESSAGE_KEYS)
        self._insert_nonce = DriverStatement(_INSERT_NONCE, dialect, _NONCE_KEYS)
        self._ack = DriverStatement(_ACK, dialect, ("msg_id", "recipient_id"))
        self._checks = CheckQuery(dialect)
        time_type = Message.__table__.c.sent_at.type
        processor = time_type.dialect_impl(dialect).bind_processor(dialect)
        self._db_time: Callable[[Any], Any] = processor or (lambda value: value)

    def save_all(
        self, connection: Connection, records: Sequence[MessageRecord], now: datetime,
        max_chars: int,
    ) -> list[Outcome]:  # fmt: skip
        """Check and store a batch in chat/1 order: nonce retry, the sender still exists,
        no_such_user, self, blocked, too_long. Every stored message gets `now` as sent_at."""
        known = _Known.read(connection, records, self._checks)
        naive_now = as_utc(now).replace(tzinfo=None)
        outcomes: list[Outcome | None] = []
        to_store: list[tuple[int, MessageRecord, int]] = []  # (index, record, recipient_id)
        first_use: dict[tuple[int, str], int] = {}  # a nonce repeated inside this batch
        for index, record in enumerate(records):
            key = (record.sender_id, record.nonce) if record.nonce is not None else None
            if key is not None and key in known.nonces:
                msg_id, at = known.nonces[key]
                outcomes.append(SavedMessage(msg_id, as_utc(at), is_retry=True))
                continue
            if key is not None and key in first_use:
                outcomes.append(None)  # answered below, once the first one has its id
                continue
            outcome = known.refusal(record, max_chars)
            outcomes.append(outcome)
            if outcome is None:
                if key is not None:
                    first_use[key] = index
                to_store.append((index, record, known.ids[record.recipient]))
        ids = self._insert(connection, to_store, naive_now)
        stored = {index: msg_id for (index, _, _), msg_id in zip(to_store, ids, strict=True)}
        self._remember_nonces(connection, to_store, stored, naive_now)
        return [
            outcome if outcome is not None else self._saved(records[i], i, stored, first_use, now)
            for i, outcome in enumerate(outcomes)
        ]

    @staticmethod
    def _saved(record: MessageRecord, index: int, stored: dict[int, int],
               first_use: dict[tuple[int, str], int], now: datetime) -> SavedMessage:  # fmt: skip
        if index in stored:
            return SavedMessage(stored[index], now, is_retry=False)
        assert record.nonce is not None
        return SavedMessage(stored[first_use[(record.sender_id, record.nonce)]], now, True)

    def _insert(
        self, connection: Connection, to_store: list[tuple[int, MessageRecord, int]],
        naive_now: datetime,
    ) -> list[int]:  # fmt: skip
        if not to_store:
            return []
        if self._sqlite:
            at = self._db_time(naive_now)
            rows = [(rid, r.sender, r.text, at) for _, r, rid in to_store]
            cursor = self._insert_message.executemany(connection, rows)
            cursor.execute("SELECT last_insert_rowid()")
            last = int(cursor.fetchone()[0])
            return list(range(last - len(rows) + 1, last + 1))
        returning = _INSERT_MESSAGE.returning(Message.id, sort_by_parameter_order=True)
        dicts = [
            {"recipient_id": rid, "sender": r.sender, "text": r.text, "sent_at": naive_now}
            for _, r, rid in to_store
        ]
        return [int(row[0]) for row in connection.execute(returning, dicts)]

    def _remember_nonces(
        self, connection: Connection, to_store: list[tuple[int, MessageRecord, int]],
        stored: dict[int, int], naive_now: datetime,
    ) -> None:  # fmt: skip
        at = self._db_time(naive_now)
        rows = [
            (r.sender_id, r.nonce, stored[i], at) for i, r, _ in to_store if r.nonce is not None
        ]
        if rows:
            self._insert_nonce.executemany(connection, rows)

    def ack_all(self, connection: Connection, acks: Sequence[tuple[int, int]]) -> None:
        """Forget delivered messages: (msg_id, recipient_id) pairs; only a recipient can."""
        if acks:
            self._ack.executemany(connection, acks)


@dataclass(slots=True)
class _Known:
    """What the database says about a batch's names, read in one query (two with nonces)."""

    ids: dict[str, int]  # by name, recipients and senders alike
    blocks: set[tuple[int, int]]  # (blocker_id, blocked_id) among the batch's senders
    nonces: dict[tuple[int, str], tuple[int, datetime]]  # (sender_id, nonce) -> (msg_id, at)

    @classmethod
    def read(
        cls, connection: Connection, records: Sequence[MessageRecord], checks: CheckQuery
    ) -> _Known:
        sender_ids = sorted({r.sender_id for r in records})
        names = sorted({r.recipient for r in records} | {r.sender for r in records})
        known = cls({}, set(), {})
        for name_part in _chunks(names):  # bounded: databases limit parameters per query
            for id_part in _chunks(sender_ids):
                for user_id, name, blocked_id in checks.run(connection, name_part, id_part):
                    known.ids[name] = user_id
                    if blocked_id is not None:
                        known.blocks.add((user_id, blocked_id))
        nonces = sorted({r.nonce for r in records if r.nonce is not None})
        for nonce_part in _chunks(nonces):
            for id_part in _chunks(sender_ids):
                params = {"sender_ids": id_part, "nonces": nonce_part}
                for sender_id, nonce, msg_id, at in connection.execute(_SEEN_NONCES, params):
                    known.nonces[(sender_id, nonce)] = (msg_id, at)
        return known

    def refusal(self, record: MessageRecord, max_chars: int) -> Refusal | None:
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
