"""The record of direct messages in the database: `chat-admin purge-dms` (on SQLite and
PostgreSQL), and the query plans that keep `dm_history`, `conversations` and the backlog
index reads however many messages are stored (SQLite's EXPLAIN QUERY PLAN: no `SCAN messages`,
the full-text index only through a MATCH), as the server runs them: without ANALYZE's
statistics, which Parley never gathers.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, insert
from typer.testing import CliRunner, Result

from cli.admin import app
from service.store import Store
from service.store.db import migrate_to_head
from service.store.messages import StoredMessage
from service.store.models import Message
from tests.support.writer import user_id

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)  # long ago: before any `--before 2d`
runner = CliRunner()


@pytest.fixture
def store(any_db_url: str) -> Iterator[Store]:
    store = Store.open(any_db_url, group_commit=False)
    for name in ("alice", "bob", "carol"):
        store.users.create_user(name, "not-a-real-hash", T0)
    yield store
    store.close()


def admin(db_url: str, *args: str, input: str | None = None) -> Result:
    return runner.invoke(app, [*args, "--db", db_url], input=input)


def send(store: Store, sender: str, recipient: str, words: str, at: datetime) -> int:
    saved = store.messages.save_message(sender, recipient, words, None, at, max_chars=100)
    return saved.msg_id  # type: ignore[union-attr]


def texts(store: Store, user: str, partner: str) -> list[str]:
    found = store.dm_record.history(user, partner, None, 100)
    assert isinstance(found, list), found
    return [m.text for m in found]


def test_purge_dms_removes_old_acknowledged_messages_only_after_asking(
    store: Store, any_db_url: str
) -> None:
    old_acked = send(store, "alice", "bob", "old, seen", T0)
    send(store, "alice", "bob", "old, never seen", T0)
    recent = send(store, "bob", "alice", "recent, seen", datetime.now(UTC) - timedelta(hours=1))
    store.messages.acknowledge("bob", old_acked)
    store.messages.acknowledge("alice", recent)

    refused = admin(any_db_url, "purge-dms", "--before", "2d", input="n\n")
    assert refused.exit_code == 1, refused.output
    assert "Remove 1 acknowledged direct message sent before" in refused.stdout
    assert "nothing was removed" in refused.stderr
    assert texts(store, "alice", "bob") == ["old, seen", "old, never seen", "recent, seen"]

    done = admin(any_db_url, "purge-dms", "--before", "2d", input="y\n")
    assert done.exit_code == 0, done.output
    assert "Removed 1 acknowledged direct message sent before" in done.stdout
    assert texts(store, "alice", "bob") == ["old, never seen", "recent, seen"]
    assert [m.text for m in store.messages.pending_messages("bob")] == ["old, never seen"]

    again = admin(any_db_url, "purge-dms", "--before", "2d", "--yes")
    assert again.exit_code == 0, again.output
    assert "Removed 0 acknowledged direct messages" in again.stdout


def test_a_partner_whose_messages_are_all_purged_stays_listed(
    store: Store, any_db_url: str
) -> None:
    msg_id = send(store, "carol", "alice", "only one", T0)
    store.messages.acknowledge("alice", msg_id)

    result = admin(any_db_url, "purge-dms", "--before", "1h", "--yes")

    assert result.exit_code == 0, result.output
    assert "Removed 1 acknowledged direct message" in result.stdout
    assert [(c.partner, c.last_msg_id, c.unread) for c in store.dm_record.conversations(
        "alice", 200)] == [("carol", msg_id, 0)]  # fmt: skip
    assert texts(store, "alice", "carol") == []  # in the record still: not no_such_user


def test_a_new_account_that_gets_a_deleted_ones_id_sees_none_of_its_record(
    store: Store, any_db_url: str
) -> None:
    """SQLite gives a new row the highest id + 1, so the newest account's id comes again
    after its deletion: the record's ids went NULL with it, so nothing is found by the id."""
    to_carol = send(store, "alice", "carol", "to the first carol", T0)
    send(store, "carol", "alice", "from the first carol", T0)
    first_id = user_id(store, "carol")
    assert store.operator.delete_user("carol") is not None
    store.users.create_user("carol", "not-a-real-hash", T0)
    if any_db_url.startswith("sqlite"):
        assert user_id(store, "carol") == first_id  # the very id, given again

    assert store.messages.pending_messages("carol") == []
    assert store.messages.backlog_snapshot("carol").count == 0
    assert texts(store, "carol", "alice") == []
    assert store.dm_record.conversations("carol", 200) == []
    assert texts(store, "alice", "carol") == ["to the first carol", "from the first carol"]
    [listed] = store.dm_record.conversations("alice", 200)
    assert (listed.partner, listed.last_msg_id) == ("carol", to_carol + 1)


@pytest.mark.parametrize("when", ["soon", "2999-01-01", "-3d"])
def test_purge_dms_refuses_a_when_it_cannot_read(any_db_url: str, when: str) -> None:
    result = admin(any_db_url, "purge-dms", "--before", when, "--yes")
    assert result.exit_code == 2, result.output


# --- query plans (SQLite) -----------------------------------------------------------------


def statements_of(store: Store, call: Any) -> list[tuple[str, Any]]:
    """Every SELECT the store runs for `call()`, with its parameters."""
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, parameters))

    event.listen(store.db.engine, "before_cursor_execute", record)
    try:
        call()
    finally:
        event.remove(store.db.engine, "before_cursor_execute", record)
    return seen


