"""The writer remembers the checks of direct messages across batches
(service/store/message_checks.py), and a remembered answer never outlives a change: a block, an
unblock or a deleted account counts from the next batch on, whoever wrote it (a job on the writer's
own connection, or chat-admin through a connection of its own)."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete
from sqlalchemy.orm import Session

from service.pipeline.items import Round
from service.store import Store
from service.store.db import make_engine
from service.store.hot import HotWork
from service.store.message_checks import BatchChecks
from service.store.message_record import MessageRecord
from service.store.message_statements import MessageStatements, Outcome, SavedMessage
from service.store.models import Block
from service.store.outcomes import Refusal
from service.store.writer import WriteFailed
from tests.support.writer import (
    Result,
    fail_next_commit,
    messages_round,
    results,
    send_hot,
    user_id,
)

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


@pytest.fixture
def server_store(db_url: str) -> Iterator[Store]:
    """The server's store (one writer thread), with alice and bob."""
    store = Store.open(db_url, group_commit=True)
    store.users.create_user("alice", "x", T0)
    store.users.create_user("bob", "x", T0)
    yield store
    store.close()


@pytest.fixture
def admin_store(db_url: str) -> Iterator[Store]:
    """What chat-admin opens: another connection to the same file."""
    store = Store.open(db_url, group_commit=False)
    yield store
    store.close()


def send(store: Store, *records: MessageRecord) -> Sequence[Result]:
    """One hot batch through the server's writer; its outcomes once committed."""
    outcomes = send_hot(store.group_writer, records)
    assert not isinstance(outcomes, BaseException)
    return outcomes


def alice_to_bob(store: Store, text: str = "hi") -> MessageRecord:
    return MessageRecord(user_id(store, "alice"), "alice", "bob", text, None)


def stored(outcomes: Sequence[Result], count: int = 1) -> bool:
    return len(outcomes) == count and all(isinstance(o, SavedMessage) for o in outcomes)


class OneTransaction:
    """Queues write jobs and then a hot batch so that the writer takes them all into one
    transaction: it is held inside the callback of a first batch meanwhile."""

    def __init__(self, store: Store) -> None:
        self._writer = store.group_writer
        self._holding, self._release = threading.Event(), threading.Event()
        self._answered = threading.Event()
        self.results: list[Sequence[Result] | BaseException] = []
        self._writer.on_hot_committed(self._on_committed)
        self._writer.submit_hot(Round())  # its callback holds the writer

    def _on_committed(self, work: HotWork) -> None:
        if not self._holding.is_set():
            self._holding.set()
            assert self._release.wait(10), "the test never released the writer"
            return
        self.results.append(results(work))
        self._answered.set()

    def wait_held(self) -> None:
        assert self._holding.wait(10)

    def run(self, jobs: list[Any], batch: Round) -> list[Future[Any]]:
        self.wait_held()
        futures = [self._writer.submit(job) for job in jobs]
        self._writer.submit_hot(batch)
        self._release.set()
        assert self._answered.wait(10)
        return futures


def test_a_block_made_by_a_writer_job_counts_from_the_next_batch(server_store: Store) -> None:
    assert stored(send(server_store, alice_to_bob(server_store)))  # remembered: not blocked

    assert server_store.blocks.block("bob", "alice", T0) is None  # a job on the writer's connection

    assert send(server_store, alice_to_bob(server_store)) == [Refusal.BLOCKED]
    assert server_store.blocks.unblock("bob", "alice") is None
    assert stored(send(server_store, alice_to_bob(server_store)))


def test_a_block_and_a_batch_in_one_transaction(server_store: Store) -> None:
    """The writer forgets before a transaction with jobs, not after it: the batch beside the
    job must not be answered from what was remembered before the job."""
    assert stored(send(server_store, alice_to_bob(server_store)))
    alice, bob = user_id(server_store, "alice"), user_id(server_store, "bob")

    def bob_blocks_alice(s: Session) -> None:
        s.add(Block(blocker_id=bob, blocked_id=alice, created_at=T0.replace(tzinfo=None)))

    together = OneTransaction(server_store)
    together.run([bob_blocks_alice], messages_round([alice_to_bob(server_store)]))

    assert together.results == [[Refusal.BLOCKED]]


def test_after_a_failed_commit_nothing_read_in_it_is_trusted(server_store: Store) -> None:
    """An unblock and a batch fail together at the commit: the batch read "not blocked" in a
    transaction that never happened, so the next batch asks again and is refused."""
    assert server_store.blocks.block("bob", "alice", T0) is None
    assert send(server_store, alice_to_bob(server_store)) == [Refusal.BLOCKED]
    alice, bob = user_id(server_store, "alice"), user_id(server_store, "bob")

    def bob_unblocks_alice(s: Session) -> None:
        s.execute(delete(Block).where(Block.blocker_id == bob, Block.blocked_id == alice))

    together = OneTransaction(server_store)
    together.wait_held()  # its commit is done: the next one is the transaction to fail
    fail_next_commit(server_store.db.writer_engine, RuntimeError("the disk is gone"))
    [unblocked] = together.run([bob_unblocks_alice], messages_round([alice_to_bob(server_store)]))

    assert isinstance(together.results[0], RuntimeError)
    with pytest.raises(WriteFailed):  # chat/1's `internal`; the writer logged the cause
        unblocked.result(10)
    assert send(server_store, alice_to_bob(server_store)) == [Refusal.BLOCKED]


