"""Search's indexes (migration 0007): rows there before the migration are found after it, the
database keeps the index in step with every change (new messages, a room's deletion, an
account's deletion), and on SQLite the FTS table drives the query newest first, no sort."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from typing import Any

import pytest
from alembic import command
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from service.pipeline.items import DirectMessage, Item, Round, Say
from service.store import DmHit, RoomHit, Store
from service.store.db import alembic_config, migrate_to_head
from service.store.index_merges import STEP_ROWS
from service.store.message_record import MessageRecord
from service.store.room_statements import SayRecord
from service.store.search_statements import (
    _SQLITE_DMS_ALL,
    _SQLITE_ROOM_HITS,
    _SQLITE_ROOMS,
    RoomRow,
    SqliteSearch,
)
from tests.support.writer import Nobody, commit_round, user_id

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def _texts(hits: object) -> list[str]:
    assert isinstance(hits, list), hits
    return [hit.text for hit in hits]


def test_rows_there_before_the_migration_are_found_after_it(empty_db_url: str) -> None:
    command.upgrade(alembic_config(empty_db_url), "0006")
    engine = create_engine(empty_db_url, poolclass=NullPool)
    with engine.begin() as db:
        for n, name in enumerate(("alice", "bob"), start=1):
            db.execute(text("INSERT INTO users (id, name, password_hash, created_at, "
                            "failed_attempts) VALUES (:id, :name, 'x', :at, 0)"),
                       {"id": n, "name": name, "at": NOW})  # fmt: skip
        db.execute(text("INSERT INTO rooms (id, name, created_at, creator, last_seq) "
                        "VALUES (1, '#old', :at, 'alice', 1)"), {"at": NOW})  # fmt: skip
        db.execute(text("INSERT INTO room_members VALUES (1, 1, 0, :at)"), {"at": NOW})
        db.execute(text("INSERT INTO room_messages VALUES (1, 1, 'bob', 'Ancient Café', :at)"),
                   {"at": NOW})  # fmt: skip
        db.execute(text("INSERT INTO messages (id, sender_id, recipient_id, sender, recipient, "
                        "text, sent_at, acked) VALUES (7, 2, 1, 'bob', 'alice', "
                        "'ancient letter', :at, false)"), {"at": NOW})  # fmt: skip
    engine.dispose()

    migrate_to_head(empty_db_url)

    store = Store.open(empty_db_url, group_commit=False)
    try:
        found = store.search.find("alice", ["cafe"], 10)
        assert found == [RoomHit("#old", 1, "bob", "Ancient Café", NOW)]
        found = store.search.find("alice", ["anc"], 10)
        assert _texts(found) == ["ancient letter", "Ancient Café"]  # same time: the DM first
        assert isinstance(found, list) and isinstance(found[0], DmHit)
        assert found[0].partner == "bob"
    finally:
        store.close()


def test_the_index_follows_new_messages_and_deletions(any_db_url: str) -> None:
    store = Store.open(any_db_url, group_commit=False)
    try:
        for name in ("alice", "bob", "carol"):
            assert store.users.create_user(name, "x", NOW) is None
        store.rooms.join_room("alice", "#a", NOW)
        store.rooms.join_room("bob", "#a", NOW)
        store.room_messages.say("bob", "#a", "kiwi in a", None, NOW, max_chars=4_000)
        store.messages.save_message("bob", "alice", "kiwi for alice", None, NOW, max_chars=4_000)
        store.messages.save_message("carol", "bob", "kiwi for bob", None, NOW, max_chars=4_000)
        assert _texts(store.search.find("alice", ["kiwi"], 10)) == ["kiwi for alice", "kiwi in a"]

        assert store.operator.delete_user("bob") is not None  # his messages stay, under his name
        found = store.search.find("alice", ["kiwi"], 10)
        assert _texts(found) == ["kiwi for alice", "kiwi in a"]
        assert _texts(store.search.find("carol", ["kiwi"], 10)) == ["kiwi for bob"]
        assert _texts(store.search.find("alice", ["kiwi"], 10, partner="bob")) == ["kiwi for alice"]

        assert store.operator_rooms.delete_room("#a") is not None
        store.rooms.join_room("alice", "#a", NOW)  # the name again (on SQLite maybe the id)
        assert _texts(store.search.find("alice", ["kiwi"], 10)) == ["kiwi for alice"]
        _integrity_check(store, any_db_url)
    finally:
        store.close()


def test_the_last_word_finds_its_longer_words_however_many_there_are(any_db_url: str) -> None:
    """On SQLite the last word's longer terms are read from the index and named one by one, up
    to 32 of them; past that the prefix query runs (service/store/search_statements.py). Either
    way every longer word is found, and the word's own case does not matter."""
    store = Store.open(any_db_url, group_commit=False)
    try:
        _alice_and_bob_in_a(store)
        for n in range(40):  # "plan", then 39 longer words: more than are ever listed
            word = "plan" + "".join(chr(ord("a") + int(d)) for d in f"{n:02d}") if n else "plan"
            store.room_messages.say("bob", "#a", f"the {word} here", None, NOW, max_chars=4_000)
            store.messages.save_message(
                "bob", "alice", f"{word} for you", None, NOW, max_chars=4_000
            )
        assert len(_texts(store.search.find("alice", ["PLAN"], 50))) == 50
        assert len(_texts(store.search.find("alice", ["the", "Plan"], 50, room="#a"))) == 40
        assert _texts(store.search.find("alice", ["planad"], 50)) == [
            "planad for you",
            "the planad here",
        ]
        assert len(_texts(store.search.find("alice", ["plana"], 50, partner="bob"))) == 9
    finally:
        store.close()


