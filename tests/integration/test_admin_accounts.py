"""service.admin.accounts against a real, migrated SQLite file: the queries and the cascades."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from service.admin import accounts
from service.admin.accounts import AccountError, Outcome
from service.credentials.passwords import LockoutPolicy, verify_password
from service.store import Store, db
from service.store.db import Schema
from service.store.models import ActivePeriod, Block, Message, Nonce
from service.wire.timeutil import utc_now

POLICY = LockoutPolicy(max_attempts=3, block_duration=timedelta(minutes=10))
T0 = datetime(2026, 11, 24, 12, 0, tzinfo=utc_now().tzinfo)


def add(store: Store, *names: str, at: datetime = T0) -> None:
    for name in names:
        store.users.create_user(name, "not-a-real-hash", at)


def lock(store: Store, name: str, now: datetime) -> None:
    for _ in range(POLICY.max_attempts):
        store.users.record_failed_login(name, now, POLICY)


def rows(store: Store, model: type[object]) -> int:
    return store.db.read(lambda s: s.scalar(select(func.count()).select_from(model)) or 0)


def test_list_users_shows_last_login_pending_and_current_lock(store: Store) -> None:
    add(store, "bob", "Alice", "carol")
    first, _ = store.periods.start_period("bob", "127.0.0.1:1", T0)
    store.periods.end_period(first, T0 + timedelta(minutes=5), "logout")
    store.periods.start_period("bob", "127.0.0.1:2", T0 + timedelta(hours=1))
    store.messages.save_message("bob", "Alice", "hi", None, T0, max_chars=100)
    store.messages.save_message("carol", "Alice", "yo", None, T0, max_chars=100)
    lock(store, "carol", T0)

    found = accounts.list_users(store, T0 + timedelta(minutes=1))

    assert [u.name for u in found] == ["Alice", "bob", "carol"]
    alice, bob, carol = found
    assert (alice.pending_messages, alice.last_login, alice.locked_until) == (2, None, None)
    assert bob.last_login == T0 + timedelta(hours=1)
    assert bob.created_at == T0
    assert carol.locked_until == T0 + POLICY.block_duration
    assert carol.failed_attempts == 3


def test_an_expired_lock_is_shown_as_no_lock_and_no_failures(store: Store) -> None:
    add(store, "carol")
    lock(store, "carol", T0)

    (carol,) = accounts.list_users(store, T0 + POLICY.block_duration)

    assert (carol.locked_until, carol.failed_attempts) == (None, 0)


def test_unlock_clears_the_lock_and_reports_what_it_was(store: Store) -> None:
    add(store, "carol")
    lock(store, "carol", T0)

    before = accounts.unlock(store, "carol", T0 + timedelta(seconds=1))

    assert before.locked_until == T0 + POLICY.block_duration
    credentials = store.users.credentials("carol")
    assert credentials is not None
    assert (credentials.attempts.failures, credentials.attempts.locked_until) == (0, None)
    with pytest.raises(AccountError, match="no user dave"):
        accounts.unlock(store, "dave", T0)


def test_set_password_replaces_the_hash_and_lifts_the_lock(store: Store) -> None:
    add(store, "carol")
    lock(store, "carol", T0)

    accounts.set_password(store, "carol", "a new secret")

    credentials = store.users.credentials("carol")
    assert credentials is not None
    assert verify_password(credentials.password_hash, "a new secret")
    assert credentials.attempts.failures == 0
    assert credentials.attempts.locked_until is None


def test_set_password_refuses_a_short_one_before_touching_anything(store: Store) -> None:
    add(store, "carol")
    with pytest.raises(AccountError, match="shorter than 8"):
        accounts.set_password(store, "carol", "short")
    credentials = store.users.credentials("carol")
    assert credentials is not None and credentials.password_hash == "not-a-real-hash"


def test_add_user_refuses_taken_and_bad_names(store: Store) -> None:
    add(store, "alice")
    with pytest.raises(AccountError, match="already a user alice"):
        accounts.add_user(store, "alice", "long enough", T0)
    with pytest.raises(AccountError, match="not a valid username"):
        accounts.add_user(store, "al ice", "long enough", T0)


def test_foreign_keys_are_on_for_store_sessions(store: Store) -> None:
    assert store.db.read(lambda s: s.scalar(text("PRAGMA foreign_keys"))) == 1


def test_delete_user_cascades_but_keeps_the_direct_messages_both_ways(store: Store) -> None:
    add(store, "alice", "bob", "carol")
    store.messages.save_message("bob", "alice", "to alice", "n1", T0, max_chars=100)
    store.messages.save_message("alice", "bob", "from alice", "n2", T0, max_chars=100)
    store.messages.save_message("carol", "bob", "from carol", None, T0, max_chars=100)
    store.blocks.block("alice", "bob", T0)
    store.blocks.block("carol", "alice", T0)
    store.blocks.block("bob", "carol", T0)
    store.periods.start_period("alice", "127.0.0.1:9", T0)
    store.periods.start_period("bob", "127.0.0.1:8", T0)

    preview = accounts.footprint(store, "alice")
    gone = accounts.delete_user(store, "alice")

    assert gone == preview == accounts.Footprint("alice", 1, 2, 1, online=True)
    assert not store.users.user_exists("alice")
    assert [m.sender for m in store.messages.pending_messages("bob")] == ["alice", "carol"]
    assert store.messages.pending_messages("alice") == []
    assert [(b.blocker, b.blocked) for b in accounts.list_blocks(store)] == [("bob", "carol")]
    # bob's message to alice stays in bob's record, never delivered (feature dm_history)
    assert (rows(store, Message), rows(store, Block)) == (3, 1)
    assert (rows(store, Nonce), rows(store, ActivePeriod)) == (1, 1)  # bob's survive
    with pytest.raises(AccountError, match="no user alice"):
        accounts.delete_user(store, "alice")


def test_history_since_keeps_sessions_open_at_some_time_since(store: Store) -> None:
    add(store, "alice", "bob")
    old, _ = store.periods.start_period("alice", "10.0.0.1:1", T0)
    store.periods.end_period(old, T0 + timedelta(minutes=10), "logout")
    long_open, _ = store.periods.start_period("bob", "10.0.0.2:1", T0 + timedelta(minutes=5))
    late, _ = store.periods.start_period("alice", "10.0.0.1:2", T0 + timedelta(hours=2))
    store.periods.end_period(late, T0 + timedelta(hours=3), "timeout")
    assert long_open

    since = T0 + timedelta(hours=1)
    found = accounts.login_history(store, since=since, user=None)

    assert [(x.user, x.peer) for x in found] == [("bob", "10.0.0.2:1"), ("alice", "10.0.0.1:2")]
    assert found[0].logout_at is None
    assert found[1].duration(T0) == timedelta(hours=1)
    assert len(accounts.login_history(store, since=None, user=None)) == 3
    only_alice = accounts.login_history(store, since=None, user="alice")
    assert [x.login_at for x in only_alice] == [T0, T0 + timedelta(hours=2)]
    with pytest.raises(AccountError, match="no user zed"):
        accounts.login_history(store, since=None, user="zed")


def test_list_blocks_filters_by_either_side(store: Store) -> None:
    add(store, "alice", "bob", "carol")
    store.blocks.block("bob", "alice", T0)
    store.blocks.block("alice", "carol", T0)
    store.blocks.block("carol", "bob", T0)

    pairs = [(b.blocker, b.blocked) for b in accounts.list_blocks(store, "alice")]

    assert pairs == [("alice", "carol"), ("bob", "alice")]
    assert accounts.list_blocks(store, "alice")[0].since == T0


def test_import_adds_skips_and_rejects_in_line_order(store: Store) -> None:
    add(store, "bob")
    lines = accounts.parse_credentials(
        "alice password1\nbob password2\nbad! password3\ncarol short\nalice password4\n"
    )

    results = accounts.import_credentials(store, lines, T0, hasher=lambda p: f"hashed:{p}")

    outcomes = [(r.line_no, r.name, r.outcome) for r in results]
    assert outcomes == [
        (1, "alice", Outcome.ADDED),
        (2, "bob", Outcome.SKIPPED),
        (3, None, Outcome.REJECTED),
        (4, "carol", Outcome.REJECTED),
        (5, "alice", Outcome.SKIPPED),
    ]
    credentials = store.users.credentials("alice")
    assert credentials is not None and credentials.password_hash == "hashed:password1"


def test_database_state_reports_without_creating_files(tmp_path: Path, db_url: str) -> None:
    missing = tmp_path / "missing.db"
    assert db.database_state(f"sqlite:///{missing}").schema is Schema.NO_FILE
    assert not missing.exists()
    empty = tmp_path / "empty.db"
    empty.touch()
    assert db.database_state(f"sqlite:///{empty}").schema is Schema.EMPTY
    state = db.database_state(db_url)
    assert state.schema is Schema.CURRENT and state.current == state.head


def test_database_state_sees_a_schema_behind_head(db_url: str) -> None:
    store = Store.open(db_url, group_commit=False)
    try:
        store.db.write(lambda s: s.execute(text("UPDATE alembic_version SET version_num = '0000'")))
    finally:
        store.close()

    state = db.database_state(db_url)

    assert (state.schema, state.current) == (Schema.OUTDATED, "0000")
