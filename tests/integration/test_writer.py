"""The group-commit writer's contract: each job runs in a savepoint of its own, so a job that
refuses (or fails) after writing leaves nothing behind, and its neighbours still commit."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import ExitStack, closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from service.store import Store
from service.store.index_merges import STEP_ROWS
from service.store.message_record import MessageRecord
from service.store.message_statements import SavedMessage
from service.store.models import Message, User
from service.wire.errors import ErrorCode, RequestError
from tests.support.disk import refuse_writes, writes_fail
from tests.support.writer import connections_open_read_only, fail_next_commit, send_hot

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


@pytest.fixture
def server_store(db_url: str) -> Iterator[Store]:
    store = Store.open(db_url, group_commit=True)
    yield store
    store.close()


def add_then(name: str, error: Exception | None) -> Callable[[Session], str]:
    def job(s: Session) -> str:
        s.add(User(name=name, password_hash="x", created_at=T0.replace(tzinfo=None)))
        s.flush()  # the row is written inside the transaction before the job gives up
        if error is not None:
            raise error
        return name

    return job


def names(store: Store) -> set[str]:
    return store.db.read(lambda s: set(s.scalars(select(User.name))))


def test_a_refusal_after_a_write_leaves_nothing_and_neighbours_commit(
    server_store: Store,
) -> None:
    writer = server_store.group_writer
    futures = [
        writer.submit(add_then("before", None)),
        writer.submit(add_then("ghost", RequestError(ErrorCode.USER_EXISTS, "no"))),
        writer.submit(add_then("broken", ValueError("our bug"))),
        writer.submit(add_then("after", None)),
    ]
    assert futures[0].result(timeout=10) == "before"
    with pytest.raises(RequestError):
        futures[1].result(timeout=10)
    with pytest.raises(ValueError):
        futures[2].result(timeout=10)
    assert futures[3].result(timeout=10) == "after"
    assert names(server_store) == {"before", "after"}


def test_a_statement_sqlite_refuses_for_its_own_fault_fails_its_job_alone(
    server_store: Store,
) -> None:
    """sqlite3 raises OperationalError for a statement's own fault (no such column) as for a
    file that refuses writes; only the second is the database's failure, which fails the
    whole batch: the first fails its job, and its neighbours commit."""

    def bad(s: Session) -> None:
        s.execute(text("SELECT no_such_column FROM users"))

    writer = server_store.group_writer
    before, broken, after = (writer.submit(add_then("before", None)), writer.submit(bad),
                             writer.submit(add_then("after", None)))  # fmt: skip
    assert before.result(timeout=10) == "before"
    with pytest.raises(OperationalError, match="no such column"):  # not WriteFailed
        broken.result(timeout=10)
    assert after.result(timeout=10) == "after"
    assert names(server_store) == {"before", "after"}


def test_a_file_sqlite_finds_corrupt_fails_the_batch_like_one_that_refuses_writes(
    server_store: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """sqlite3 raises a plain DatabaseError, not OperationalError, when a file is corrupt or
    not a database (SQLITE_CORRUPT, SQLITE_NOTADB): the file's failure all the same. So the
    batch fails `internal`, what its jobs wrote is gone, the writer says so once and starts
    afresh, and the next write works; the error is the driver's own, as on the hot path."""
    caplog.set_level(logging.INFO, logger="service.store.writer")
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not a database file " * 256)

    def reads_a_corrupt_file(s: Session) -> None:
        add_then("lost", None)(s)
        with closing(sqlite3.connect(garbage)) as broken:
            broken.execute("SELECT count(*) FROM sqlite_master")  # SQLITE_NOTADB

    refused = server_store.group_writer.submit(reads_a_corrupt_file).exception(timeout=10)

    assert isinstance(refused, RequestError) and refused.code is ErrorCode.INTERNAL, refused
    assert server_store.db.write(add_then("after", None)) == "after"
    assert names(server_store) == {"after"}
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2, lines
    assert lines[0].startswith("writes to the database fail (") and "not a database" in lines[0]
    assert lines[1].startswith("writes to the database work again")


