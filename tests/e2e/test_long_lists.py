"""Every reply fits in one frame; long lists are paged (chat/1 precise point 18).

`whoelse`, `whoelsesince`, `rooms` and `members` take `after` and `limit` and answer `more`;
`members` also `count`; `history` answers `more` when older messages exist. Each reply is
read as raw bytes here, so "fits in one frame" is checked on the wire, newline included.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import create_engine, insert
from sqlalchemy.pool import NullPool

from service.config import ServerConfig
from service.store.models import Room
from service.wire.codec import encode
from service.wire.timeutil import utc_now
from tests.support.client import TestClient
from tests.support.rooms import cheap_server, crowd_room, join, refused, say_all
from tests.support.server import RunningServer

Login = Callable[..., TestClient]
Frame = dict[str, Any]

LONG = "x" * 24  # with an 8-character prefix: 32-character names, chat/1's longest


@pytest.fixture
def server(server_config: ServerConfig) -> Iterator[RunningServer]:
    # Some tests make rooms by the hundred: no limit on how many one user creates.
    with cheap_server(replace(server_config, room_creations_per_hour=0)) as running:
        yield running


def pages(client: TestClient, op: str, key: str, **fields: Any) -> list[Frame]:
    """Every page of a list, paging on with `after` from the last name of each. The test
    client asserts that each frame fits in chat/1's 65,536 bytes, newline included."""
    got: list[Frame] = []
    after: str | None = None
    while True:
        extra = {"after": after} if after is not None else {}
        reply = client.request(op, **fields, **extra)
        assert reply["ok"] is True, reply
        got.append(reply)
        if not reply["more"]:
            return got
        last = reply[key][-1]  # a page with more to come lists at least one name
        after = last if isinstance(last, str) else last["room"]


def make_rooms(db_url: str, rooms: list[str]) -> None:
    """Rooms without members, straight into the database in one transaction."""
    engine = create_engine(db_url, poolclass=NullPool)
    now = utc_now().replace(tzinfo=None)
    try:
        with engine.begin() as db:
            db.execute(
                insert(Room),
                [{"name": r, "created_at": now, "creator": "alice", "last_seq": 0} for r in rooms],
            )
    finally:
        engine.dispose()


# --- members -----------------------------------------------------------------------------------


def test_members_of_3001_members_come_in_pages_that_each_fit_a_frame(
    server: RunningServer, login: Login
) -> None:
    names = [f"m{n:04d}{LONG}xxx" for n in range(3_001)]  # 32 characters each: ~105 KB listed
    crowd_room(server.db_url, "#crowd", names)
    alice = login("alice")

    got = pages(alice, "members", "users", room="#crowd")

    assert [len(page["users"]) for page in got] == [1_000, 1_000, 1_000, 1]
    assert [u for page in got for u in page["users"]] == sorted(names)
    assert all(page["count"] == 3_001 and page["online"] == [] for page in got)


def test_members_pages_by_limit_and_lists_the_pages_online_members(login: Login) -> None:
    alice, bob, carol = login("alice"), login("bob"), login("carol")
    for client in (alice, bob, carol):
        join(client, "#small")
    assert bob.request("logout")["ok"]
    alice.expect(ev="presence", user="bob", state="offline")

    first = alice.request("members", room="#small", limit=2)
    second = alice.request("members", room="#small", limit=2, after="bob")

    assert first == {"re": first["re"], "ok": True, "users": ["alice", "bob"],
                     "online": ["alice"], "count": 3, "more": True}  # fmt: skip
    assert second == {"re": second["re"], "ok": True, "users": ["carol"], "online": ["carol"],
                      "count": 3, "more": False}  # fmt: skip


def test_members_of_a_name_that_sorts_between_members(login: Login) -> None:
    """`after` need not be a member (it may have left): the page starts after it anyway."""
    alice, carol = login("alice"), login("carol")
    join(alice, "#small")
    join(carol, "#small")
    reply = alice.request("members", room="#small", after="b")
    assert (reply["users"], reply["more"], reply["count"]) == (["carol"], False, 2)


# --- whoelse, whoelsesince ---------------------------------------------------------------------


@pytest.mark.parametrize("op,fields", [("whoelse", {}), ("whoelsesince", {"seconds": 60})])
def test_whoelse_and_whoelsesince_page_by_limit_and_after(
    login: Login, op: str, fields: dict[str, Any]
) -> None:
    alice, _, _ = login("alice"), login("bob"), login("carol")

    def page(**paging: Any) -> tuple[list[str], bool]:
        reply = alice.request(op, **fields, **paging)
        assert reply["ok"] is True, reply
        return reply["users"], reply["more"]

    assert page() == (["bob", "carol"], False)
    assert page(limit=1) == (["bob"], True)
    assert page(limit=1, after="bob") == (["carol"], False)
    assert page(after="a") == (["bob", "carol"], False)
    assert page(after="carol") == ([], False)
    assert page(after="Zed") == (["bob", "carol"], False)  # bytewise: upper case sorts first


# --- rooms -------------------------------------------------------------------------------------


def test_rooms_past_one_page_come_in_pages_sorted_by_name(
    server: RunningServer, login: Login
) -> None:
    rooms = [f"#r{n:04d}{LONG}xxx" for n in range(1_200)]  # 33 characters, the longest
    make_rooms(server.db_url, rooms)
    alice = login("alice")
    join(alice, "#mine")

    got = pages(alice, "rooms", "rooms")

    assert [len(page["rooms"]) for page in got] == [500, 500, 201]
    listed = [entry["room"] for page in got for entry in page["rooms"]]
    assert listed == sorted([*rooms, "#mine"])
    assert {"room": "#mine", "members": 1, "joined": True} in got[0]["rooms"]
    assert all("truncated" not in page for page in got)  # chat/1 defines `more`, nothing else
    small = alice.request("rooms", limit=2, after="#r1198")["rooms"]
    assert [entry["room"] for entry in small] == rooms[1198:1200]


