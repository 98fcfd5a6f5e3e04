"""The store's shape (issue 18): one Store composed of repositories over one Database, no
mixins, each repository's module readable in one sitting, and a face naming what callers use."""

from __future__ import annotations

import inspect
from datetime import UTC, datetime, timedelta

import service.store as face
from service.store import Store
from service.store.base import Database
from service.store.message_statements import SavedMessage
from service.store.room_statements import SavedSay

T0 = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
REPOSITORIES = {
    "users", "periods", "blocks", "messages", "dm_record", "rooms", "room_messages", "nonces",
    "failed_logins", "login_tokens", "operator", "operator_rooms", "search",
}  # fmt: skip
MAX_LINES = 250  # a repository's module, read in one sitting


def test_the_store_is_composed_of_repositories_over_one_database(store: Store) -> None:
    assert Store.__mro__ == (Store, object)  # composed, not mixed in
    parts = {name: part for name, part in vars(store).items() if name != "db"}
    assert set(parts) == REPOSITORIES
    assert isinstance(store.db, Database)
    for name, part in parts.items():
        assert type(part).__mro__ == (type(part), object), name
        assert vars(part) == {"_db": store.db}, f"{name} holds the one Database and nothing else"


def test_each_repository_reads_in_one_sitting(store: Store) -> None:
    for name in REPOSITORIES:
        module = inspect.getmodule(type(getattr(store, name)))
        assert module is not None
        lines = inspect.getsource(module).count("\n")
        assert lines < MAX_LINES, f"{module.__name__}: {lines} lines"


def test_the_face_names_the_store_and_its_records() -> None:
    assert "Store" in face.__all__
    for name in face.__all__:
        assert inspect.isclass(getattr(face, name)), name
    assert sorted(face.__all__) == face.__all__


def test_one_prune_forgets_both_kinds_of_nonce_in_one_call(store: Store) -> None:
    """`message` and `say` nonces are kept alike (chat/1 precise point 11), so one call
    forgets both, and keeps both for a day."""
    for name in ("alice", "bob"):
        assert store.users.create_user(name, "not-a-real-hash", T0) is None
    store.rooms.join_room("alice", "#general", T0)
    sent = store.messages.save_message("alice", "bob", "hi", "n1", T0, max_chars=100)
    said = store.room_messages.say("alice", "#general", "hi", "n1", T0, max_chars=100)
    assert isinstance(sent, SavedMessage) and isinstance(said, SavedSay)
    assert store.nonces.prune(T0 + timedelta(hours=24)) == 0
    assert store.nonces.prune(T0 + timedelta(hours=26)) == 2
    assert store.nonces.prune(T0 + timedelta(hours=27)) == 0
