"""Rooms end to end: every op, error code and event of chat/1 "Rooms (feature `rooms`)".

Catch-up at login, restarts and slow members are in test_rooms_catch_up.py; kill -9 during a
stream of `say` in test_rooms_crash.py. "No event arrived" is checked with a `ping`: a room
event is queued for its recipients before the request that caused it is answered, so once
the recipient's own later reply is in, anything sent to it before has been read.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest

from service.admin.accounts import delete_user
from service.config import ServerConfig
from service.store import Store
from tests.conftest import PASSWORD
from tests.e2e.test_messages import assert_recent_rfc3339_z
from tests.support.client import TestClient
from tests.support.rooms import cheap_server, join, refused, room_events, say, say_all
from tests.support.server import RunningServer

Frame = dict[str, Any]
Login = Callable[[str], TestClient]


@pytest.fixture
def server(server_config: ServerConfig) -> Iterator[RunningServer]:
    # Some tests here make rooms by the hundred: no limit on creations (test_room_creation_limit)
    with cheap_server(replace(server_config, room_creations_per_hour=0)) as running:
        yield running


@pytest.fixture
def trio(login: Login) -> tuple[TestClient, TestClient, TestClient]:
    """alice, bob and carol online; alice and bob in #general, carol not."""
    alice, bob, carol = login("alice"), login("bob"), login("carol")
    join(alice, "#general")
    join(bob, "#general")
    alice.expect(ev="room_join", user="bob")
    return alice, bob, carol


# --- hello, join -------------------------------------------------------------------------------


def test_hello_lists_the_rooms_feature(connect: Callable[[], TestClient]) -> None:
    assert "rooms" in connect().hello["features"]


def test_join_makes_the_room_then_joins_it_and_tells_the_members(login: Login) -> None:
    alice, bob = login("alice"), login("bob")
    first = join(alice, "#general")
    assert (first["room"], first["created"], first["members"]) == ("#general", True, 1)

    second = join(bob, "#general")
    assert (second["created"], second["members"]) == (False, 2)

    event = alice.expect(ev="room_join")
    assert (event["room"], event["user"]) == ("#general", "bob")
    assert_recent_rfc3339_z(event["at"])
    assert room_events(bob) == []  # the joiner gets its reply, not the event


def test_joining_a_room_again_changes_nothing(
    trio: tuple[TestClient, TestClient, TestClient],
) -> None:
    alice, bob, _ = trio
    again = join(bob, "#general")
    assert (again["created"], again["members"]) == (False, 2)
    assert room_events(alice) == []


@pytest.mark.parametrize(
    "name", ["general", "#", "#General", "#-x", "#" + "a" * 33, "#a b", "#é", 5, None]
)
def test_join_refuses_a_malformed_name(login: Login, name: object) -> None:
    alice = login("alice")
    reply = alice.request("join", room=name)
    if isinstance(name, str):
        refused(reply, "bad_room_name")
    else:
        refused(reply, "bad_request")
    assert alice.request("rooms")["rooms"] == []


def test_a_user_is_in_at_most_a_hundred_rooms(login: Login) -> None:
    alice = login("alice")
    alice.send_raw(b"".join(
        json.dumps({"op": "join", "id": f"j{n}", "room": f"#r{n:03d}"}).encode() + b"\n"
        for n in range(100)
    ))  # fmt: skip
    assert all(alice.reply_to(f"j{n}")["ok"] for n in range(100))

    refused(alice.request("join", room="#one-more"), "too_many_rooms")
    assert join(alice, "#r042")["created"] is False  # one of hers: nothing changes
    refused(alice.request("join", room="#Bad"), "bad_room_name")  # the name comes first


# --- say ---------------------------------------------------------------------------------------


def test_say_goes_live_to_the_other_members_numbered_from_one(
    trio: tuple[TestClient, TestClient, TestClient],
) -> None:
    alice, bob, carol = trio
    replies = [say(alice, "#general", f"m{n}") for n in range(1, 4)]
    assert [(r["seq"], r["delivered_to"]) for r in replies] == [(1, 1), (2, 1), (3, 1)]

    events = [bob.expect(ev="room_message") for _ in range(3)]
    assert [(e["seq"], e["text"]) for e in events] == [(1, "m1"), (2, "m2"), (3, "m3")]
    assert all(e["room"] == "#general" and e["from"] == "alice" for e in events)
    assert all(e["stored"] is False for e in events)
    assert set(events[0]) == {"ev", "room", "seq", "from", "text", "sent_at", "stored"}
    assert_recent_rfc3339_z(events[0]["sent_at"])
    assert room_events(alice) == []  # not echoed to the sender
    assert room_events(carol) == []  # not a member

    assert say(bob, "#general", "hi")["seq"] == 4  # one numbering per room, whoever says


