"""Revision 0010 moves SQLite's conversation index into the full-text index (a `pair` token per
message, service/store/conversation_index.py): a record written before it reads the same after
it, both ways, with deleted accounts, in `conversations` and in search; and back down to 0008
and up again without loss. On PostgreSQL the revision changes nothing, and the same holds."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from service.store import Store
from service.store.conversation_index import pair_token
from service.store.db import alembic_config, migrate_to_head
from tests.support.old_records import write_at_revision

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)

# (id, sender_id, recipient_id, sender, recipient, text, acked): carol's account is gone, her
# message to alice kept under her name (0006's ON DELETE SET NULL)
MESSAGES = [
    (1, 1, 2, "alice", "bob", "plum one", True),
    (2, 2, 1, "bob", "alice", "plum two", False),
    (3, None, 1, "carol", "alice", "plum three", True),
    (4, 1, 2, "alice", "bob", "plum four", False),
]


def _write_0008_record(url: str) -> None:
    write_at_revision(url, "0008", ("alice", "bob"), MESSAGES, NOW)


def _check_record(url: str) -> None:
    store = Store.open(url, group_commit=False)
    try:
        with_bob = ["plum one", "plum two", "plum four"]
        for user, partner, texts in (("alice", "bob", with_bob), ("bob", "alice", with_bob),
                                     ("alice", "carol", ["plum three"])):  # fmt: skip
            found = store.dm_record.history(user, partner, None, 10)
            assert isinstance(found, list), found
            assert [m.text for m in found] == texts, (user, partner)
        page = store.dm_record.history("alice", "bob", 4, 1)  # before msg_id 4
        assert isinstance(page, list) and [m.text for m in page] == ["plum two"]
        listed = store.dm_record.conversations("alice", 10)
        assert [(c.partner, c.last_msg_id, c.unread) for c in listed] == [
            ("bob", 4, 1),
            ("carol", 3, 0),
        ]
        hits = store.search.find("alice", ["plum"], 10)
        assert isinstance(hits, list) and len(hits) == 4
        hits = store.search.find("bob", ["plum"], 10)
        assert isinstance(hits, list) and len(hits) == 3
    finally:
        store.close()


def _sqlite_index_agrees(url: str) -> None:
    """FTS5 compares its index with the rows its content names (raises if they differ)."""
    if not url.startswith("sqlite"):
        return
    engine = create_engine(url, poolclass=NullPool)
    with engine.begin() as db:
        db.execute(
            text("INSERT INTO messages_fts (messages_fts, rank) VALUES ('integrity-check', 1)")
        )
    engine.dispose()


def test_a_record_written_before_0010_reads_the_same_after_it_and_after_a_round_trip(
    empty_db_url: str,
) -> None:
    _write_0008_record(empty_db_url)

    migrate_to_head(empty_db_url)
    _sqlite_index_agrees(empty_db_url)
    _check_record(empty_db_url)

    command.downgrade(alembic_config(empty_db_url), "0008")
    _sqlite_index_agrees(empty_db_url)
    engine = create_engine(empty_db_url, poolclass=NullPool)
    with engine.connect() as db:
        assert db.scalar(text("SELECT count(*) FROM messages")) == len(MESSAGES)
    engine.dispose()
    migrate_to_head(empty_db_url)
    _sqlite_index_agrees(empty_db_url)
    _check_record(empty_db_url)


def test_the_pair_token_names_both_users_either_way_round() -> None:
    assert pair_token(42, 17) == pair_token(17, 42) == "p17x42"
    assert pair_token(None, 42) == pair_token(42, None) == "p0x42"  # a deleted account
