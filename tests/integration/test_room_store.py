"""The rooms' store against a real database: membership, numbering, unread, history, deletion.

SQLite in tmp_path; the concurrency test also runs on PostgreSQL when PARLEY_TEST_POSTGRES
names a server (as the e2e tests do).
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from service.admin import accounts
from service.store import Joined, Refusal, RoomsAtLogin, Store
from service.store.room_statements import SavedSay
from service.wire.rooms import MAX_ROOMS_PER_USER

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
LIMIT = 4_000


def seed(store: Store, *names: str) -> None:
    for name in names:
        store.users.create_user(name, "not-a-real-hash", T0)


def say(store: Store, user: str, room: str, text: str, nonce: str | None = None) -> SavedSay:
    outcome = store.room_messages.say(user, room, text, nonce, T0, max_chars=LIMIT)
    assert isinstance(outcome, SavedSay), outcome
    return outcome


def joined(store: Store, user: str, room: str) -> Joined:
    outcome = store.rooms.join_room(user, room, T0)
    assert isinstance(outcome, Joined), outcome
    return outcome


def unread(store: Store, user: str) -> dict[str, int]:
    excluded = frozenset(store.blocks.blocked_by(user) | {user})
    return {r.room: r.unread for r in store.room_messages.rooms_at_login(user, excluded).rooms}


# --- membership --------------------------------------------------------------------------------


def test_join_creates_then_joins_and_a_second_join_changes_nothing(store: Store) -> None:
    seed(store, "alice", "bob")
    first = joined(store, "alice", "#general")
    assert (first.created, first.members, first.already) == (True, 1, False)
    second = joined(store, "bob", "#general")
    assert (second.created, second.members, second.already) == (False, 2, False)
    again = joined(store, "bob", "#general")
    assert (again.created, again.members, again.already) == (False, 2, True)
    assert store.rooms.members_of("#general") == ["alice", "bob"]
    [summary] = store.operator_rooms.list_rooms()
    assert (summary.name, summary.creator, summary.members) == ("#general", "alice", 2)


def test_a_new_member_starts_with_nothing_unread(store: Store) -> None:
    seed(store, "alice", "bob")
    joined(store, "alice", "#general")
    for n in range(3):
        say(store, "alice", "#general", f"before {n}")
    joined(store, "bob", "#general")
    assert unread(store, "bob") == {"#general": 0}
    say(store, "alice", "#general", "after")
    assert unread(store, "bob") == {"#general": 1}


def test_a_user_is_in_at_most_a_hundred_rooms(store: Store) -> None:
    seed(store, "alice")
    for n in range(MAX_ROOMS_PER_USER):
        joined(store, "alice", f"#r{n}")
    assert store.rooms.join_room("alice", "#one-more", T0) is Refusal.TOO_MANY_ROOMS
    assert store.operator_rooms.room_summary("#one-more") is None  # the refusal made no room
    assert joined(store, "alice", "#r7").already  # joining one of them again is fine


def test_leave_refusals_then_leave(store: Store) -> None:
    seed(store, "alice", "bob")
    joined(store, "alice", "#general")
    assert store.rooms.leave_room("bob", "#nowhere") is Refusal.NO_SUCH_ROOM
    assert store.rooms.leave_room("bob", "#General") is Refusal.NO_SUCH_ROOM  # malformed
    assert store.rooms.leave_room("bob", "#general") is Refusal.NOT_MEMBER
    assert store.rooms.leave_room("alice", "#general") is None
    assert store.rooms.members_of("#general") == []
    assert [r.name for r in store.operator_rooms.list_rooms()] == ["#general"]  # kept, though empty


def test_then_runs_after_a_change_only(store: Store) -> None:
    seed(store, "alice")
    seen: list[object] = []
    store.rooms.join_room("alice", "#general", T0, then=seen.append)
    store.rooms.join_room("alice", "#general", T0, then=seen.append)  # already in: no change
    store.rooms.leave_room("alice", "#general", then=lambda: seen.append("left"))
    store.rooms.leave_room("alice", "#general", then=lambda: seen.append("left again"))
    assert seen == [Joined(True, 1, False), "left"]


# --- numbering, refusals and nonces ------------------------------------------------------------


def test_messages_are_numbered_per_room_from_one(store: Store) -> None:
    seed(store, "alice")
    joined(store, "alice", "#a")
    joined(store, "alice", "#b")
    seqs = [say(store, "alice", room, "x").seq for room in ("#a", "#a", "#b", "#a", "#b")]
    assert seqs == [1, 2, 1, 3, 2]


def test_say_refusals_come_in_the_order_chat1_lists_them(store: Store) -> None:
    seed(store, "alice", "bob")
    joined(store, "alice", "#general")
    long = "x" * (LIMIT + 1)

    def refusal(user: str, room: str, words: str) -> object:
        return store.room_messages.say(user, room, words, None, T0, max_chars=LIMIT)

    assert refusal("ghost", "#nowhere", long) is Refusal.ACCOUNT_GONE
    assert refusal("bob", "#nowhere", long) is Refusal.NO_SUCH_ROOM
    assert refusal("bob", "#General", "hi") is Refusal.NO_SUCH_ROOM
    assert refusal("bob", "#general", long) is Refusal.NOT_MEMBER
    assert refusal("alice", "#general", long) is Refusal.TOO_LONG
    assert store.operator_rooms.room_history("#general", None) == []  # refusals store nothing


def test_a_nonce_retry_returns_the_original_seq_and_stores_nothing(store: Store) -> None:
    seed(store, "alice", "bob")
    joined(store, "alice", "#general")
    joined(store, "bob", "#general")
    first = say(store, "alice", "#general", "hello", nonce="k1")
    retry = say(store, "alice", "#general", "hello again", nonce="k1")
    other = say(store, "bob", "#general", "same key, other sender", nonce="k1")
    assert (retry.seq, retry.is_retry) == (first.seq, True)
    assert other.seq == first.seq + 1 and not other.is_retry
    assert [line.text for line in store.operator_rooms.room_history("#general", None) or []] == [
        "hello", "same key, other sender",
    ]  # fmt: skip


def test_say_nonces_are_kept_a_day_then_pruned(store: Store) -> None:
    seed(store, "alice")
    joined(store, "alice", "#general")
    say(store, "alice", "#general", "hello", nonce="k1")
    assert store.nonces.prune(T0 + timedelta(hours=24)) == 0
    assert store.nonces.prune(T0 + timedelta(hours=26)) == 1


def test_blockers_of_the_sender_come_with_the_saved_message(store: Store) -> None:
    seed(store, "alice", "bob", "carol")
    joined(store, "alice", "#general")
    store.blocks.block("bob", "alice", T0)
    assert say(store, "alice", "#general", "hi").blockers == frozenset({"bob"})


# --- read markers, unread, catch-up ------------------------------------------------------------


def test_unread_leaves_out_own_messages_and_those_of_blocked_users(store: Store) -> None:
    seed(store, "alice", "bob", "carol")
    for name in ("alice", "bob", "carol"):
        joined(store, name, "#general")
    store.blocks.block("bob", "carol", T0)
    for sender in ("alice", "bob", "carol", "alice", "carol"):
        say(store, sender, "#general", f"from {sender}")
    assert unread(store, "bob") == {"#general": 2}  # alice's two
    assert unread(store, "alice") == {"#general": 3}

    excluded = frozenset({"bob", "carol"})
    at_login: RoomsAtLogin = store.room_messages.rooms_at_login("bob", excluded)
    [state] = at_login.rooms
    assert [line.sender for line in store.room_messages.catch_up(state, excluded)] == [
        "alice",
        "alice",
    ]


def test_read_moves_the_marker_forward_only_and_not_past_the_end(store: Store) -> None:
    seed(store, "alice", "bob")
    joined(store, "alice", "#general")
    joined(store, "bob", "#general")
    for n in range(5):
        say(store, "alice", "#general", f"m{n}")
    assert store.room_messages.mark_read("bob", "#general", 3) == 3  # moved, to 3
    assert unread(store, "bob") == {"#general": 2}
    assert store.room_messages.mark_read("bob", "#general", 1) is None  # backwards: ignored
    assert store.room_messages.mark_read("bob", "#general", 3) is None  # not moved
    assert unread(store, "bob") == {"#general": 2}
    assert store.room_messages.mark_read("bob", "#general", 1_000) == 5  # past the end: the end
    say(store, "alice", "#general", "new")
    assert unread(store, "bob") == {"#general": 1}
    assert store.room_messages.mark_read("bob", "#nowhere", 1) is Refusal.NO_SUCH_ROOM
    assert store.room_messages.mark_read("alice", "#general", 1) == 1  # saying moves none


def test_catch_up_is_the_newest_fifty_unread_oldest_first(store: Store) -> None:
    seed(store, "alice", "bob")
    joined(store, "alice", "#general")
    joined(store, "bob", "#general")
    for n in range(1, 61):
        say(store, "alice", "#general", f"m{n}")
    excluded = frozenset({"bob"})
    [state] = store.room_messages.rooms_at_login("bob", excluded).rooms
    assert (state.unread, state.last_seq, state.marker) == (60, 60, 0)
    lines = store.room_messages.catch_up(state, excluded)
    assert [line.seq for line in lines] == list(range(11, 61))


def test_rooms_at_login_lists_a_users_rooms_by_name(store: Store) -> None:
    seed(store, "alice")
    for room in ("#zeta", "#alpha", "#mid"):
        joined(store, "alice", room)
    rooms = store.room_messages.rooms_at_login("alice", frozenset({"alice"})).rooms
    assert [r.room for r in rooms] == ["#alpha", "#mid", "#zeta"]
    assert store.rooms.rooms_of("alice") == ["#alpha", "#mid", "#zeta"]


# --- history, rooms, deletion ------------------------------------------------------------------


def test_history_pages_backwards_oldest_first(store: Store) -> None:
    seed(store, "alice", "bob")
    joined(store, "alice", "#general")
    for n in range(1, 8):
        say(store, "alice", "#general", f"m{n}")
    newest = store.room_messages.history("alice", "#general", None, 3)
    assert not isinstance(newest, Refusal)
    assert [line.seq for line in newest] == [5, 6, 7]
    older = store.room_messages.history("alice", "#general", newest[0].seq, 3)
    assert not isinstance(older, Refusal)
    assert [line.seq for line in older] == [2, 3, 4]
    assert store.room_messages.history("bob", "#general", None, 3) is Refusal.NOT_MEMBER
    assert store.room_messages.history("bob", "#nowhere", None, 3) is Refusal.NO_SUCH_ROOM


def test_room_list_counts_members_and_says_which_are_yours(store: Store) -> None:
    seed(store, "alice", "bob")
    joined(store, "alice", "#b")
    joined(store, "bob", "#b")
    joined(store, "bob", "#a")
    entries = store.rooms.room_list("alice")
    assert [(e.room, e.members, e.joined) for e in entries] == [("#a", 1, False), ("#b", 2, True)]


def test_deleting_a_user_keeps_what_it_said_under_its_name(store: Store) -> None:
    seed(store, "alice", "bob")
    joined(store, "alice", "#general")
    joined(store, "bob", "#general")
    say(store, "bob", "#general", "bob was here", nonce="k")
    accounts.delete_user(store, "bob")
    assert store.rooms.members_of("#general") == ["alice"]
    lines = store.operator_rooms.room_history("#general", None) or []
    assert [(line.sender, line.text) for line in lines] == [("bob", "bob was here")]
    assert unread(store, "alice") == {"#general": 1}  # and still counts as unread


def test_deleting_a_room_takes_its_members_and_history(store: Store) -> None:
    seed(store, "alice")
    joined(store, "alice", "#general")
    say(store, "alice", "#general", "hi", nonce="k")
    gone = store.operator_rooms.delete_room("#general")
    assert gone is not None and (gone.members, gone.messages) == (1, 1)
    assert store.operator_rooms.list_rooms() == [] and store.rooms.rooms_of("alice") == []
    counts = store.db.read(lambda s: [
        s.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
        for table in ("room_members", "room_messages", "room_nonces")
    ])  # fmt: skip
    assert counts == [0, 0, 0]
    again = joined(store, "alice", "#general")  # the name is free: a new, empty room
    assert again.created and say(store, "alice", "#general", "anew").seq == 1


# --- the indexes -------------------------------------------------------------------------------


def test_history_and_unread_use_the_indexes(store: Store) -> None:
    """Paging (`seq < before ORDER BY seq DESC LIMIT n`) walks the primary key's index from
    `before` down, and the excluded senders are counted on (room_id, sender, seq): neither reads the
    room's other messages, so both stay fast with millions of them."""
    plans = store.db.read(lambda s: [
        " ".join(row[3] for row in s.execute(text("EXPLAIN QUERY PLAN " + query)))
        for query in (
            "SELECT seq, sender, text, sent_at FROM room_messages WHERE room_id = 1 "
            "AND seq < 500 ORDER BY seq DESC LIMIT 50",
            "SELECT count(*) FROM room_messages WHERE room_id = 1 AND sender IN ('a', 'b') "
            "AND seq > 10 AND seq <= 900",
        )
    ])  # fmt: skip
    assert plans[0].startswith("SEARCH room_messages USING INDEX"), plans[0]
    assert "(room_id=? AND seq<?)" in plans[0], plans[0]
    assert "TEMP B-TREE" not in plans[0], plans[0]
    assert "COVERING INDEX ix_room_messages_room_id_sender_seq" in plans[1], plans[1]


# --- numbering under concurrency ---------------------------------------------------------------


def test_concurrent_writers_number_a_room_gap_free(any_db_url: str) -> None:
    """Several threads, each with its own transactions (as separate programs would), say in
    one room at once: every message gets its own seq and together they are 1..n."""
    store = Store.open(any_db_url, group_commit=False)
    writers, each = 6, 15
    try:
        seed(store, *(f"u{n}" for n in range(writers)))
        for n in range(writers):
            joined(store, f"u{n}", "#busy")
        seqs: list[int] = []
        lock = threading.Lock()

        def talk(n: int) -> None:
            for k in range(each):
                seq = say(store, f"u{n}", "#busy", f"{n}:{k}").seq
                with lock:
                    seqs.append(seq)

        threads = [threading.Thread(target=talk, args=(n,)) for n in range(writers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert sorted(seqs) == list(range(1, writers * each + 1))
        lines = store.operator_rooms.room_history("#busy", None) or []
        assert [line.seq for line in lines] == sorted(seqs)
        for n in range(writers):  # each writer's messages in the order it said them
            mine = [line.text for line in lines if line.sender == f"u{n}"]
            assert mine == [f"{n}:{k}" for k in range(each)]
    finally:
        store.close()
