"""Search end to end (chat/1 "Search", feature `search`): what matches, in which order, what
each caller may see, and every refusal in chat/1's order. On SQLite and on PostgreSQL.

Direct messages in the record (after `ack`, with `dm_history`) are in test_search_dms.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest

from service.config import ServerConfig
from service.store import Store
from tests.support.client import TestClient
from tests.support.rooms import cheap_server, join, refused, say, say_all
from tests.support.server import RunningServer

Frame = dict[str, Any]
Login = Callable[[str], TestClient]


@pytest.fixture
def server(server_config: ServerConfig) -> Iterator[RunningServer]:
    with cheap_server(replace(server_config, room_creations_per_hour=0)) as running:
        yield running


def texts(reply: Frame) -> list[str]:
    assert reply["ok"] is True, reply
    return [hit["text"] for hit in reply["results"]]


def search(client: TestClient, query: str, **fields: Any) -> list[str]:
    return texts(client.request("search", query=query, **fields))


def test_hello_lists_the_search_feature(connect: Callable[[], TestClient]) -> None:
    assert "search" in connect().hello["features"]


def test_every_word_as_a_word_ignoring_case_and_diacritics_the_last_also_a_prefix(
    login: Login,
) -> None:
    alice = login("alice")
    join(alice, "#lab")
    for text in ("Lab schedule moved", "Café au lait", "the cafe is closed", "snake_case rules",
                 "LABORATORY closed", "schedule only"):  # fmt: skip
        say(alice, "#lab", text)

    assert search(alice, "lab sched") == ["Lab schedule moved"]
    assert search(alice, "LAB SCHEDULE") == ["Lab schedule moved"]
    assert search(alice, "sched lab") == []  # only the last word is a prefix
    assert search(alice, "lab") == ["LABORATORY closed", "Lab schedule moved"]  # as a prefix
    assert search(alice, "lab closed") == []  # `lab` is not the last word: whole words only
    assert search(alice, "café") == ["the cafe is closed", "Café au lait"]
    assert search(alice, "CAFE AU") == ["Café au lait"]
    assert search(alice, "cafe\u0301 lait") == ["Café au lait"]  # decomposed é
    assert search(alice, "case") == ["snake_case rules"]  # `_` separates words
    assert search(alice, "schedule moved lab") == ["Lab schedule moved"]  # any order
    assert search(alice, "schedule nothing") == []  # every word is required


def test_results_newest_first_in_one_frame_with_their_place(login: Login) -> None:
    alice = login("alice")
    join(alice, "#a")
    join(alice, "#b")
    say(alice, "#a", "apple one")
    say(alice, "#b", "apple two")
    say(alice, "#a", "apple three")
    reply = alice.request("search", query="apple")
    assert reply["ok"] is True and reply["more"] is False
    assert [(h["room"], h["seq"], h["text"]) for h in reply["results"]] == [
        ("#a", 2, "apple three"), ("#b", 1, "apple two"), ("#a", 1, "apple one"),
    ]  # fmt: skip
    hit = reply["results"][0]
    assert set(hit) == {"room", "seq", "from", "text", "sent_at"} and hit["from"] == "alice"
    assert hit["sent_at"].endswith("Z")


def test_limit_bounds_and_the_default(login: Login) -> None:
    alice = login("alice")
    join(alice, "#a")
    say_all(alice, "#a", {n: f"note {n}" for n in range(60)})
    assert len(search(alice, "note")) == 20
    reply = alice.request("search", query="note", limit=50)
    assert len(reply["results"]) == 50 and reply["more"] is True
    assert reply["results"][0]["text"] == "note 59"
    assert search(alice, "note", limit=1) == ["note 59"]
    for bad in (0, 51, -1, "5", 2.5, True):
        refused(alice.request("search", query="note", limit=bad), "bad_request")


def test_long_texts_come_as_many_as_fit_in_one_frame(login: Login) -> None:
    alice = login("alice")
    join(alice, "#a")
    say_all(alice, "#a", {n: "word " * 799 + str(n) for n in range(30)})  # 4,000 characters
    reply = alice.request("search", query="word", limit=50)
    assert 10 < len(reply["results"]) < 30 and reply["more"] is True


def test_only_rooms_the_caller_is_in_now(login: Login) -> None:
    alice, bob = login("alice"), login("bob")
    join(alice, "#mine")
    join(bob, "#mine")
    join(bob, "#theirs")
    join(alice, "#left")
    say(bob, "#mine", "secret in mine")
    say(bob, "#theirs", "secret in theirs")
    say(alice, "#left", "secret in left")
    assert alice.request("leave", room="#left")["ok"]
    assert search(alice, "secret") == ["secret in mine"]
    assert search(bob, "secret") == ["secret in theirs", "secret in mine"]
    join(alice, "#theirs")  # a member now: the whole history
    assert search(alice, "secret") == ["secret in theirs", "secret in mine"]


def test_only_the_callers_own_direct_messages(login: Login) -> None:
    alice, bob, carol = login("alice"), login("bob"), login("carol")
    assert alice.request("message", to="bob", text="pizza tonight?")["ok"]
    assert bob.request("message", to="carol", text="pizza for carol")["ok"]
    join(alice, "#food")
    say(alice, "#food", "pizza in the room")
    reply = alice.request("search", query="pizza")
    assert [h["text"] for h in reply["results"]] == ["pizza in the room", "pizza tonight?"]
    dm = reply["results"][1]
    assert dm["with"] == "bob" and dm["from"] == "alice" and dm["to"] == "bob"
    assert set(dm) == {"with", "msg_id", "from", "to", "text", "sent_at"}
    assert search(bob, "pizza") == ["pizza for carol", "pizza tonight?"]
    carol_hits = carol.request("search", query="pizza")["results"]
    assert [(h["with"], h["from"]) for h in carol_hits] == [("bob", "bob")]


def test_room_and_with_scopes(login: Login) -> None:
    alice, bob = login("alice"), login("bob")
    join(alice, "#a")
    join(alice, "#b")
    say(alice, "#a", "plan a")
    say(alice, "#b", "plan b")
    assert alice.request("message", to="bob", text="plan with bob")["ok"]
    assert alice.request("message", to="carol", text="plan with carol")["ok"]
    assert bob.request("message", to="alice", text="plan from bob")["ok"]
    assert search(alice, "plan", room="#a") == ["plan a"]
    assert search(alice, "plan", **{"with": "bob"}) == ["plan from bob", "plan with bob"]
    assert search(alice, "plan", **{"with": "carol"}) == ["plan with carol"]


def test_refusals_in_chat1_order(login: Login) -> None:
    alice = login("alice")
    join(alice, "#a")
    bob = login("bob")
    join(bob, "#bobs")
    bad: list[Frame] = [
        {},  # no query
        {"query": ""},
        {"query": "x" * 201},
        {"query": 5},
        {"query": "ok", "room": "#a", "with": "bob"},
        {"query": "", "room": "#nope"},  # fields before the room
        {"query": "ok", "room": 7},
        {"query": "ok", "with": ["bob"]},
    ]
    for fields in bad:
        refused(alice.request("search", **fields), "bad_request")
    assert alice.request("search", query="é" * 200)["ok"]  # 200 code points
    refused(alice.request("search", query="!!!", room="#nope"), "no_such_room")
    refused(alice.request("search", query="!!!", room="#General"), "no_such_room")
    refused(alice.request("search", query="!!!", room="#bobs"), "not_member")
    refused(alice.request("search", query="!!!", **{"with": "nobody"}), "no_such_user")
    refused(alice.request("search", query="!!!", **{"with": "alice"}), "self")
    for no_words in ("!!!", " ", '"', "*", "-", "_", "\u0301"):
        refused(alice.request("search", query=no_words), "bad_request")
        refused(alice.request("search", query=no_words, room="#a"), "bad_request")


def test_before_login_and_nothing_changes(connect: Callable[[], TestClient]) -> None:
    client = connect()
    refused(client.request("search", query="x"), "not_logged_in")


def test_fts_syntax_in_a_query_is_only_words(login: Login) -> None:
    alice, bob = login("alice"), login("bob")
    join(alice, "#a")
    join(bob, "#hidden")
    say(bob, "#hidden", "text room_id AND NEAR hidden")
    say(alice, "#a", "AND NEAR OR NOT are plain words")
    say(alice, "#a", 'col: text: star* minus-sign "quoted"')
    assert search(alice, "and near") == ["AND NEAR OR NOT are plain words"]
    assert search(alice, "NOT") == ["AND NEAR OR NOT are plain words"]
    assert search(alice, 'AND "') == ["AND NEAR OR NOT are plain words"]
    assert search(alice, "NEAR(and or, 2)") == []  # `2` is not there
    assert search(alice, "col: text:") == ['col: text: star* minus-sign "quoted"']
    assert search(alice, "star*") == ['col: text: star* minus-sign "quoted"']
    assert search(alice, "-minus sign") == ['col: text: star* minus-sign "quoted"']
    assert search(alice, '"quoted') == ['col: text: star* minus-sign "quoted"']
    for probe in ("room_id: 2", "text: hidden", "{room_id}: 1 OR hidden", "hidden OR x",
                  "* OR hidden", '"hidden" OR "x"', "room_id : hidden", "^hidden"):  # fmt: skip
        assert search(alice, probe) == [], probe  # never another room's message


def test_a_message_just_okd_is_found_at_once(login: Login) -> None:
    alice, bob = login("alice"), login("bob")
    join(alice, "#a")
    for n in range(5):
        say(alice, "#a", f"fresh{n} news")
        assert search(alice, f"fresh{n}") == [f"fresh{n} news"]
    assert alice.request("message", to="bob", text="hot off the press")["ok"]
    assert search(bob, "press") == ["hot off the press"]


def test_a_deleted_rooms_messages_are_gone_from_search(login: Login, server: RunningServer) -> None:
    alice = login("alice")
    join(alice, "#gone")
    say(alice, "#gone", "zebra crossing")
    store = Store.open(server.db_url, group_commit=False)
    try:
        assert store.operator_rooms.delete_room("#gone") is not None
    finally:
        store.close()
    assert search(alice, "zebra") == []
    join(alice, "#gone")  # a new room by the old name (on SQLite, maybe the old id too)
    assert search(alice, "zebra") == []
    say(alice, "#gone", "zebra again")
    assert search(alice, "zebra") == ["zebra again"]
