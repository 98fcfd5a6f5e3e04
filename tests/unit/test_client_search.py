"""chat-client's `search WORDS [in #ROOM | with USER]`: what it asks and how the hits read."""

from __future__ import annotations

import pytest

from cli.client import commands as c
from cli.client.rooms import RoomUnread
from tests.unit.test_client_room_talk import Harness


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("search lab sched", c.Search("lab sched")),
        ("/search lab sched in #cs101", c.Search("lab sched", room="#cs101")),
        ("search lab IN #Lab", c.Search("lab", room="#lab")),
        ("search pizza with bob", c.Search("pizza", with_="bob")),
        ("search coffee with milk and sugar", c.Search("coffee with milk and sugar")),
        ("search in #lab", c.Search("in #lab")),  # no word left: the words themselves
        ("search with bob", c.Search("with bob")),
        ("search x in #no way", c.Search("x in #no way")),
    ],
)
def test_the_scope_is_a_trailing_in_room_or_with_user(line: str, expected: c.Search) -> None:
    assert c.parse(line) == expected


def test_search_needs_words() -> None:
    with pytest.raises(c.UsageError):
        c.parse("search")


def test_hits_show_their_place_and_time_newest_first() -> None:
    h = Harness((RoomUnread("#lab", 0),))
    h.link.replies["search"] = {
        "results": [
            {"with": "bob", "msg_id": 9, "from": "bob", "to": "alice", "text": "lab schedule?",
             "sent_at": "2026-11-24T11:59:00Z"},
            {"room": "#lab", "seq": 12, "from": "alice", "text": "Lab schedule moved",
             "sent_at": "2026-11-23T09:05:00Z"},
        ],
        "more": True,
    }  # fmt: skip
    h.run("search lab sched")
    assert h.requests() == [("search", {"query": "lab sched", "limit": 50})]
    assert h.lines() == [
        "2 messages found for 'lab sched', newest first:",
        "11:59 [bob] bob: lab schedule?",
        "23 Nov 09:05 #lab #12 you: Lab schedule moved",
        "(more were found: add words, or `in #ROOM` / `with USER`)",
    ]


def test_scoped_searches_and_nothing_found() -> None:
    h = Harness()
    h.link.replies["search"] = {"results": [], "more": False}
    h.run("search pizza with bob")
    h.run("search pizza in #food")
    assert h.requests() == [
        ("search", {"query": "pizza", "limit": 50, "with": "bob"}),
        ("search", {"query": "pizza", "limit": 50, "room": "#food"}),
    ]
    assert h.lines() == [
        "Nothing found for 'pizza' with bob.",
        "Nothing found for 'pizza' in #food.",
    ]


def test_a_refusal_is_the_servers_sentence() -> None:
    h = Harness()
    h.link.replies["search"] = {"ok": False, "error": "not_member", "text": "You are not in #x."}
    h.run("search a in #x")
    assert h.lines() == ["You are not in #x."]


def test_help_lists_search() -> None:
    assert any(usage.startswith("search TEXT") for usage, _ in c.help_lines())