def test_the_callers_rooms_are_found_whichever_way_they_are_filtered(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite filters the caller's rooms inside the MATCH or after it, by the share of all
    messages the rooms hold (service/store/search_statements.py); when filtering after looks
    at its 1,000 hits in vain (the newest are all elsewhere) the MATCH finishes. Each way
    finds the same newest hits."""
    after: list[int | None] = []  # each filtering after: how many it found, None in vain
    filter_after = SqliteSearch._rooms_after

    def counted(*args: Any) -> list[RoomRow] | None:
        found = filter_after(*args)
        after.append(None if found is None else len(found))
        return found

    monkeypatch.setattr(SqliteSearch, "_rooms_after", staticmethod(counted))
    store = Store.open(db_url, group_commit=False)
    try:
        for name in ("alice", "bob"):
            assert store.users.create_user(name, "x", NOW) is None
        store.rooms.join_room("alice", "#a", NOW)
        store.rooms.join_room("bob", "#big", NOW)
        for n in range(40):
            store.room_messages.say("alice", "#a", f"fig {n}", None, NOW, max_chars=4_000)
        for n in range(1_500):  # newer, and elsewhere: #a is under 3% of the messages
            store.room_messages.say("bob", "#big", f"fig big {n}", None, NOW, max_chars=4_000)
        newest_of_a = [f"fig {n}" for n in range(39, 19, -1)]
        assert _texts(store.search.find("alice", ["fig"], 20)) == newest_of_a
        assert _texts(store.search.find("alice", ["fig"], 20, room="#a")) == newest_of_a
        assert after == [None, None]  # looked after, in vain: the MATCH found them
        every_of_a = [f"fig {n}" for n in range(39, -1, -1)]
        assert _texts(store.search.find("alice", ["fig"], 50, room="#a")) == every_of_a
        assert after == [None, None]  # 50 from under 3%: the MATCH at once
        store.rooms.join_room("alice", "#big", NOW)  # now most messages are hers to see
        newest = [f"fig big {n}" for n in range(1_499, 1_479, -1)]
        assert _texts(store.search.find("alice", ["fig"], 20)) == newest
        assert _texts(store.search.find("alice", ["big", "1499"], 20)) == ["fig big 1499"]
        assert after == [None, None, 20, 1]  # filtered after, the page full / every hit seen
    finally:
        store.close()


def _alice_and_bob_in_a(store: Store) -> None:
    for name in ("alice", "bob"):
        assert store.users.create_user(name, "x", NOW) is None
        store.rooms.join_room(name, "#a", NOW)


def _integrity_check(store: Store, url: str) -> None:
    """SQLite: FTS5 compares each index with its table's rows (raises if they differ)."""
    if not url.startswith("sqlite"):
        return
    with store.db.engine.begin() as db:
        for table in ("room_messages_fts", "messages_fts"):
            db.execute(text(f"INSERT INTO {table} ({table}, rank) VALUES ('integrity-check', 1)"))


def test_sqlite_walks_the_fts_index_newest_first_without_sorting(db_url: str) -> None:
    """chat/1 asks for the newest hits of maybe 100,000: FTS5 hands them over in rowid order,
    descending, and the LIMIT stops it; each hit is read from its table by rowid."""
    path = db_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as raw:
        for statement, match in ((_SQLITE_ROOMS, '{text} : ("x"*) AND {room_id} : ("1")'),
                                 (_SQLITE_DMS_ALL, '{text} : ("x"*)')):  # fmt: skip
            plan = raw.execute(
                f"EXPLAIN QUERY PLAN {statement}",
                {"match": match, "limit": 21, "uid": 1},
            ).fetchall()
            details = [row[3] for row in plan]
            assert details[0].startswith("SCAN ") and "VIRTUAL TABLE" in details[0], details
            assert "INTEGER PRIMARY KEY" in details[1], details
            assert not any("TEMP B-TREE" in d for d in details), details
        # filtered after FTS5: the hits stream through a co-routine, unsorted, so the LIMIT
        # stops the FTS5 scan as soon as the page is full
        params = {"match": '{text} : ("x")', "rooms": "[1]", "limit": 20, "looked_at": 1000}
        plan = raw.execute(f"EXPLAIN QUERY PLAN {_SQLITE_ROOM_HITS}", params).fetchall()
        details = [row[3] for row in plan]
        assert details[0] == "CO-ROUTINE hit" and "VIRTUAL TABLE" in details[1], details
        assert not any("TEMP B-TREE" in d for d in details), details


def test_a_round_is_one_segment_of_each_sqlite_index_and_found_at_once(db_url: str) -> None:
    """The writer stores a round's direct messages, and its says, as one statement each: FTS5
    writes what a statement indexed as a new segment when the statement ends, so a message per
    statement (executemany) was a segment per message, three times the writes of the commit
    (service/store/driver_statement.py, RowsInsert). Found by a search once committed."""
    store = Store.open(db_url, group_commit=True)
    try:
        _alice_and_bob_in_a(store)
        alice, bob = user_id(store, "alice"), user_id(store, "bob")
        items: list[Item] = []
        for i in range(70):  # more than one statement's rows: two statements, two segments
            dm = MessageRecord(alice, "alice", "bob", f"plum {i}", None)
            items.append(DirectMessage(Nobody(), None, False, dm))
            say = SayRecord(bob, "bob", "#a", f"pear {i}", None)
            items.append(Say(Nobody(), None, False, say))
        commit_round(store.group_writer, Round(items))

        assert len(_texts(store.search.find("bob", ["plum"], 100))) == 70
        assert len(_texts(store.search.find("alice", ["pear"], 100))) == 70
        with store.db.engine.connect() as db:
            for table in ("messages_fts_idx", "room_messages_fts_idx"):
                segments = db.scalar(text(f"SELECT count(DISTINCT segid) FROM {table}"))
                assert segments == 2, (table, segments)
    finally:
        store.close()


def test_the_writer_merges_the_sqlite_indexes_in_steps_instead_of_fts5(db_url: str) -> None:
    """FTS5's own merging is off (migration 0012: it merged in bursts that held up every message
    behind them); the writer merges a few pages every STEP_ROWS rows instead (IndexMerges, in
    service/store/index_merges.py). Eight rounds, eight segments of each index, are merged as
    they come, as FTS5 would: four on a level make one."""
    store = Store.open(db_url, group_commit=True)
    try:
        _alice_and_bob_in_a(store)
        alice, bob = user_id(store, "alice"), user_id(store, "bob")
        per_round = STEP_ROWS // 4  # a step every fourth round
        for r in range(8):
            items: list[Item] = []
            for i in range(per_round):
                dm = MessageRecord(alice, "alice", "bob", f"plum {r}.{i}", None)
                items.append(DirectMessage(Nobody(), None, False, dm))
                say = SayRecord(bob, "bob", "#a", f"pear {r}.{i}", None)
                items.append(Say(Nobody(), None, False, say))
            commit_round(store.group_writer, Round(items))

        with store.db.engine.connect() as db:
            for fts in ("messages_fts", "room_messages_fts"):
                automerge = db.scalar(text(f"SELECT v FROM {fts}_config WHERE k = 'automerge'"))
                assert automerge == 0, (fts, automerge)
                segments = db.scalar(text(f"SELECT count(DISTINCT segid) FROM {fts}_idx"))
                assert segments <= 3, (fts, segments)  # unmerged: 8
        _integrity_check(store, db_url)
        assert len(_texts(store.search.find("bob", ["plum"], 100))) == 8 * per_round
        assert len(_texts(store.search.find("alice", ["pear"], 100))) == 8 * per_round
    finally:
        store.close()
