"""The durable path of direct messages: a whole batch checked, stored and acknowledged at once.

This is the server's hot path, so it is built for batches: the checks of every message in a
batch (sender still exists, recipient, blocks, nonces) are one or two indexed queries, often
none (service/store/message_checks.py), the inserts one statement (on SQLite a multi-row
INSERT: RowsInsert in service/store/driver_statement.py says why not `executemany`), the acks
one `executemany` (on PostgreSQL one DELETE over two arrays). An ack marks its message shown
by deleting its `backlog` row; the message stays as the record of the conversation (feature
`dm_history`).
SQLAlchemy stays the one road to the database: it writes every statement here, compiled once
for the dialect of the connection the writer holds, and the statements run on that
connection's driver cursor inside its transaction (service/store/driver_statement.py). On SQLite
the new ids are read back with `last_insert_rowid()` (the writer holds the write lock, and
AUTOINCREMENT numbers a batch consecutively); on PostgreSQL the inserts are one
INSERT ... SELECT over arrays, RETURNING the new ids.

Nothing here decides what goes on the wire: results are SavedMessage or a Refusal, one per
record, in order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, NamedTuple, cast

from sqlalchemy import Connection, Dialect, any_, bindparam, delete, func, insert, select
from sqlalchemy.types import ARRAY, BigInteger, Integer, String

from service.store.driver_statement import DriverStatement, RowsInsert
from service.store.message_checks import BatchChecks
from service.store.message_record import MessageRecord
from service.store.models import BacklogEntry, Message, Nonce
from service.store.outcomes import Refusal
from service.wire.timeutil import as_utc


class SavedMessage(NamedTuple):  # a tuple: made once per message, and cheaply
    msg_id: int
    sent_at: datetime
    is_retry: bool  # the nonce was seen before: nothing new was stored


Outcome = SavedMessage | Refusal

_INSERT_NONCE = insert(Nonce).values(
    sender_id=bindparam("sender_id"), nonce=bindparam("nonce"),
    msg_id=bindparam("msg_id"), created_at=bindparam("created_at"),
)  # fmt: skip
_MESSAGE_KEYS = ("sender_id", "recipient_id", "sender", "recipient", "text", "sent_at")
# PostgreSQL: a batch's messages as one INSERT ... SELECT over arrays, RETURNING the new ids.
# The rows go in in the arrays' order and the sequence numbers them in that order (what
# SQLAlchemy's own INSERT ... RETURNING for many rows relies on when it sorts by the id), so
# the ids sorted are the records' in order. One statement text for every batch size: prepared
# once, and about a quarter of the Python that SQLAlchemy's many-row RETURNING costs.
_NEW = (
    func.unnest(
        bindparam("sender_ids", type_=ARRAY(Integer)),
        bindparam("recipient_ids", type_=ARRAY(Integer)),
        bindparam("senders", type_=ARRAY(String)),
        bindparam("recipients", type_=ARRAY(String)),
        bindparam("texts", type_=ARRAY(String)),
    )
    .table_valued(
        "sender_id", "recipient_id", "sender", "recipient", "text", with_ordinality="ordinal"
    )
    .render_derived(name="new")
)
_INSERT_ARRAYS = (
    insert(Message)
    .from_select(
        ["sender_id", "recipient_id", "sender", "recipient", "text", "sent_at"],
        select(
            _NEW.c.sender_id, _NEW.c.recipient_id, _NEW.c.sender, _NEW.c.recipient, _NEW.c.text,
            bindparam("sent_at", type_=Message.__table__.c.sent_at.type),
        ).order_by(_NEW.c.ordinal),
    )
    .returning(Message.id)
)  # fmt: skip
_ARRAY_KEYS = ("sender_ids", "recipient_ids", "senders", "recipients", "texts", "sent_at")
_NONCE_KEYS = ("sender_id", "nonce", "msg_id", "created_at")
# An ack marks its message shown (feature `dm_history`: the message stays in the record): its
# backlog row goes (revision 0013), found by its primary key; the recipient must match, and a
# repeated ack deletes nothing.
_ACK = delete(BacklogEntry).where(
    BacklogEntry.msg_id == bindparam("msg_id"),
    BacklogEntry.recipient_id == bindparam("recipient_id"),
)
# PostgreSQL: a batch's acks as one statement over two arrays. psycopg's executemany costs
# about 16 us of Python per row (a Bind, Describe and Execute each); this about 3.
# bigint: the wire allows 64-bit ids; in an int4 array a larger (unknown) id would fail the
# whole statement, where it should match nothing (PostgreSQL compares int4 = int8 on the
# primary key's index all the same)
_MSG_IDS = bindparam("msg_ids", type_=ARRAY(BigInteger))
_SHOWN = (
    func.unnest(_MSG_IDS, bindparam("recipient_ids", type_=ARRAY(Integer)))
    .table_valued("msg_id", "recipient_id")
    .render_derived(name="shown")
)
# `msg_id = ANY(msg_ids)` beside the join: without it PostgreSQL hashes the pairs and scans
# the whole backlog for every batch of acks (measured: 1.5 ms a batch of 100 against a
# backlog of 10,000, and `offline` a third slower); with it, a lookup of the batch's ids on
# the primary key (0.4 ms), whatever the backlog holds.
_ACK_ARRAYS = delete(BacklogEntry).where(
    BacklogEntry.msg_id == any_(_MSG_IDS),
    BacklogEntry.msg_id == _SHOWN.c.msg_id,
    BacklogEntry.recipient_id == _SHOWN.c.recipient_id,
)


class MessageStatements:
    """The hot statements for one dialect; built once by the writer."""

    def __init__(self, dialect: Dialect, *, remember_checks: bool = False) -> None:
        """`remember_checks`: for the writer's one instance (service/store/message_checks.py)."""
        self._sqlite = dialect.name == "sqlite"
        self._insert_rows: RowsInsert | None = None
        self._insert_nonce = DriverStatement(_INSERT_NONCE, dialect, _NONCE_KEYS)
        self._ack = DriverStatement(_ACK, dialect, ("msg_id", "recipient_id"))
        self._ack_arrays: DriverStatement | None = None
        self._insert_arrays: DriverStatement | None = None
        if self._sqlite:
            self._insert_rows = RowsInsert(Message, dialect, _MESSAGE_KEYS)
        else:
            self._insert_arrays = DriverStatement(_INSERT_ARRAYS, dialect, _ARRAY_KEYS)
            self._ack_arrays = DriverStatement(_ACK_ARRAYS, dialect, ("msg_ids", "recipient_ids"))
        self._checks = BatchChecks(dialect, remember=remember_checks)
        time_type = Message.__table__.c.sent_at.type
        processor = time_type.dialect_impl(dialect).bind_processor(dialect)
        self._db_time: Callable[[Any], Any] = processor or (lambda value: value)
        self._rows_added = 0  # to `messages`, since take_rows_added()

    @property
    def sends_ahead(self) -> bool:
        """PostgreSQL: a batch's acks and its checks' query (start_checks) wait for no answer,
        so the writer sends them with its savepoint in one round trip (HotWrite.ahead, in
        service/store/hot.py). SQLite, in process, has no round trips to save."""
        return not self._sqlite

    def start_checks(self, connection: Connection, records: Sequence[MessageRecord]) -> Any:
        """PostgreSQL: send the batch's checks now, to be read by save_all (`started`). None
        where there is nothing to send (see service/store/message_checks.py, `start`)."""
        return self._checks.start(connection, records)

    def save_all(
        self, connection: Connection, records: Sequence[MessageRecord], now: datetime,
        max_chars: int, started: Any = None,
    ) -> list[Outcome]:  # fmt: skip
        """Check and store a batch in chat/1 order: nonce retry, the sender still exists,
        no_such_user, self, blocked, too_long. Every stored message gets `now` as sent_at.
        `started`: what start_checks returned for these very records, if it was called."""
        known = self._checks.read(connection, records, started)
        naive_now = as_utc(now).replace(tzinfo=None)
        outcomes: list[Outcome | None] = []  # None: stored below, or a repeat in this batch
        to_store: list[tuple[int, MessageRecord, int]] = []  # (index, record, recipient_id)
        first_use: dict[tuple[int, str], int] = {}  # a nonce repeated inside this batch
        for index, record in enumerate(records):
            if record.nonce is not None:
                key = (record.sender_id, record.nonce)
                if key in known.nonces:
                    msg_id, at = known.nonces[key]
                    outcomes.append(SavedMessage(msg_id, as_utc(at), is_retry=True))
                    continue
                if key in first_use:
                    outcomes.append(None)  # answered below, once the first one has its id
                    continue
            outcome = known.refusal(record, max_chars)
            outcomes.append(outcome)
            if outcome is None:
                if record.nonce is not None:
                    first_use[key] = index
                to_store.append((index, record, known.ids[record.recipient]))
        ids = self._insert(connection, to_store, naive_now)
        for (index, _, _), msg_id in zip(to_store, ids, strict=True):
            outcomes[index] = SavedMessage(msg_id, now, is_retry=False)
        if first_use:
            self._remember_nonces(connection, to_store, ids, naive_now)
            for index, record in enumerate(records):
                if outcomes[index] is None:
                    assert record.nonce is not None
                    first = outcomes[first_use[(record.sender_id, record.nonce)]]
                    assert isinstance(first, SavedMessage)
                    outcomes[index] = SavedMessage(first.msg_id, now, is_retry=True)
        return cast(list[Outcome], outcomes)

    def _insert(
        self, connection: Connection, to_store: list[tuple[int, MessageRecord, int]],
        naive_now: datetime,
    ) -> list[int]:  # fmt: skip
        if not to_store:
            return []
        self._rows_added += len(to_store)
        if self._insert_rows is not None:  # SQLite
            at = self._db_time(naive_now)
            rows = [(r.sender_id, rid, r.sender, r.recipient, r.text, at) for _, r, rid in to_store]
            cursor = self._insert_rows.run(connection, rows)
            cursor.execute("SELECT last_insert_rowid()")
            last = int(cursor.fetchone()[0])
            return list(range(last - len(rows) + 1, last + 1))
        assert self._insert_arrays is not None
        arrays = (
            [r.sender_id for _, r, _ in to_store], [rid for _, _, rid in to_store],
            [r.sender for _, r, _ in to_store], [r.recipient for _, r, _ in to_store],
            [r.text for _, r, _ in to_store], self._db_time(naive_now),
        )  # fmt: skip
        return sorted(int(row[0]) for row in self._insert_arrays.execute(connection, arrays))

    def _remember_nonces(
        self, connection: Connection, to_store: list[tuple[int, MessageRecord, int]],
        ids: list[int], naive_now: datetime,
    ) -> None:  # fmt: skip
        at = self._db_time(naive_now)
        rows = [
            (r.sender_id, r.nonce, msg_id, at)
            for (_, r, _), msg_id in zip(to_store, ids, strict=True)
            if r.nonce is not None
        ]
        if rows:
            self._insert_nonce.executemany(connection, rows)

    def take_rows_added(self) -> int:
        """Messages stored since the last call: the writer's full-text merging follows them
        (service/store/index_merges.py)."""
        rows, self._rows_added = self._rows_added, 0
        return rows

    def forget_checks(self) -> None:
        """Users or blocks may have changed on the writer's connection."""
        self._checks.forget()

    def ack_all(self, connection: Connection, acks: Sequence[tuple[int, int]]) -> None:
        """Mark delivered messages shown: (msg_id, recipient_id) pairs; only a recipient can.
        They leave the backlog and stay in the record (dm_history)."""
        if not acks:
            return
        if self._ack_arrays is None:
            self._ack.executemany(connection, acks)
            return
        self._ack_arrays.run(connection, ([m for m, _ in acks], [r for _, r in acks]))
