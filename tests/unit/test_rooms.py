"""The pure rules of rooms (service/wire/rooms.py) and the hub's index of online members."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.admin.rooms import room_name
from service.core.room_index import RoomIndex
from service.wire import requests as m
from service.wire.codec import encode
from service.wire.errors import RequestError
from service.wire.events import room_message_event
from service.wire.rooms import (
    CATCH_UP_PER_ROOM,
    MAX_ROOMS_PER_USER,
    catch_up_count,
    creation_wait_s,
    has_room_for_another,
    is_valid_history_limit,
    is_valid_room_name,
    moved_marker,
    unread_count,
)


@pytest.mark.parametrize(
    "name", ["#general", "#a", "#0", "#cs-101_fall", "#" + "a" * 32, "#9-_", "#a-"]
)
def test_valid_room_names(name: str) -> None:
    assert is_valid_room_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "general",  # no #
        "#",  # nothing after it
        "##general",
        "#General",  # lowercase only: the server never lower-cases
        "#-general",  # not first
        "#_general",
        "#" + "a" * 33,  # 32 after the # at most
        "#gen eral",
        "#général",  # ASCII only
        "#general\n",  # a trailing newline is not the end of the name
        " #general",
        "",
    ],
)
def test_malformed_room_names(name: str) -> None:
    assert not is_valid_room_name(name)


def test_history_limits_and_the_room_limit() -> None:
    assert [is_valid_history_limit(n) for n in (0, 1, 50, 100, 101, -1)] == [
        False, True, True, True, False, False,
    ]  # fmt: skip
    assert has_room_for_another(MAX_ROOMS_PER_USER - 1)
    assert not has_room_for_another(MAX_ROOMS_PER_USER)


def test_the_read_marker_only_moves_forward_and_never_past_the_last_message() -> None:
    assert moved_marker(5, 7, 10) == 7
    assert moved_marker(5, 3, 10) == 5  # backwards: ignored
    assert moved_marker(5, 99, 10) == 10  # unsaid messages cannot be read
    assert moved_marker(0, -4, 0) == 0


def test_unread_counts_the_messages_above_the_marker_but_the_excluded() -> None:
    assert unread_count(last_seq=10, marker=4, excluded=0) == 6
    assert unread_count(last_seq=10, marker=4, excluded=2) == 4  # own or blocked senders'
    assert unread_count(last_seq=10, marker=10, excluded=0) == 0
    assert unread_count(last_seq=0, marker=0, excluded=0) == 0


def test_catch_up_sends_at_most_fifty_per_room() -> None:
    assert [catch_up_count(n) for n in (0, 1, 50, 51, 1_000_000)] == [0, 1, 50, 50, 50]
    assert CATCH_UP_PER_ROOM == 50


def test_the_operator_may_leave_out_the_hash() -> None:
    assert room_name("general") == "#general"
    assert room_name("#general") == "#general"
    assert room_name("#General") == room_name("General") == "#general"  # as chat-client does
    with pytest.raises(ValueError, match="not a room name"):
        room_name("gen eral")


@given(room=st.text(), seq=st.integers(min_value=0, max_value=2**63 - 1), sender=st.text(),
       text=st.text(), sent_at=st.text(), stored=st.booleans())  # fmt: skip
def test_room_message_event_is_what_encode_writes(
    room: str, seq: int, sender: str, text: str, sent_at: str, stored: bool
) -> None:
    expected = encode({"ev": "room_message", "room": room, "seq": seq, "from": sender,
                       "text": text, "sent_at": sent_at, "stored": stored})  # fmt: skip
    assert room_message_event(room, seq, sender, text, sent_at, stored) == expected


# --- requests ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "frame",
    [
        {"op": "history", "room": "#a", "limit": 0},
        {"op": "history", "room": "#a", "limit": 101},
        {"op": "history", "room": "#a", "limit": "5"},
        {"op": "history", "room": "#a", "limit": True},
        {"op": "history", "room": "#a", "before": 1.5},
        {"op": "history"},
        {"op": "say", "room": "#a"},
        {"op": "say", "room": "#a", "text": "x", "nonce": "n" * 129},
        {"op": "read", "room": "#a", "seq": "3"},
        {"op": "join", "room": 7},
    ],
)
def test_ill_typed_room_requests_are_bad_requests(frame: dict[str, object]) -> None:
    with pytest.raises(RequestError) as refusal:
        m.parse_fields(m.REQUEST_TYPES[str(frame["op"])], frame)
    assert refusal.value.code.value == "bad_request"


def test_room_requests_parse_with_their_defaults() -> None:
    assert m.parse_fields(m.History, {"room": "#a"}) == m.History("#a", None, None)
    assert m.parse_fields(m.Say, {"room": "#a", "text": "hi"}) == m.Say("#a", "hi", None)
    assert m.parse_fields(m.Read, {"room": "#a", "seq": 3}) == m.Read("#a", 3)


# --- the hub's index of online members ---------------------------------------------------------


def test_the_index_follows_logins_joins_leaves_and_logouts() -> None:
    index: RoomIndex[str] = RoomIndex()
    index.enter("alice", "conn-a", ["#x", "#y"])
    index.join("#x", "bob", "conn-b", created=False)
    assert sorted(index.online_members("#x")) == [("alice", "conn-a"), ("bob", "conn-b")]

    index.leave("#x", "alice")
    assert index.online_members("#x") == [("bob", "conn-b")]
    assert index.rooms_of("alice") == {"#y"}

    index.exit("bob")
    assert index.online_members("#x") == []
    assert index.rooms_of("bob") == set()


def test_a_room_made_anew_forgets_members_an_operator_deletion_left_behind() -> None:
    index: RoomIndex[str] = RoomIndex()
    index.enter("alice", "conn-a", ["#x"])  # then an operator deletes #x; nobody is told
    index.join("#x", "bob", "conn-b", created=True)
    assert index.online_members("#x") == [("bob", "conn-b")]
    assert index.rooms_of("alice") == set()


def test_a_join_by_someone_offline_changes_nothing() -> None:
    index: RoomIndex[str] = RoomIndex()
    index.join("#x", "carol", None, created=False)
    assert index.online_members("#x") == []


# --- room creations per hour (issue 17, point 11) -----------------------------------------


def test_creations_under_the_limit_or_without_one_wait_for_nothing() -> None:
    now = datetime(2026, 12, 6, 12, tzinfo=UTC)
    two = [now - timedelta(minutes=1), now - timedelta(minutes=2)]
    assert creation_wait_s(two, 3, now) is None
    assert creation_wait_s(two, 0, now) is None


def test_at_the_limit_the_wait_is_until_the_oldest_leaves_the_hour_rounded_up() -> None:
    now = datetime(2026, 12, 6, 12, tzinfo=UTC)
    newest = [now - timedelta(seconds=1), now - timedelta(minutes=59, seconds=59.5)]
    assert creation_wait_s(newest, 2, now) == 1  # 0.5 s rounds up to 1
    assert creation_wait_s([now, now], 2, now) == 3600
    assert creation_wait_s([now - timedelta(hours=1)], 1, now) == 1  # never 0