def plans_of(store: Store, call: Any) -> list[str]:
    """SQLite's plan of every SELECT the store runs for `call()`, one line per step."""
    seen = statements_of(store, call)
    with store.db.engine.connect() as connection:
        return [
            row[3]
            for statement, parameters in seen
            for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
        ]


def test_dm_history_conversations_and_the_backlog_read_indexes_not_the_table(
    db_url: str,
) -> None:
    store = Store.open(db_url, group_commit=False)
    try:
        for name in ("alice", "bob", "carol"):
            store.users.create_user(name, "not-a-real-hash", T0)
        for n in range(30):  # most of them shown, as in a record of some age
            send(store, "alice" if n % 2 else "bob", "bob" if n % 2 else "alice", f"m{n}", T0)
            to_alice = send(store, "carol", "alice", f"c{n}", T0)
            if n < 25:
                store.messages.acknowledge("alice", to_alice)

        steps = {
            "dm_history": plans_of(store, lambda: store.dm_record.history("alice", "bob", 9, 51)),
            "conversations": plans_of(store, lambda: store.dm_record.conversations("alice", 200)),
            "backlog": plans_of(store, lambda: store.messages.pending_messages("alice")),
            "login": plans_of(store, lambda: store.messages.backlog_snapshot("alice")),
        }
    finally:
        store.close()
    fts = "SCAN messages_fts VIRTUAL TABLE INDEX "  # the conversation index (revision 0010)
    for what, plan in steps.items():
        assert plan, what
        scans = [step for step in plan if step.startswith("SCAN messages")]
        assert not [step for step in scans if not step.startswith(fts)], (what, plan)
        # FTS5 walks a MATCH (the `M` of its plan), never the whole index
        assert all(re.match(f"{fts}[0-9]+:M", step) for step in scans), (what, plan)
        on_messages = [step for step in plan if step.startswith("SEARCH messages")]
        by_id = "SEARCH messages USING INTEGER PRIMARY KEY (rowid=?)"  # a hit, a msg's sent_at
        assert all(" INDEX ix_messages_" in s or s == by_id for s in on_messages), (what, plan)
        assert not [step for step in plan if step.startswith("SCAN conversations")], (what, plan)
    # a page of history: the conversation's token, from `before` (FTS5's `<`) down
    walks = [step for step in steps["dm_history"] if step.startswith(fts)]
    assert walks and all(step.endswith("<") for step in walks), steps["dm_history"]
    assert any("conversations USING PRIMARY KEY (user_id=?)" in s for s in steps["conversations"])
    assert any(step.startswith(fts) for step in steps["conversations"])
    # the backlog (revision 0013): the recipient's range of its index, never the whole table
    backlog = "SEARCH backlog USING COVERING INDEX ix_backlog_recipient_id_msg_id (recipient_id=?"
    for what in ("conversations", "backlog", "login"):
        assert any(step.startswith(backlog) for step in steps[what]), (what, steps[what])
        assert not [step for step in steps[what] if step.startswith("SCAN backlog")], what


def test_a_page_of_a_long_backlog_reads_that_page_not_the_rest(empty_db_url: str) -> None:
    """A login reads its backlog a page at a time (iter_backlog): each page must read its own
    entries of the backlog's index, in order, not every entry left and then sort them. On a
    database just filled, without statistics, as a server's is: PostgreSQL once sorted all
    that was left for each page (35-50 ms a page of a 50,000-message backlog)."""
    migrate_to_head(empty_db_url)
    store = Store.open(empty_db_url, group_commit=False)
    try:
        for name in ("alice", "bob"):
            store.users.create_user(name, "not-a-real-hash", T0)
        rows = [
            {"sender_id": user_id(store, "alice"), "recipient_id": user_id(store, "bob"),
             "sender": "alice", "recipient": "bob", "text": f"m{n}",
             "sent_at": T0.replace(tzinfo=None)}
            for n in range(1, 3_001)
        ]  # fmt: skip
        store.db.write(lambda s: s.execute(insert(Message), rows))

        def page() -> list[StoredMessage]:
            return store.messages.pending_messages("bob", after_id=1_000, up_to_id=3_000,
                                                   limit=100)  # fmt: skip

        assert [m.text for m in page()] == [f"m{n}" for n in range(1_001, 1_101)]
        [(statement, parameters)] = statements_of(store, page)
        with store.db.engine.connect() as connection:
            if connection.dialect.name == "sqlite":
                explained = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}",
                                                       parameters)  # fmt: skip
                plan = [row[3] for row in explained]
                assert not [step for step in plan if "TEMP B-TREE" in step], plan
                assert any(step.startswith("SEARCH backlog USING COVERING INDEX") for step in plan)
            else:
                analyzed = connection.exec_driver_sql(
                    f"EXPLAIN (ANALYZE, FORMAT JSON) {statement}", parameters
                ).scalar_one()
                nodes = list(_plan_nodes(analyzed[0]["Plan"]))
                assert not [n for n in nodes if n["Node Type"] == "Sort"], nodes
                backlog = [n for n in nodes if n.get("Relation Name") == "backlog"]
                assert backlog and all(n["Actual Rows"] <= 100 for n in backlog), backlog
    finally:
        store.close()


def _plan_nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", []):
        yield from _plan_nodes(child)
