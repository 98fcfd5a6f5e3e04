"""The store's remembered logins (service/store/login_tokens.py): a token is redeemed only by
its own user while it lives, each use renews it, the expired go by the user's next use and by
the prune, and a user keeps at most MAX_TOKENS_PER_USER, the least recently used going first.
On SQLite and PostgreSQL (`any_db_url`)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from service.credentials.tokens import new_token, token_digest
from service.store import Store
from service.store.login_tokens import MAX_TOKENS_PER_USER
from tests.support.tokens import stored_tokens

NOW = datetime(2026, 12, 8, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


@pytest.fixture
def tokens_store(any_db_url: str) -> Iterator[Store]:
    store = Store.open(any_db_url, group_commit=False)
    for name in ("alice", "bob"):
        store.users.create_user(name, "not a hash: nobody logs in with a password here", NOW)
    yield store
    store.close()


def issued(store: Store, name: str, at: datetime = NOW, lifetime: timedelta = DAY) -> str:
    digest = token_digest(new_token())
    store.login_tokens.issue(name, digest, at, at + lifetime)
    return digest


def test_a_token_is_redeemed_by_its_user_while_it_lives_and_renewed(tokens_store: Store) -> None:
    store = tokens_store
    digest = issued(store, "alice")
    assert store.login_tokens.redeem("bob", digest, NOW, NOW + DAY) is None
    assert store.login_tokens.redeem("Alice", digest, NOW, NOW + DAY) is None  # names exactly
    used = store.login_tokens.redeem("alice", digest, NOW + DAY / 2, NOW + 3 * DAY)
    assert used is not None and (used.epoch, used.expires_at) == (0, NOW + 3 * DAY)
    assert store.login_tokens.redeem("alice", digest, NOW + 2 * DAY, NOW + 4 * DAY) is not None
    assert store.login_tokens.redeem("alice", digest, NOW + 4 * DAY, NOW + 5 * DAY) is None


def test_revoke_and_unknown_digests(tokens_store: Store) -> None:
    store = tokens_store
    digest, kept = issued(store, "alice"), issued(store, "alice")
    store.login_tokens.revoke(digest)
    store.login_tokens.revoke(token_digest("never given"))  # nothing to do, no error
    assert store.login_tokens.redeem("alice", digest, NOW, NOW + DAY) is None
    assert store.login_tokens.redeem("alice", kept, NOW, NOW + DAY) is not None


def test_expired_tokens_go_at_the_users_next_use_and_by_the_prune(
    tokens_store: Store, any_db_url: str
) -> None:
    store = tokens_store
    issued(store, "alice", lifetime=timedelta(hours=1))
    live = issued(store, "alice", lifetime=2 * DAY)
    bobs = issued(store, "bob", lifetime=timedelta(hours=1))
    later = NOW + DAY
    assert store.login_tokens.redeem("alice", live, later, later + DAY) is not None
    assert [row["token_hash"] for row in stored_tokens(any_db_url, "alice")] == [live]
    assert [row["token_hash"] for row in stored_tokens(any_db_url, "bob")] == [bobs]  # others'
    assert store.login_tokens.prune(later) == 1  # wait for the prune
    assert stored_tokens(any_db_url, "bob") == []


def test_a_user_keeps_at_most_the_most_recently_used_tokens(
    tokens_store: Store, any_db_url: str
) -> None:
    store = tokens_store
    first = issued(store, "alice")
    rest = [issued(store, "alice", NOW + timedelta(seconds=n)) for n in range(1, 100)]
    later = NOW + timedelta(minutes=5)
    assert store.login_tokens.redeem("alice", first, later, later + DAY) is not None  # in use
    newest = issued(store, "alice", later)
    kept = {row["token_hash"] for row in stored_tokens(any_db_url, "alice")}
    assert len(kept) == MAX_TOKENS_PER_USER
    assert kept == {first, *rest[1:], newest}  # the least recently used one went