@pytest.mark.parametrize(
    ("room", "text", "code"),
    [
        ("#nowhere", "hi", "no_such_room"),
        ("#General", "hi", "no_such_room"),  # malformed: as if it did not exist
        ("#general", "x" * 4_001, "not_member"),  # carol is not in it: that comes first
    ],
)
def test_say_refusals_for_non_members(
    trio: tuple[TestClient, TestClient, TestClient], room: str, text: str, code: str
) -> None:
    alice, _, carol = trio
    refused(carol.request("say", room=room, text=text), code)
    assert alice.request("history", room="#general")["messages"] == []


def test_say_refuses_text_over_the_limit_and_missing_fields(
    trio: tuple[TestClient, TestClient, TestClient],
) -> None:
    alice, bob, _ = trio
    refused(alice.request("say", room="#general", text="é" * 4_001), "too_long")
    assert say(alice, "#general", "é" * 4_000)["seq"] == 1  # code points, not bytes
    refused(alice.request("say", room="#general"), "bad_request")
    refused(alice.request("say", text="hi"), "bad_request")
    assert [e["seq"] for e in room_events(bob, ev="room_message")] == [1]


def test_say_retried_with_a_known_nonce_returns_the_original_seq(
    trio: tuple[TestClient, TestClient, TestClient],
) -> None:
    alice, bob, _ = trio
    first = say(alice, "#general", "hello", nonce="n-1")
    join(alice, "#other")
    retry = say(alice, "#other", "hello again", nonce="n-1")  # whatever its room and text

    assert (retry["seq"], retry["delivered_to"]) == (first["seq"], 0)
    assert [e["text"] for e in room_events(bob, ev="room_message")] == ["hello"]
    history = alice.request("history", room="#general")["messages"]
    assert [m["text"] for m in history] == ["hello"]
    assert alice.request("history", room="#other")["messages"] == []
    assert say(alice, "#general", "next")["seq"] == first["seq"] + 1


# --- read --------------------------------------------------------------------------------------


def test_read_without_id_is_not_answered_and_with_id_it_is(
    trio: tuple[TestClient, TestClient, TestClient],
) -> None:
    alice, bob, carol = trio
    say(alice, "#general", "hello")
    bob.send({"op": "read", "room": "#general", "seq": 1})
    assert bob.request("ping")["ok"]
    assert [frame for frame in bob.events() if "re" in frame] == []  # no reply to the read
    reply = bob.request("read", room="#general", seq=1)
    assert reply == {"re": reply["re"], "ok": True}
    refused(carol.request("read", room="#general", seq=1), "not_member")
    refused(carol.request("read", room="#nowhere", seq=1), "no_such_room")
    refused(carol.request("read", room="#general", seq="1"), "bad_request")


# --- history -----------------------------------------------------------------------------------


def test_history_pages_backwards_oldest_first(
    trio: tuple[TestClient, TestClient, TestClient],
) -> None:
    alice, bob, _ = trio
    for n in range(1, 8):
        say(alice if n % 2 else bob, "#general", f"m{n}")

    everything = bob.request("history", room="#general")["messages"]
    assert [m["seq"] for m in everything] == list(range(1, 8))  # own messages included
    assert set(everything[0]) == {"seq", "from", "text", "sent_at"}
    assert (everything[1]["from"], everything[1]["text"]) == ("bob", "m2")
    assert_recent_rfc3339_z(everything[0]["sent_at"])

    newest = bob.request("history", room="#general", limit=3)["messages"]
    assert [m["seq"] for m in newest] == [5, 6, 7]
    older = bob.request("history", room="#general", before=5, limit=3)["messages"]
    assert [m["seq"] for m in older] == [2, 3, 4]
    assert bob.request("history", room="#general", before=1)["messages"] == []


def test_history_shows_at_most_fifty_unless_asked(
    trio: tuple[TestClient, TestClient, TestClient],
) -> None:
    alice, _, _ = trio
    alice.send_raw(b"".join(
        json.dumps({"op": "say", "id": f"s{n}", "room": "#general", "text": str(n)}).encode()
        + b"\n"
        for n in range(1, 121)
    ))  # fmt: skip
    assert all(alice.reply_to(f"s{n}")["ok"] for n in range(1, 121))
    default = alice.request("history", room="#general")["messages"]
    assert [m["seq"] for m in default] == list(range(71, 121))
    most = alice.request("history", room="#general", limit=100)["messages"]
    assert [m["seq"] for m in most] == list(range(21, 121))


