"""chat-client's room parts that need nothing: names, the login reply's rooms, the book of rooms,
read markers, mentions, and how room lines read with colour and under NO_COLOR."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cli.client import render as r
from cli.client import render_rooms as rr
from cli.client.dialer import _features
from cli.client.room_commands import Say
from cli.client.rooms import (
    ReadMarks,
    RoomBook,
    RoomUnread,
    is_valid_room_name,
    mentions,
    rooms_at_login,
    wire_seq,
)

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
EV = {"room": "#general", "seq": 3, "from": "bob", "text": "hi", "sent_at": "2026-11-24T11:59:00Z"}


@pytest.mark.parametrize(
    ("name", "valid"),
    [("#general", True), ("#a", True), ("#0-_", True), ("#" + "x" * 32, True),
     ("#" + "x" * 33, False), ("general", False), ("#", False), ("#_x", False),
     ("#-x", False), ("#General", False), ("#a b", False), ("#é", False)],
)  # fmt: skip
def test_room_names_follow_chat_1(name: str, valid: bool) -> None:
    assert is_valid_room_name(name) is valid


def test_the_login_replys_rooms_are_read_with_care() -> None:
    reply = [
        {"room": "#general", "unread": 12},
        {"room": "#odd", "unread": "many"},
        {"room": "not a room", "unread": 1},
        {"unread": 1},
        "junk",
        {"room": "#neg", "unread": -3},
    ]
    assert rooms_at_login(reply) == (
        RoomUnread("#general", 12), RoomUnread("#odd", 0), RoomUnread("#neg", 0)
    )  # fmt: skip
    assert rooms_at_login(None) == ()  # a server without rooms


def test_hello_features() -> None:
    assert _features(["rooms", 3, "x"]) == {"rooms", "x"}
    assert _features(None) == frozenset()
    assert _features("rooms") == frozenset()


@pytest.mark.parametrize(("value", "seq"), [(1, 1), (0, None), (True, None), ("3", None)])
def test_wire_seq(value: object, seq: int | None) -> None:
    assert wire_seq(value) == seq


def test_the_book_keeps_membership_and_the_current_room() -> None:
    book = RoomBook()
    book.logged_in([RoomUnread("#a", 0), RoomUnread("#b", 2)])
    book.join("#c")
    assert book.current == "#c" and book.joined == {"#a", "#b", "#c"}
    book.leave("#c")
    assert book.current is None
    book.current = "#a"
    book.logged_in([RoomUnread("#b", 0)])  # #a was deleted meanwhile
    assert book.current is None and book.known == {"#a", "#b", "#c"}
    book.listed([("#b", False), ("#d", True), ("bad name", True)])
    assert book.joined == {"#d"} and "bad name" not in book.known
    book.seen("#e", member=True)
    book.seen("nonsense")
    assert "#e" in book.joined and "nonsense" not in book.known


def test_the_book_knows_what_was_shown() -> None:
    book = RoomBook()
    book.shown("#a", 10)
    book.shown("#a", 12)
    book.said("#a", 13)  # ours: paging goes on from it, catch-up is not judged by it
    assert book.was_shown("#a", 12) and not book.was_shown("#a", 13)
    assert book.oldest_shown["#a"] == 10
    book.paged("#a", [3, 4], 2)
    assert book.oldest_shown["#a"] == 3 and book.page["#a"] == 2 and book.last_paged == "#a"


def test_read_marks_report_each_rooms_highest_once() -> None:
    marks = ReadMarks()
    marks.shown("#b", 2)
    marks.shown("#a", 7)
    marks.shown("#a", 5)
    assert marks.due() == [("#a", 7), ("#b", 2)]
    assert marks.due() == []
    marks.shown("#a", 6)  # below what was sent: nothing new
    assert marks.due() == []
    marks.shown("#a", 8)
    assert marks.due() == [("#a", 8)]


@pytest.mark.parametrize(
    ("text", "named"),
    [("alice?", True), ("hi @Alice, lunch", True), ("ALICE.", True), ("malice", False),
     ("alice2 is here", False), ("alice.b is here", False), ("alice-b", False), ("", False)],
)  # fmt: skip
def test_mentions(text: str, named: bool) -> None:
    assert mentions(text, "alice") is named


def test_a_room_line_stands_apart_in_colour_and_without() -> None:
    line = rr.room_message(EV, NOW)
    assert r.to_plain(line) == "11:59 #general bob: hi"
    assert "\x1b[1;4;36m#general\x1b[0m" in r.to_ansi(line, colour=True)
    assert r.to_plain(rr.room_message({**EV, "from": "alice"}, NOW, "alice")) == (
        "11:59 #general you: hi"
    )
    catch_up = rr.room_message(EV, NOW, catch_up=True)
    assert r.to_plain(catch_up) == "11:59 #general bob (while you were away): hi"


def test_hostile_room_text_cannot_drive_the_terminal() -> None:
    ev = {**EV, "room": "#x\x1b[2J", "text": "a\x07b\nc", "from": "\x1b]0;"}
    plain = r.to_plain(rr.room_message(ev, NOW))
    assert "\x1b" not in plain and "\x07" not in plain
    assert plain.endswith("a\ufffdb\n    c")


def test_welcome_names_the_rooms_before_the_backlog() -> None:
    rooms = [RoomUnread("#general", 12), RoomUnread("#quiet", 0)]
    lines = [r.to_plain(line) for line in rr.welcome("bob", 2, rooms)]
    assert lines == [
        "Welcome, bob! Your rooms: #general (12 unread), #quiet.",
        "2 direct messages arrived while you were away:",
    ]
    assert [r.to_plain(line) for line in rr.welcome("bob", 0, rooms)] == [
        "Welcome, bob! Your rooms: #general (12 unread), #quiet. Type help for the commands."
    ]
    assert [r.to_plain(line) for line in rr.welcome("bob", 0, [])] == [
        "Welcome, bob! Type help for the commands."
    ]


def test_say_lines() -> None:
    cmd = Say("#general", "hi")
    assert r.to_plain(rr.own_message(cmd, NOW)) == "12:00 #general you: hi"
    assert r.to_plain(rr.not_said(cmd, "No.", NOW)) == "12:00 #general you: hi — not sent: No."


def test_an_empty_listing_and_empty_history() -> None:
    assert [r.to_plain(x) for x in rr.rooms_listing([])] == [
        "There are no rooms yet: join #NAME creates one."
    ]
    page = rr.history_page("#general", [], [], NOW, "alice", more=False)
    assert [r.to_plain(x) for x in page] == ["Nothing said in #general yet."]