def test_a_pair_never_asked_about_is_asked(server_store: Store) -> None:
    """bob and carol are both remembered, from batches about other pairs; whether carol
    blocks bob was never asked."""
    server_store.users.create_user("carol", "x", T0)
    alice, bob, carol = (user_id(server_store, name) for name in ("alice", "bob", "carol"))
    assert server_store.blocks.block("carol", "bob", T0) is None
    assert stored(send(server_store, MessageRecord(alice, "alice", "bob", "hi", None)))
    assert stored(send(server_store, MessageRecord(carol, "carol", "alice", "hi", None)))

    refused = send(server_store, MessageRecord(bob, "bob", "carol", "hi", None))

    assert refused == [Refusal.BLOCKED]


def test_a_nonce_is_always_asked_about(server_store: Store) -> None:
    """A retry in a later batch is answered with the first msg_id, even when everything else
    about the batch is remembered."""
    assert stored(send(server_store, alice_to_bob(server_store)))
    with_nonce = MessageRecord(user_id(server_store, "alice"), "alice", "bob", "hi", "n-1")

    [first] = send(server_store, with_nonce)
    [again] = send(server_store, with_nonce)

    assert isinstance(first, SavedMessage) and not first.is_retry
    assert isinstance(again, SavedMessage) and again.is_retry and again.msg_id == first.msg_id


def test_a_block_made_by_another_connection_counts_from_the_next_batch(
    server_store: Store, admin_store: Store
) -> None:
    assert stored(send(server_store, alice_to_bob(server_store)))

    assert admin_store.blocks.block("bob", "alice", T0) is None

    assert send(server_store, alice_to_bob(server_store)) == [Refusal.BLOCKED]


def test_accounts_deleted_by_another_connection_count_from_the_next_batch(
    server_store: Store, admin_store: Store
) -> None:
    to_bob = alice_to_bob(server_store)
    bob_id = user_id(server_store, "bob")
    to_alice = MessageRecord(bob_id, "bob", "alice", "hi", None)
    assert stored(send(server_store, to_bob, to_alice), count=2)

    assert admin_store.operator.delete_user("bob") is not None  # as `chat-admin deluser bob`

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
            server_store.users.create_user("carol", "x", T0)  # another connection writes
            assert stored(batch()) and any("FROM users" in sql for sql in ran)
    finally:
        engine.dispose()


NAMES = ["alice", "bob", "carol", "dave", "nobody"]  # nobody has no account


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(
    steps=st.lists(
        st.tuples(
            st.lists(st.tuples(st.sampled_from(NAMES[:4]), st.sampled_from(NAMES),
                               st.one_of(st.none(), st.sampled_from(["n1", "n2"]))),
                     min_size=1, max_size=6),
            st.one_of(st.none(), st.tuples(st.sampled_from(NAMES[:4]), st.sampled_from(NAMES[:4]))),
        ),
        min_size=1, max_size=5,
    )
)  # fmt: skip
def test_remembered_checks_answer_as_asked_checks(
    db_url: str, admin_store: Store,
    steps: list[tuple[list[tuple[str, str, str | None]], tuple[str, str] | None]],
) -> None:  # fmt: skip
    """The fast path (answers remembered across batches, SQLite's data_version) says what the
    reference path (every batch asked) says, while another connection blocks and unblocks."""
    for name in NAMES[:4]:
        if not admin_store.users.user_exists(name):
            admin_store.users.create_user(name, "x", T0)
    ids = {name: user_id(admin_store, name) for name in NAMES[:4]}
    engine = make_engine(db_url)
    remembered = BatchChecks(engine.dialect, remember=True)
    asked = BatchChecks(engine.dialect)
    try:
        with engine.connect() as connection:
            for batch, toggle in steps:
                if toggle is not None:  # another connection changes the blocks
                    blocker, blocked = toggle
                    if admin_store.blocks.block(blocker, blocked, T0) is Refusal.ALREADY_BLOCKED:
                        admin_store.blocks.unblock(blocker, blocked)
                records = [MessageRecord(ids[s], s, r, "hi", n) for s, r, n in batch]
                with connection.begin():
                    fast = remembered.read(connection, records)
                    reference = asked.read(connection, records)
                for record in records:
                    assert fast.refusal(record, 4_000) == reference.refusal(record, 4_000)
                    key = (record.sender_id, record.nonce or "")
                    assert fast.nonces.get(key) == reference.nonces.get(key)
    finally:
        engine.dispose()