def test_a_history_page_of_long_texts_fits_in_one_frame(
    trio: tuple[TestClient, TestClient, TestClient],
) -> None:
    """50 texts of 4,000 characters are 200 KB: the reply carries the newest that fit in
    chat/1's 64 KiB frame, and paging with `before` reaches the rest (found by review)."""
    alice, bob, _ = trio
    texts = {n: f"{n:03d}" + "é" * 3_996 for n in range(1, 51)}  # 2 bytes per é in UTF-8
    say_all(alice, "#general", texts)

    seen: list[int] = []
    before: int | None = None
    while True:
        fields = {"before": before} if before is not None else {}
        page = bob.request("history", room="#general", **fields)["messages"]  # read whole
        if not page:
            break
        assert [m["text"] for m in page] == [texts[m["seq"]] for m in page]
        seen = [m["seq"] for m in page] + seen
        before = page[0]["seq"]
    assert seen == list(range(1, 51))  # every message once, in order, over several pages


@pytest.mark.parametrize("limit", [0, 101, -1, "5", 2.5, True])
def test_history_limit_outside_1_to_100_is_a_bad_request(
    trio: tuple[TestClient, TestClient, TestClient], limit: object
) -> None:
    alice, _, _ = trio
    refused(alice.request("history", room="#general", limit=limit), "bad_request")


def test_history_refusals(trio: tuple[TestClient, TestClient, TestClient]) -> None:
    _, _, carol = trio
    refused(carol.request("history", room="#general"), "not_member")
    refused(carol.request("history", room="#nowhere"), "no_such_room")
    refused(carol.request("history", room="general"), "no_such_room")
    refused(carol.request("history", room="#nowhere", limit=0), "bad_request")  # first


# --- rooms, members ----------------------------------------------------------------------------


def test_rooms_lists_every_room_sorted_with_members_and_yours(
    trio: tuple[TestClient, TestClient, TestClient],
) -> None:
    alice, bob, carol = trio
    join(carol, "#zoo")
    join(carol, "#art")
    join(bob, "#art")
    assert alice.request("rooms")["rooms"] == [
        {"room": "#art", "members": 2, "joined": False},
        {"room": "#general", "members": 2, "joined": True},
        {"room": "#zoo", "members": 1, "joined": False},
    ]


def test_members_lists_members_and_who_of_them_is_online(
    trio: tuple[TestClient, TestClient, TestClient], login: Login
) -> None:
    alice, bob, carol = trio
    join(carol, "#general")
    carol.request("logout")
    carol.wait_closed()

    reply = alice.request("members", room="#general")
    assert (reply["users"], reply["online"]) == (["alice", "bob", "carol"], ["alice", "bob"])

    assert bob.request("block", user="alice")["ok"]  # as in whoelse: alice no longer sees bob
    reply = alice.request("members", room="#general")
    assert (reply["users"], reply["online"]) == (["alice", "bob", "carol"], ["alice"])
    assert bob.request("members", room="#general")["online"] == ["alice", "bob"]

    carol = login("carol")  # anyone may ask, member or not
    assert carol.request("members", room="#general")["online"] == ["alice", "bob", "carol"]
    refused(alice.request("members", room="#nowhere"), "no_such_room")
    refused(alice.request("members", room="#Nowhere"), "no_such_room")


# --- leave -------------------------------------------------------------------------------------


def test_leave_tells_the_members_and_ends_live_messages(
    trio: tuple[TestClient, TestClient, TestClient],
) -> None:
    alice, bob, carol = trio
    reply = bob.request("leave", room="#general")
    assert reply == {"re": reply["re"], "ok": True}
    event = alice.expect(ev="room_leave")
    assert (event["room"], event["user"]) == ("#general", "bob")
    assert_recent_rfc3339_z(event["at"])

    assert say(alice, "#general", "anyone?")["delivered_to"] == 0
    assert room_events(bob) == []
    refused(bob.request("history", room="#general"), "not_member")
    assert alice.request("members", room="#general")["users"] == ["alice"]

    refused(bob.request("leave", room="#general"), "not_member")
    refused(carol.request("leave", room="#nowhere"), "no_such_room")
    refused(carol.request("leave", room="nowhere"), "no_such_room")

    back = join(bob, "#general")  # the room stays; what was said meanwhile is history
    assert (back["created"], back["members"]) == (False, 2)
    assert [m["text"] for m in bob.request("history", room="#general")["messages"]] == ["anyone?"]


