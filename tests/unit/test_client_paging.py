"""Long lists page by page (chat/1 precise point 18), fed a scripted sequence of replies: the
client asks with `after` = the last name while `more` is true, and shows the list once."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from cli.client import commands as c
from cli.client.paging import all_pages
from tests.unit.test_client_room_talk import Harness


class Server:
    """Replies in order; records what was asked."""

    def __init__(self, *replies: dict[str, Any] | None) -> None:
        self.replies = list(replies)
        self.asked: list[tuple[str, dict[str, Any]]] = []

    async def __call__(self, op: str, **fields: Any) -> dict[str, Any] | None:
        self.asked.append((op, fields))
        return self.replies.pop(0)


def fetch(server: Server, op: str, fields: dict[str, Any]) -> dict[str, Any] | None:
    return asyncio.run(all_pages(server, op, fields))


def test_whoelse_pages_on_after_the_last_name_until_more_is_false() -> None:
    server = Server(
        {"ok": True, "users": ["ann", "bob"], "more": True},
        {"ok": True, "users": ["cat", "dan"], "more": True},
        {"ok": True, "users": ["eve"], "more": False},
    )
    whole = fetch(server, "whoelse", {})
    assert server.asked == [("whoelse", {}), ("whoelse", {"after": "bob"}),
                            ("whoelse", {"after": "dan"})]  # fmt: skip
    assert whole == {"ok": True, "users": ["ann", "bob", "cat", "dan", "eve"], "more": False}


def test_whoelsesince_keeps_its_seconds_on_every_page() -> None:
    server = Server({"ok": True, "users": ["a"], "more": True}, {"ok": True, "users": ["b"]})
    whole = fetch(server, "whoelsesince", {"seconds": 60})
    assert server.asked[1] == ("whoelsesince", {"seconds": 60, "after": "a"})
    assert whole is not None and whole["users"] == ["a", "b"]


def test_members_pages_users_and_their_online_and_keeps_the_count() -> None:
    server = Server(
        {"ok": True, "users": ["ann", "bob"], "online": ["bob"], "count": 3, "more": True},
        {"ok": True, "users": ["cat"], "online": ["cat"], "count": 3, "more": False},
    )
    whole = fetch(server, "members", {"room": "#lab"})
    assert server.asked[1] == ("members", {"room": "#lab", "after": "bob"})
    assert whole is not None
    assert (whole["users"], whole["online"], whole["count"]) == (["ann", "bob", "cat"],
                                                                 ["bob", "cat"], 3)  # fmt: skip


def test_rooms_page_on_after_the_last_rooms_name() -> None:
    server = Server(
        {"ok": True, "rooms": [{"room": "#a", "members": 1, "joined": True}], "more": True},
        {"ok": True, "rooms": [{"room": "#b", "members": 2, "joined": False}], "more": False},
    )
    whole = fetch(server, "rooms", {})
    assert server.asked[1] == ("rooms", {"after": "#a"})
    assert whole is not None and [entry["room"] for entry in whole["rooms"]] == ["#a", "#b"]


@pytest.mark.parametrize(
    "first",
    [
        {"ok": True, "users": ["ann"]},  # a server before paging: no `more`
        {"ok": True, "users": ["ann"], "more": False},
        {"ok": True, "users": ["ann"], "truncated": True},  # not chat/1: never read
        {"ok": True, "users": [], "more": True},  # nothing to page on from
    ],
)
def test_one_page_when_more_is_not_true(first: dict[str, Any]) -> None:
    server = Server(first)
    whole = fetch(server, "whoelse", {})
    assert len(server.asked) == 1 and whole is not None and whole["more"] is False


def test_a_server_that_does_not_move_on_stops_the_paging() -> None:
    server = Server(
        {"ok": True, "users": ["ann", "bob"], "more": True},
        {"ok": True, "users": ["ann"], "more": True},  # back before `bob`
    )
    whole = fetch(server, "whoelse", {})
    assert len(server.asked) == 2 and whole is not None and whole["users"] == ["ann", "bob", "ann"]


@pytest.mark.parametrize("later", [None, {"ok": False, "error": "rate_limited", "text": "Slow."}])
def test_a_page_that_fails_fails_the_list(later: dict[str, Any] | None) -> None:
    server = Server({"ok": True, "users": ["ann"], "more": True}, later)
    assert fetch(server, "whoelse", {}) == later


def test_the_client_shows_every_page_of_whoelse_and_members_as_one_list() -> None:
    h = Harness()
    later: list[dict[str, Any]] = []  # the pages after the first, in order

    def next_page(op: str) -> None:  # after each request: the reply to the next one
        if later:
            h.link.replies[op] = later.pop(0)

    h.link.on_request = next_page
    h.link.replies["whoelse"] = {"users": ["ann", "bob"], "more": True}
    later.append({"users": ["cat"], "more": False})
    asyncio.run(h.chat.run(c.WhoElse()))
    assert h.requests() == [("whoelse", {}), ("whoelse", {"after": "bob"})]
    assert h.lines() == ["Online now: ann, bob, cat"]
    h.link.replies["members"] = {"users": ["alice", "bob"], "online": ["alice"], "more": True}
    later.append({"users": ["cat"], "online": ["cat"], "more": False})
    asyncio.run(h.chat.run(c.Members("#lab")))
    assert h.requests()[-1] == ("members", {"room": "#lab", "after": "bob"})
    assert h.lines()[-1] == "#lab has 3 members: you, bob, cat (online)"
