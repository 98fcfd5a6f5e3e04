"""The writer remembers the checks of direct messages across batches (service/message_checks.py),
and a remembered answer never outlives a change: a block, an unblock or a deleted account
counts from the next batch on, whoever wrote it (a job on the writer's own connection, or
chat-admin through a connection of its own)."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from service.db import make_engine
from service.message_store import MessageRecord, MessageStatements, Outcome, SavedMessage
from service.models import User
from service.outcomes import Refusal
from service.store import Store
from service.writer import HotBatch, Result

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


@pytest.fixture
def server_store(db_url: str) -> Iterator[Store]:
    """The server's store (one writer thread), with alice and bob."""
    store = Store.open(db_url, group_commit=True)
    store.create_user("alice", "x", T0)
    store.create_user("bob", "x", T0)
    yield store
    store.close()


@pytest.fixture
def admin_store(db_url: str) -> Iterator[Store]:
    """What chat-admin opens: another connection to the same file."""
    store = Store.open(db_url, group_commit=False)
    yield store
    store.close()


def user_id(store: Store, name: str) -> int:
    found = store.read(lambda s: s.scalar(select(User.id).where(User.name == name)))
    assert found is not None
    return found


def send(store: Store, *records: MessageRecord) -> Sequence[Result]:
    """One hot batch through the server's writer; its outcomes once committed."""
    results: list[Sequence[Result] | BaseException] = []
    answered = threading.Event()

    def on_committed(_batch: HotBatch, outcomes: Sequence[Result] | BaseException) -> None:
        results.append(outcomes)
        answered.set()

    store.group_writer.on_hot_committed(on_committed)
    store.group_writer.submit_hot(HotBatch(list(records), []))
    assert answered.wait(10)
    [outcomes] = results
    assert not isinstance(outcomes, BaseException)
    return outcomes


def alice_to_bob(store: Store, text: str = "hi") -> MessageRecord:
    return MessageRecord(user_id(store, "alice"), "alice", "bob", text, None)


def stored(outcomes: Sequence[Result]) -> bool:
    return all(isinstance(outcome, SavedMessage) for outcome in outcomes)


def test_a_block_made_by_a_writer_job_counts_from_the_next_batch(server_store: Store) -> None:
    assert stored(send(server_store, alice_to_bob(server_store)))  # remembered: not blocked

    assert server_store.block("bob", "alice", T0) is None  # a job on the writer's connection

    assert send(server_store, alice_to_bob(server_store)) == [Refusal.BLOCKED]
    assert server_store.unblock("bob", "alice") is None
    assert stored(send(server_store, alice_to_bob(server_store)))


def test_a_block_made_by_another_connection_counts_from_the_next_batch(
    server_store: Store, admin_store: Store
) -> None:
    assert stored(send(server_store, alice_to_bob(server_store)))

    assert admin_store.block("bob", "alice", T0) is None

    assert send(server_store, alice_to_bob(server_store)) == [Refusal.BLOCKED]


def test_accounts_deleted_by_another_connection_count_from_the_next_batch(
    server_store: Store, admin_store: Store
) -> None:
    to_bob = alice_to_bob(server_store)
    bob_id = user_id(server_store, "bob")
    to_alice = MessageRecord(bob_id, "bob", "alice", "hi", None)
    assert stored(send(server_store, to_bob, to_alice))

    assert admin_store.delete_user("bob") is not None  # as `chat-admin deluser bob`

    assert send(server_store, to_bob, to_alice) == [Refusal.NO_SUCH_USER, Refusal.ACCOUNT_GONE]


def test_a_batch_asked_about_before_costs_no_query(db_url: str, server_store: Store) -> None:
    """On SQLite the remembered answers stand while nobody else wrote (PRAGMA data_version)."""
    records = [alice_to_bob(server_store)]
    engine = make_engine(db_url)
    statements = MessageStatements(engine.dialect, remember_checks=True)
    ran: list[str] = []
    try:
        with engine.connect() as connection:
            connection.connection.dbapi_connection.set_trace_callback(ran.append)  # type: ignore[union-attr]

            def batch() -> list[Outcome]:
                ran.clear()
                with connection.begin():
                    return statements.save_all(connection, records, T0, 4_000)

            assert stored(batch()) and any("FROM users" in sql for sql in ran)
            assert stored(batch()) and not any("FROM users" in sql for sql in ran)
            server_store.create_user("carol", "x", T0)  # another connection writes
            assert stored(batch()) and any("FROM users" in sql for sql in ran)
    finally:
        engine.dispose()