def test_an_empty_room_stays(login: Login) -> None:
    alice = login("alice")
    join(alice, "#quiet")
    say(alice, "#quiet", "echo")
    alice.request("leave", room="#quiet")
    assert join(alice, "#quiet")["created"] is False
    assert [m["text"] for m in alice.request("history", room="#quiet")["messages"]] == ["echo"]


# --- blocking ----------------------------------------------------------------------------------


def test_members_who_block_the_sender_do_not_get_its_messages(
    trio: tuple[TestClient, TestClient, TestClient],
) -> None:
    alice, bob, carol = trio
    join(carol, "#general")
    assert bob.request("block", user="alice")["ok"]

    assert say(alice, "#general", "hello all")["delivered_to"] == 1  # carol only
    assert carol.expect(ev="room_message")["text"] == "hello all"
    assert room_events(bob, ev="room_message") == []
    assert say(bob, "#general", "bob speaks")["delivered_to"] == 2  # alice still hears bob
    alice.expect(ev="room_message", text="bob speaks")
    history = bob.request("history", room="#general")["messages"]
    assert [m["text"] for m in history] == ["hello all", "bob speaks"]  # the record is whole


def test_join_and_leave_events_skip_either_side_of_a_block(login: Login) -> None:
    """chat/1: not sent about users who block you, nor to you about users you block."""
    alice, bob, carol = login("alice"), login("bob"), login("carol")
    join(alice, "#general")
    join(bob, "#general")
    alice.expect(ev="room_join", user="bob")
    assert bob.request("block", user="carol")["ok"]

    join(carol, "#general")  # bob blocks carol: bob hears nothing of her
    assert alice.expect(ev="room_join", user="carol")["room"] == "#general"
    assert room_events(bob) == []
    carol.request("leave", room="#general")
    alice.expect(ev="room_leave", user="carol")
    assert room_events(bob) == []

    join(carol, "#general")
    alice.expect(ev="room_join", user="carol")
    bob.request("leave", room="#general")  # bob blocks carol: carol hears nothing of him
    alice.expect(ev="room_leave", user="bob")
    assert room_events(carol) == []


# --- deleted accounts --------------------------------------------------------------------------


def test_a_deleted_users_messages_stay_in_history_under_its_name(
    trio: tuple[TestClient, TestClient, TestClient], server: RunningServer
) -> None:
    alice, bob, _ = trio
    say(bob, "#general", "remember me")
    bob.request("logout")
    bob.wait_closed()
    store = Store.open(server.db_url, group_commit=False)
    try:
        delete_user(store, "bob")
    finally:
        store.close()

    history = alice.request("history", room="#general")["messages"]
    assert [(m["from"], m["text"]) for m in history] == [("bob", "remember me")]
    assert alice.request("members", room="#general")["users"] == ["alice"]
    assert alice.request("rooms")["rooms"][0]["members"] == 1


def test_room_ops_need_a_login(connect: Callable[[], TestClient]) -> None:
    client = connect()
    requests: list[tuple[str, dict[str, Any]]] = [
        ("say", {"room": "#a", "text": "x"}), ("read", {"room": "#a", "seq": 1}),
        ("join", {"room": "#a"}), ("rooms", {}),
    ]  # fmt: skip
    for op, fields in requests:
        refused(client.request(op, **fields), "not_logged_in")
    assert client.login("alice", PASSWORD)["rooms"] == []


def test_a_room_the_operator_deletes_is_gone_and_its_name_free(
    trio: tuple[TestClient, TestClient, TestClient], server: RunningServer, login: Login
) -> None:
    alice, bob, _ = trio
    for n in range(3):
        say(alice, "#general", f"old {n}")
    bob.request("logout")
    bob.wait_closed()
    bob = login("bob")  # his login saw #general at seq 3
    store = Store.open(server.db_url, group_commit=False)
    try:
        assert store.operator_rooms.delete_room("#general") is not None
    finally:
        store.close()

    refused(bob.request("say", room="#general", text="hello?"), "no_such_room")
    refused(bob.request("history", room="#general"), "no_such_room")
    assert bob.request("rooms")["rooms"] == []
    assert join(alice, "#general")["created"] is True  # a new room by the old name
    join(bob, "#general")
    reply = say(alice, "#general", "fresh start")
    assert (reply["seq"], reply["delivered_to"]) == (1, 1)
    assert bob.expect(ev="room_message", stored=False)["text"] == "fresh start"