def test_the_direct_writer_keeps_the_same_contract(store: Store) -> None:
    with pytest.raises(RequestError):
        store.db.write(add_then("ghost", RequestError(ErrorCode.USER_EXISTS, "no")))
    assert names(store) == set()


def test_a_message_the_database_rejects_fails_alone(server_store: Store) -> None:
    """One row the driver cannot bind fails the batch's executemany; the writer then stores
    the batch a message at a time, so only that message fails."""
    server_store.users.create_user("alice", "x", T0)
    server_store.users.create_user("bob", "x", T0)
    alice_id = server_store.db.read(lambda s: s.scalar(select(User.id).where(User.name == "alice")))
    assert alice_id is not None
    unbindable = cast(str, object())  # what no database driver can store as text
    records = [
        MessageRecord(alice_id, "alice", "bob", text, None)
        for text in ("first", unbindable, "third")
    ]
    outcomes = send_hot(server_store.group_writer, records)
    assert not isinstance(outcomes, BaseException)
    first, middle, third = outcomes
    assert isinstance(first, SavedMessage) and isinstance(third, SavedMessage)
    assert isinstance(middle, Exception)
    stored = server_store.db.read(lambda s: list(s.scalars(select(Message.text))))
    assert stored == ["first", "third"]


def test_the_writer_goes_on_after_a_commit_fails(server_store: Store) -> None:
    """After a failed COMMIT, SQLAlchemy's rollback does not reach the driver, and SQLite may
    keep the transaction open; the writer starts the next one afresh instead of failing every
    later batch with "cannot start a transaction within a transaction"."""
    server_store.users.create_user("alice", "x", T0)
    server_store.users.create_user("bob", "x", T0)
    alice_id = server_store.db.read(lambda s: s.scalar(select(User.id).where(User.name == "alice")))
    assert alice_id is not None
    writer = server_store.group_writer
    fail_next_commit(server_store.db.writer_engine, OSError("the disk is full"))

    lost = send_hot(writer, [MessageRecord(alice_id, "alice", "bob", "lost", None)])
    kept = send_hot(writer, [MessageRecord(alice_id, "alice", "bob", "kept", None)])

    assert isinstance(lost, OSError)
    assert not isinstance(kept, BaseException) and isinstance(kept[0], SavedMessage)
    stored = server_store.db.read(lambda s: list(s.scalars(select(Message.text))))
    assert stored == ["kept"]


def test_readers_that_connect_while_writes_are_refused_do_not_poison_the_writer(
    server_store: Store, tmp_path: Path
) -> None:
    """Connections opened while the file refuses writes are read-only for good (SQLite falls
    back to read-only). Readers may keep them; the writer must not take one from their pool
    when it reconnects, or the first writes after the outage fail too (issue 17, point 10)."""
    server_store.users.create_user("alice", "x", T0)
    database = tmp_path / "parley.db"
    with refuse_writes(database, Path(f"{database}-wal")):
        server_store.group_writer.submit(add_then("lost", None)).exception(timeout=10)
        with ExitStack() as readers:  # three at once: three new connections, all read-only
            for _ in range(3):
                reader = readers.enter_context(server_store.db.engine.connect())
                assert reader.exec_driver_sql("SELECT count(*) FROM users").scalar() == 1

    assert server_store.db.write(add_then("after", None)) == "after"
    assert "after" in names(server_store)