# --- history -----------------------------------------------------------------------------------


def test_history_says_more_while_older_messages_exist(login: Login) -> None:
    alice = login("alice")
    join(alice, "#general")
    texts = {n: f"{n:03d}" + "€" * 3_997 for n in range(1, 21)}  # 12 KB each in UTF-8
    say_all(alice, "#general", texts)

    seen: list[int] = []
    before: int | None = None
    while True:
        fields = {"before": before} if before is not None else {}
        reply = alice.request("history", room="#general", **fields)  # frame size: client
        page = [m["seq"] for m in reply["messages"]]
        assert 0 < len(page) < 20 and page == sorted(page)
        assert reply["more"] is (page[0] > 1)
        seen = page + seen
        if not reply["more"]:
            break
        before = page[0]
    assert seen == list(range(1, 21))

    assert alice.request("history", room="#general", limit=2)["more"] is True
    last = alice.request("history", room="#general", before=3, limit=2)
    assert ([m["seq"] for m in last["messages"]], last["more"]) == ([1, 2], False)
    empty = alice.request("history", room="#general", before=1)
    assert (empty["messages"], empty["more"]) == ([], False)


# --- a client's long id -----------------------------------------------------------------------

HUGE_ID = "\U0001f600" * 11_667 + "i" * 18_333  # 30,000 characters, 65,001 bytes of UTF-8


def pages_with_huge_id(client: TestClient, op: str, key: str, **fields: Any) -> list[Any]:
    """Every entry of a list asked for with HUGE_ID, paging on as `pages` does (by `before`
    for history). Sent as UTF-8: \\u-escapes would not fit a frame. The test client asserts
    that each reply, which echoes the id in `re`, fits in a frame."""
    got: list[Any] = []
    cursor: dict[str, Any] = {}
    while True:
        frame = {"op": op, "id": HUGE_ID, **fields, **cursor}
        client.send_raw(encode(frame))  # UTF-8, as the server writes
        reply = client.reply_to(HUGE_ID)
        assert reply["ok"] is True, {k: v for k, v in reply.items() if k != "re"}
        entries = reply[key]
        got = [*entries, *got] if op == "history" else [*got, *entries]
        if not reply["more"]:
            return got
        assert entries, "a page with more to come is never empty"
        if op == "history":
            cursor = {"before": entries[0]["seq"]}
        else:
            last = entries[-1]
            cursor = {"after": last if isinstance(last, str) else last["room"]}


def test_replies_to_a_30000_character_id_are_paged_to_fit_one_frame(
    server: RunningServer, login: Login
) -> None:
    """`re` echoes the client's id, here 65,001 of a frame's 65,536 bytes: each page holds what
    the rest of the frame does, not what is left after an assumed short id (point 18)."""
    names = [f"h{n:02d}{'x' * 29}" for n in range(20)]  # 32 characters each
    crowd_room(server.db_url, "#crowd", names)
    rooms = [f"#r{n:02d}{LONG}xxxxx" for n in range(20)]  # 33 characters, the longest
    make_rooms(server.db_url, rooms)
    others = [login(name) for name in names]
    alice = login("alice")
    join(alice, "#talk")
    for n in range(6):
        assert alice.request("say", room="#talk", text=f"{n} " + "t" * 200)["ok"] is True

    assert pages_with_huge_id(alice, "whoelse", "users") == names
    assert pages_with_huge_id(alice, "whoelsesince", "users", seconds=60) == names
    assert pages_with_huge_id(alice, "members", "users", room="#crowd") == names
    listed = pages_with_huge_id(alice, "rooms", "rooms")
    assert [entry["room"] for entry in listed] == sorted([*rooms, "#crowd", "#talk"])
    history = pages_with_huge_id(alice, "history", "messages", room="#talk")
    assert [line["text"][0] for line in history] == [str(n) for n in range(6)]
    for client in others:
        client.close()


# --- bad requests ------------------------------------------------------------------------------

_LIST_OPS: dict[str, tuple[dict[str, Any], int]] = {
    "whoelse": ({}, 1_000),
    "whoelsesince": ({"seconds": 60}, 1_000),
    "rooms": ({}, 500),
    "members": ({"room": "#general"}, 1_000),
}


@pytest.mark.parametrize("op", list(_LIST_OPS))
def test_list_limits_outside_their_range_or_ill_typed_are_bad_requests(
    login: Login, op: str
) -> None:
    fields, most = _LIST_OPS[op]
    alice = login("alice")
    join(alice, "#general")
    for limit in (0, most + 1, -1, "5", 2.5, True, [1]):
        refused(alice.request(op, **fields, limit=limit), "bad_request")
    assert alice.request(op, **fields, limit=most)["ok"] is True  # the bounds themselves
    assert alice.request(op, **fields, limit=1)["ok"] is True


@pytest.mark.parametrize("op", list(_LIST_OPS))
def test_list_afters_that_are_not_strings_are_bad_requests(login: Login, op: str) -> None:
    fields, _ = _LIST_OPS[op]
    alice = login("alice")
    join(alice, "#general")
    for after in (5, True, ["bob"], {"name": "bob"}, "a\x00b"):
        refused(alice.request(op, **fields, after=after), "bad_request")


def test_bad_paging_of_a_missing_room_is_a_bad_request_first(login: Login) -> None:
    """chat/1 precise point 1: `bad_request` comes before the op's own `no_such_room`."""
    refused(login("alice").request("members", room="#nowhere", limit=0), "bad_request")
