"""The writer's statements for direct messages and acks answer alike on SQLite and on
PostgreSQL, whose own statements take the batch as arrays (service/store/message_statements.py,
service/store/message_checks.py): the ids come back in the records' order, the checks refuse in
chat/1's order, nonces repeat the first message's id, and only a recipient forgets a message.

SQLite in tmp_path; PostgreSQL too when PARLEY_TEST_POSTGRES names a server.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from service.pipeline.items import Ack, DirectMessage, Item, Round
from service.store import Store
from service.store.hot import HotWork
from service.store.message_record import MessageRecord
from service.store.message_statements import SavedMessage
from service.store.outcomes import Refusal
from tests.support.writer import Nobody, user_id

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
LIMIT = 4_000


@pytest.fixture
def store(any_db_url: str) -> Iterator[Store]:
    """The server's store (one writer thread), with alice, bob and carol."""
    store = Store.open(any_db_url, group_commit=True)
    for name in ("alice", "bob", "carol"):
        store.users.create_user(name, "not-a-real-hash", T0)
    yield store
    store.close()


def write(store: Store, items: list[Item]) -> Round:
    """One round through the server's writer, as the reactor hands it over; once committed."""
    done = threading.Event()
    committed: list[HotWork] = []

    def on_committed(work: HotWork) -> None:
        committed.append(work)
        done.set()

    store.group_writer.on_hot_committed(on_committed)
    store.group_writer.submit_hot(Round(items))
    assert done.wait(10), "the writer never answered the round"
    [work] = committed
    assert isinstance(work, Round) and work.failure is None, work
    return work


def message(store: Store, sender: str, recipient: str, text: str, nonce: str | None = None) -> Item:
    record = MessageRecord(user_id(store, sender), sender, recipient, text, nonce)
    return DirectMessage(Nobody(), None, False, record)


def ack(msg_id: int, recipient_id: int) -> Item:
    return Ack(Nobody(), None, False, msg_id, recipient_id)


def pending(store: Store, recipient: str) -> list[tuple[int, str]]:
    return [(m.msg_id, m.text) for m in store.messages.pending_messages(recipient)]


def test_a_batch_is_stored_in_order_beside_its_refusals(store: Store) -> None:
    store.blocks.block("carol", "alice", T0)
    items = []
    for n in range(40):  # stored ones between every kind of refusal, and nonces
        items.append(message(store, "alice", "bob", f"m{n}", nonce=f"n{n % 7}"))
        items.append(
            [
                message(store, "alice", "nobody", "x"),
                message(store, "alice", "alice", "x"),
                message(store, "alice", "carol", "x"),
                message(store, "alice", "bob", "x" * (LIMIT + 1)),
            ][n % 4]
        )
    results = [item.result for item in write(store, items).items]

    refusals = [Refusal.NO_SUCH_USER, Refusal.SELF, Refusal.BLOCKED, Refusal.TOO_LONG]
    assert results[1::2] == [refusals[n % 4] for n in range(40)]
    saved = results[0::2]
    assert all(isinstance(s, SavedMessage) for s in saved), saved
    first = saved[:7]  # each nonce's first use stores; its repeats answer that message's id
    assert [s.is_retry for s in saved] == [n >= 7 for n in range(40)]  # type: ignore[union-attr]
    assert [s.msg_id for s in saved] == [first[n % 7].msg_id for n in range(40)]  # type: ignore[union-attr]
    ids = [s.msg_id for s in first]  # type: ignore[union-attr]
    assert ids == sorted(set(ids))
    assert pending(store, "bob") == [(msg_id, f"m{n}") for n, msg_id in enumerate(ids)]

    [again] = write(store, [message(store, "alice", "bob", "m99", nonce="n3")]).items
    assert isinstance(again.result, SavedMessage), again.result
    assert (again.result.msg_id, again.result.is_retry) == (ids[3], True)


def test_acks_forget_only_the_recipients_messages(store: Store) -> None:
    sent = write(store, [message(store, "alice", "bob", f"m{n}") for n in range(6)])
    ids = [item.result.msg_id for item in sent.items]  # type: ignore[union-attr]
    bob, alice = user_id(store, "bob"), user_id(store, "alice")

    acked = write(
        store,
        [ack(ids[0], bob), ack(ids[2], bob), ack(ids[3], alice), ack(ids[4], bob), ack(10**6, bob)],
    )

    assert [item.result for item in acked.items] == [None] * 5
    assert pending(store, "bob") == [(ids[n], f"m{n}") for n in (1, 3, 5)]


def test_a_bad_ack_fails_alone_beside_the_round_it_came_in(store: Store) -> None:
    """An ack the database refuses (an id no integer column holds) fails the round's first
    attempt: on PostgreSQL inside the round trip that carries the writer's savepoint, the acks
    and the checks (service/store/writer.py, _Ahead). The savepoint takes it back, and each
    item alone then stores or fails by itself."""
    sent = write(store, [message(store, "alice", "bob", f"m{n}") for n in range(3)])
    ids = [item.result.msg_id for item in sent.items]  # type: ignore[union-attr]
    bob = user_id(store, "bob")

    mixed = write(
        store,
        [
            message(store, "alice", "bob", "before"),
            ack(ids[0], bob),
            ack(2**70, bob),
            message(store, "carol", "bob", "after"),
            ack(ids[2], bob),
        ],
    )

    before, first, bad, after, last = (item.result for item in mixed.items)
    assert isinstance(before, SavedMessage) and isinstance(after, SavedMessage)
    assert (first, last) == (None, None)
    assert isinstance(bad, Exception), bad
    assert pending(store, "bob") == [
        (ids[1], "m1"), (before.msg_id, "before"), (after.msg_id, "after"),
    ]  # fmt: skip


def test_an_ack_of_an_id_past_32_bits_forgets_nothing_and_fails_nothing(store: Store) -> None:
    """chat/1 ids are 64-bit on the wire: such an ack names no message, on PostgreSQL (whose
    ids are int4) as on SQLite, and fails neither itself nor the round beside it."""
    sent = write(store, [message(store, "alice", "bob", "kept")])
    [kept] = [item.result.msg_id for item in sent.items]  # type: ignore[union-attr]
    round_ = write(
        store, [ack(2**40, user_id(store, "bob")), message(store, "alice", "bob", "next")]
    )
    unknown, following = (item.result for item in round_.items)
    assert unknown is None and isinstance(following, SavedMessage)
    assert [text for _, text in pending(store, "bob")] == ["kept", "next"]
    assert pending(store, "bob")[0][0] == kept