def test_a_job_whose_commit_failed_is_refused_internal_and_logged_once(
    server_store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    """The disk refuses writes for real (tests/support/disk.py): each job is answered as
    chat/1's `internal` refusal, which the connection boundary sends without a traceback; the
    writer says so in one line, and in one more once writes work again."""
    caplog.set_level(logging.INFO, logger="service.store.writer")
    server_store.users.create_user("alice", "x", T0)
    with writes_fail():
        for n in range(3):
            with pytest.raises(RequestError) as refused:
                server_store.db.write(add_then(f"lost{n}", None))
            assert refused.value.code is ErrorCode.INTERNAL

    assert server_store.db.write(add_then("after", None)) == "after"
    assert names(server_store) == {"alice", "after"}
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2, lines
    assert lines[0].startswith("writes to the database fail (")
    assert lines[1].startswith("writes to the database work again")
    assert [bool(r.exc_info) for r in caplog.records] == [True, False]  # the outage's first


def test_a_connection_opened_while_writes_are_refused_is_dropped_like_a_failed_commit(
    server_store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    """The writer reconnects during the outage, so SQLite opens its new connection read-only
    (ext4 remounted read-only after an I/O error): it begins and commits transactions, but each
    write fails inside its savepoint ("attempt to write a readonly database"). That is the
    database failing, not the job: the batch fails `internal`, the connection is dropped as
    after a failed commit, and writes work again once the file takes them, with no traceback
    per job and no "work again" line while they do not."""
    caplog.set_level(logging.INFO, logger="service.store.writer")
    server_store.users.create_user("alice", "x", T0)
    server_store.users.create_user("bob", "x", T0)
    alice = server_store.db.read(lambda s: s.scalar(select(User.id).where(User.name == "alice")))
    assert alice is not None
    writer = server_store.group_writer
    fail_next_commit(server_store.db.writer_engine, OSError("disk I/O error"))  # it reconnects
    with connections_open_read_only(server_store.db.writer_engine):
        lost = writer.submit(add_then("lost", None)).exception(timeout=10)  # its commit fails
        during = [writer.submit(add_then(f"during{n}", None)) for n in range(3)]
        errors = [future.exception(timeout=10) for future in during]  # on a new connection
        hot = send_hot(writer, [MessageRecord(alice, "alice", "bob", "during", None)])

    assert isinstance(lost, RequestError) and lost.code is ErrorCode.INTERNAL
    assert all(isinstance(e, RequestError) and e.code is ErrorCode.INTERNAL for e in errors)
    assert isinstance(hot, BaseException), hot  # the batch failed, not each message alone
    assert server_store.db.write(add_then("after", None)) == "after"
    kept = send_hot(writer, [MessageRecord(alice, "alice", "bob", "after", None)])
    assert not isinstance(kept, BaseException) and isinstance(kept[0], SavedMessage)
    assert names(server_store) == {"alice", "bob", "after"}
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2, lines
    assert lines[0].startswith("writes to the database fail (")
    assert lines[1].startswith("writes to the database work again")
    assert "a write job failed" not in caplog.text and "one by one" not in caplog.text


def test_the_first_failure_of_an_outage_is_logged_with_its_traceback(
    server_store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    """A failed batch may be our bug, not the disk's: its traceback is in the first line of
    the outage; the rest of the outage gets one line per interval, without."""
    caplog.set_level(logging.INFO, logger="service.store.writer")
    fail_next_commit(server_store.db.writer_engine, ZeroDivisionError("our bug"))

    refused = server_store.group_writer.submit(add_then("lost", None)).exception(timeout=10)

    assert isinstance(refused, RequestError) and refused.code is ErrorCode.INTERNAL
    assert server_store.db.write(add_then("after", None)) == "after"
    failed = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(failed) == 1 and failed[0].exc_info is not None
    assert failed[0].exc_info[0] is ZeroDivisionError and "our bug" in caplog.text


def _alice_and_bob(store: Store) -> int:
    store.users.create_user("alice", "x", T0)
    store.users.create_user("bob", "x", T0)
    alice_id = store.db.read(lambda s: s.scalar(select(User.id).where(User.name == "alice")))
    assert alice_id is not None
    return alice_id


def test_a_merge_step_that_fails_on_its_own_fails_nothing_and_stops_merging(
    server_store: Store, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The full-text merging is upkeep (service/store/index_merges.py): a step SQLite refuses
    (here a command FTS5 does not know) is taken back alone, the batch commits, and merging
    stops with one log line, not one per commit."""
    alice_id = _alice_and_bob(server_store)
    writer = server_store.group_writer

    class RefusingCursor:  # what FTS5 is asked becomes a command it does not know
        def __init__(self, cursor: Any) -> None:
            self._cursor = cursor

        def execute(self, _sql: str, _params: object) -> None:
            self._cursor.execute("INSERT INTO messages_fts (messages_fts, rank) VALUES ('x', 1)")

    real_step = writer._merges.step
    monkeypatch.setattr(writer._merges, "step", lambda cursor: real_step(RefusingCursor(cursor)))
    batches = [
        [MessageRecord(alice_id, "alice", "bob", f"{batch} {n}", None) for n in range(STEP_ROWS)]
        for batch in ("first", "second")
    ]
    outcomes = [send_hot(writer, records) for records in batches]  # a step due after each

    for batch in outcomes:
        assert not isinstance(batch, BaseException)
        assert all(isinstance(outcome, SavedMessage) for outcome in batch)
    stored = server_store.db.read(lambda s: list(s.scalars(select(Message.text))))
    assert stored == [record.text for records in batches for record in records]
    assert caplog.text.count("merging the full-text indexes failed") == 1


def test_a_damaged_full_text_index_stops_merging_and_fails_no_message(
    server_store: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """FTS5 reports damage to its own index as SQLITE_CORRUPT_VTAB, an extended code of
    CORRUPT: the merge step that reads the damaged pages fails alone, like any failed upkeep,
    and the messages are stored; it is not the file failing (which would fail every batch)."""
    alice_id = _alice_and_bob(server_store)
    writer = server_store.group_writer

    def batch(tag: str) -> list[MessageRecord]:
        return [
            MessageRecord(alice_id, "alice", "bob", f"{tag} word{n}", None)
            for n in range(STEP_ROWS)
        ]

    for n in range(3):  # segments for the merge steps to read
        assert not isinstance(send_hot(writer, batch(f"before{n}")), BaseException)
    with closing(sqlite3.connect(tmp_path / "parley.db")) as raw, raw:
        # the leaves of every segment, zeroed (the structure record and averages, ids 1 and
        # 10, stay whole): FTS5 finds them when a merge reads them
        raw.execute("UPDATE messages_fts_data SET block = zeroblob(length(block)) WHERE id > 10")

    after = [send_hot(writer, batch(f"after{n}")) for n in range(4)]

    for outcomes in after:
        assert not isinstance(outcomes, BaseException), outcomes
        assert all(isinstance(outcome, SavedMessage) for outcome in outcomes)
    assert caplog.text.count("merging the full-text indexes failed") == 1
    assert "writes to the database fail" not in caplog.text


def test_a_merge_step_that_ends_the_transaction_fails_the_batch(
    server_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite may roll a whole transaction back when a statement is interrupted or runs out of
    memory; the batch must then be answered as failed, never `ok` for rows that are gone."""
    alice_id = _alice_and_bob(server_store)
    writer = server_store.group_writer

    def step_that_rolls_back(cursor: Any) -> None:
        cursor.execute("ROLLBACK")  # as SQLite does after SQLITE_INTERRUPT or SQLITE_NOMEM
        raise MemoryError

    monkeypatch.setattr(writer._merges, "step", step_that_rolls_back)
    lost = send_hot(writer, [MessageRecord(alice_id, "alice", "bob", "lost", None)])
    monkeypatch.undo()
    kept = send_hot(writer, [MessageRecord(alice_id, "alice", "bob", "kept", None)])

    assert isinstance(lost, MemoryError)
    assert not isinstance(kept, BaseException) and isinstance(kept[0], SavedMessage)
    stored = server_store.db.read(lambda s: list(s.scalars(select(Message.text))))
    assert stored == ["kept"]
