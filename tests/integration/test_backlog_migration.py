"""Revision 0013 moves the backlog out of `messages.acked` into a table of its own: what waited
before it waits after it (a login still gets it, `conversations` still counts it), what was
shown stays shown, a message to a deleted account is still never purged, and down to 0012
and up again loses nothing. On SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from service.store import Backlog, Store
from service.store.db import alembic_config, migrate_to_head
from tests.support.old_records import OldMessage, write_at_revision

NOW = datetime(2026, 12, 6, 12, 0)  # naive UTC, as the store writes it

# (id, sender_id, recipient_id, sender, recipient, text, acked): carol's account is gone (0006's
# ON DELETE SET NULL), one message to her shown before, one never
MESSAGES: list[OldMessage] = [
    (1, 1, 2, "alice", "bob", "shown to bob", True),
    (2, 1, 2, "alice", "bob", "waits for bob", False),
    (3, 2, 1, "bob", "alice", "waits for alice", False),
    (4, 1, None, "alice", "carol", "carol never saw it", False),
    (5, 1, None, "alice", "carol", "carol saw it", True),
]


def _acked_at_0012(url: str) -> dict[int, bool]:
    engine = create_engine(url, poolclass=NullPool)
    with engine.connect() as db:
        rows = db.execute(text("SELECT id, acked FROM messages ORDER BY id"))
        found = {int(msg_id): bool(acked) for msg_id, acked in rows}
    engine.dispose()
    return found


def _check_backlogs(store: Store) -> None:
    assert store.messages.backlog_snapshot("bob") == Backlog(count=1, last_id=2)
    assert [m.text for m in store.messages.pending_messages("bob")] == ["waits for bob"]
    assert store.messages.backlog_snapshot("alice") == Backlog(count=1, last_id=3)
    unread = {c.partner: c.unread for c in store.dm_record.conversations("alice", 10)}
    assert unread == {"bob": 1, "carol": 0}


def test_what_waited_before_0013_waits_after_it_and_after_a_round_trip(
    empty_db_url: str,
) -> None:
    write_at_revision(empty_db_url, "0012", ("alice", "bob"), MESSAGES, NOW)

    migrate_to_head(empty_db_url)
    store = Store.open(empty_db_url, group_commit=False)
    try:
        _check_backlogs(store)
    finally:
        store.close()

    command.downgrade(alembic_config(empty_db_url), "0012")
    assert _acked_at_0012(empty_db_url) == {msg_id: acked for msg_id, *_, acked in MESSAGES}

    migrate_to_head(empty_db_url)
    store = Store.open(empty_db_url, group_commit=False)
    try:
        _check_backlogs(store)
        store.messages.acknowledge("bob", 2)
        assert store.messages.backlog_snapshot("bob") == Backlog(count=0, last_id=0)
        # the shown ones go, carol's unseen one stays with what still waits
        assert store.dm_record.purge(datetime(2027, 1, 1, tzinfo=UTC)) == 3
        kept = store.dm_record.history("alice", "carol", None, 10)
        assert isinstance(kept, list) and [m.text for m in kept] == ["carol never saw it"]
        assert [m.text for m in store.messages.pending_messages("alice")] == ["waits for alice"]
    finally:
        store.close()
