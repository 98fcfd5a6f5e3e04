"""chat-client's rooms, through the controller with a fake link, fake timers and a screen that
says when lines are out: catch-up, `read` only after display and batched, the current room,
history paging, and a server without rooms."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from cli.client import commands as c
from cli.client import render as r
from cli.client.controller import Chat, Memory
from cli.client.link import LinkClosed
from cli.client.room_talk import READ_BATCH_S
from cli.client.rooms import RoomUnread
from tests.unit.test_client_controller import NOW, FakeLink, FakePeers, FakeTimers, Log


class Harness:
    """A Chat on a server with rooms (unless `features` says otherwise). Lines are "on the
    screen" only when `show()` runs the screen's callbacks, as `Screen.when_shown` would."""

    def __init__(
        self,
        rooms: tuple[RoomUnread, ...] = (),
        *,
        features: frozenset[str] = frozenset({"rooms"}),
        memory: Memory | None = None,
        idle_timeout_s: float | None = None,
    ) -> None:
        self.log: Log = []
        self.link = FakeLink(self.log)
        self.timers = FakeTimers()
        self.due: list[Callable[[], None]] = []  # the screen's callbacks, not yet run
        self.bells = 0
        self.chat = Chat(
            "alice", self.link, FakePeers(self.log), self._out, lambda: NOW,
            when_shown=self.due.append, memory=memory, bell=self._bell,
            clock=self.timers.clock, schedule=self.timers.schedule,
            features=features, rooms=rooms, idle_timeout_s=idle_timeout_s,
        )  # fmt: skip

    def _out(self, line: r.Line) -> None:
        self.log.append(("out", r.to_plain(line)))

    def _bell(self) -> None:
        self.bells += 1

    def show(self) -> None:
        """The screen writes what is waiting, then runs the callbacks."""
        due, self.due[:] = list(self.due), []
        for callback in due:
            callback()

    def lines(self) -> list[str]:
        return [text for kind, text in self.log if kind == "out"]

    def requests(self) -> list[tuple[str, dict[str, Any]]]:
        return [item for kind, item in self.log if kind == "request"]

    def sent(self) -> list[dict[str, Any]]:
        return [item for kind, item in self.log if kind == "send"]

    def run(self, line: str) -> None:
        cmd = c.parse(line, self.chat.current_room)
        assert cmd is not None
        asyncio.run(self.chat.run(cmd))


def room_message(
    seq: int, text: str = "", *, stored: bool = False, **fields: Any
) -> dict[str, Any]:
    return {
        "ev": "room_message", "room": "#general", "seq": seq, "from": "bob",
        "text": text or f"m{seq}", "sent_at": "2026-11-24T11:59:00Z", "stored": stored, **fields,
    }  # fmt: skip


READ = {"op": "read", "room": "#general", "seq": 3}


def test_catch_up_is_marked_with_the_unread_count_and_read_once_shown() -> None:
    h = Harness((RoomUnread("#general", 3), RoomUnread("#quiet", 0)))
    for seq in (1, 2, 3):
        h.chat.handle_incoming(room_message(seq, stored=True))
    assert h.lines() == [
        "#general: 3 unread, showing the last 3:",
        "11:59 #general bob (while you were away): m1",
        "11:59 #general bob (while you were away): m2",
        "11:59 #general bob (while you were away): m3",
    ]
    h.timers.advance(READ_BATCH_S * 10)
    assert h.sent() == []  # never before the lines are on the screen
    h.show()
    assert h.sent() == []  # batched: not per line...
    h.timers.advance(READ_BATCH_S)
    assert h.sent() == [READ]  # ...one read with the highest seq shown, no id
    assert h.bells == 0  # catch-up does not ring


def test_more_than_the_catch_up_says_where_the_rest_is() -> None:
    h = Harness((RoomUnread("#general", 120),))
    for seq in range(71, 121):
        h.chat.handle_incoming(room_message(seq, stored=True))
    assert h.lines()[0] == (
        "#general: 120 unread, showing the last 50 (more #general shows the 70 before them):"
    )
    assert len(h.lines()) == 51
    h.show()
    h.timers.advance(READ_BATCH_S)
    assert h.sent() == [{"op": "read", "room": "#general", "seq": 120}]
    h.link.replies["history"] = {"messages": []}
    h.run("more")  # the room whose catch-up was cut short: the 70 the header promised
    assert h.requests()[-1] == ("history", {"room": "#general", "limit": 70, "before": 71})
    h.run("more")  # after that, pages of the usual size
    assert h.requests()[-1] == ("history", {"room": "#general", "limit": 20, "before": 71})


def test_a_catch_up_longer_than_a_history_page_says_what_more_shows() -> None:
    h = Harness((RoomUnread("#general", 300),))
    h.chat.handle_incoming(room_message(251, stored=True))
    assert h.lines()[0] == (
        "#general: 300 unread, showing the last 50 (more #general shows 100 of the 250 before "
        "them):"
    )
    h.link.replies["history"] = {"messages": []}
    h.run("more")
    assert h.requests()[-1] == ("history", {"room": "#general", "limit": 100, "before": 251})


def test_history_beyond_the_servers_page_is_capped_and_says_so() -> None:
    h = Harness((RoomUnread("#general", 0),))
    h.link.replies["history"] = {"messages": []}
    h.run("history #general 200")
    assert h.requests() == [("history", {"room": "#general", "limit": 100})]
    assert h.lines()[0] == "At most 100 messages at a time: showing 100."


def test_live_lines_are_read_in_batches_per_room_and_a_mention_rings() -> None:
    h = Harness((RoomUnread("#general", 0), RoomUnread("#random", 0)))
    h.chat.handle_incoming(room_message(4, "lunch?"))
    h.chat.handle_incoming(room_message(5, "Alice, lunch?"))
    h.chat.handle_incoming(room_message(9, room="#random"))
    assert h.lines() == [
        "11:59 #general bob: lunch?",
        "11:59 #general bob: Alice, lunch?",
        "11:59 #random bob: m9",
    ]
    assert h.bells == 1  # only the line that names us
    h.show()
    h.timers.advance(READ_BATCH_S)
    assert h.sent() == [
        {"op": "read", "room": "#general", "seq": 5},
        {"op": "read", "room": "#random", "seq": 9},
    ]
    h.timers.advance(READ_BATCH_S)
    assert len(h.sent()) == 2  # nothing new shown, nothing new sent


def test_a_read_counts_as_activity_as_chat_1_says() -> None:
    """Every request but ping and ack keeps the session alive at the server, so the idle
    warning (a minute before a 300 s timeout) moves on when a read goes out."""
    h = Harness((RoomUnread("#general", 0),), idle_timeout_s=300)
    h.timers.advance(200)
    h.chat.handle_incoming(room_message(3))
    h.show()
    h.timers.advance(READ_BATCH_S)
    assert h.sent() == [READ]
    h.timers.advance(100)  # 300.5 s after login, 100 s after the read
    assert not any("idle" in line for line in h.lines())
    h.timers.advance(140)
    assert "You have been idle a while" in h.lines()[-1]


def test_logout_sends_the_reads_of_what_is_on_screen_only() -> None:
    h = Harness((RoomUnread("#general", 0),))
    h.chat.handle_incoming(room_message(3))
    h.show()
    h.chat.handle_incoming(room_message(4))  # printed, not yet on the screen

    def server_says_bye(op: str) -> None:
        if op == "logout":
            loop = asyncio.get_running_loop()
            loop.call_soon(h.chat.handle_incoming, {"ev": "bye", "reason": "logout", "text": ""})
            loop.call_soon(h.chat.handle_incoming, LinkClosed())

    h.link.on_request = server_says_bye
    h.run("logout")
    assert h.sent() == [READ]
    assert h.requests()[-1] == ("logout", {})


def test_join_makes_the_room_current_and_plain_lines_go_there() -> None:
    h = Harness()
    h.link.replies["join"] = {"room": "#general", "created": False, "members": 4}
    h.link.replies["say"] = {"seq": 12, "delivered_to": 3}
    h.run("/join #General")  # the client lower-cases what is typed
    assert h.requests() == [("join", {"room": "#general"})]
    assert h.lines()[-1] == (
        "You are in #general (4 members). Plain lines now go to #general; commands start with /."
    )
    assert h.chat.prompt() == "alice #general> "
    h.run("hello all")
    h.run("/say #general and once more")
    nonces = [fields.pop("nonce") for op, fields in h.requests() if op == "say"]
    assert len(set(nonces)) == 2 and all(len(n) >= 32 for n in nonces)
    assert h.requests()[1:] == [
        ("say", {"room": "#general", "text": "hello all"}),
        ("say", {"room": "#general", "text": "and once more"}),
    ]
    assert h.lines()[-2:] == ["12:00 #general you: hello all", "12:00 #general you: and once more"]
    h.run("/room")
    assert h.chat.prompt() == "alice> " and h.chat.current_room is None
    h.run("#general")  # a room name alone makes it current again
    assert h.chat.current_room == "#general"
    h.run("/part")
    assert h.requests()[-1] == ("leave", {"room": "#general"})
    assert h.lines()[-1] == "You left #general."
    assert h.chat.prompt() == "alice> "


def test_switching_to_a_room_we_are_not_in_says_so() -> None:
    h = Harness((RoomUnread("#general", 0),))
    h.run("room #elsewhere")
    assert h.lines() == ["You are not in #elsewhere: join #elsewhere first."]
    assert h.chat.current_room is None and h.requests() == []
    h.run("room #general")
    assert h.lines()[-1] == "Plain lines now go to #general; commands start with /."


def test_a_refused_say_keeps_its_text_and_a_room_we_left_stops_being_current() -> None:
    h = Harness((RoomUnread("#general", 0),))
    h.run("room #general")
    h.link.replies["say"] = {"ok": False, "error": "not_member", "text": "You are not in #general."}
    h.run("anyone?")
    assert h.lines()[-1] == "12:00 #general you: anyone? — not sent: You are not in #general."
    assert h.chat.current_room is None


def test_an_unconfirmed_say_is_resent_with_its_nonce_after_a_reconnect() -> None:
    h = Harness()
    h.link.lost.add("say")
    h.run("say #general still there?")
    first = h.requests()[-1][1]
    assert h.lines()[-1].endswith("still there? (not confirmed; it is sent again if you reconnect)")
    again = Harness(memory=h.chat.memory)
    again.link.replies["say"] = {"seq": 8, "delivered_to": 1}
    asyncio.run(again.chat.resend_unsent())
    assert again.requests() == [("say", first)]
    assert again.lines()[-1] == "12:00 #general you: still there?"
    assert not again.chat.memory.unsent


def test_a_reconnects_catch_up_does_not_show_again_what_was_shown() -> None:
    h = Harness((RoomUnread("#general", 0),))
    h.chat.handle_incoming(room_message(5))
    again = Harness((RoomUnread("#general", 3),), memory=h.chat.memory)  # our read was lost
    for seq in (4, 5, 6):
        again.chat.handle_incoming(room_message(seq, stored=True))
    assert again.lines() == [
        "#general: 3 unread, showing the last 3:",
        "11:59 #general bob (while you were away): m6",
    ]
    again.show()
    again.timers.advance(READ_BATCH_S)
    assert again.sent() == [{"op": "read", "room": "#general", "seq": 6}]


def test_history_pages_back_with_more() -> None:
    h = Harness((RoomUnread("#general", 0),))
    page = [
        {"seq": seq, "from": "alice" if seq == 42 else "bob", "text": f"t{seq}",
         "sent_at": "2026-11-23T09:05:00Z"}
        for seq in (41, 42)
    ]  # fmt: skip
    h.link.replies["history"] = {"messages": page}
    h.run("history #general 2")
    assert h.requests() == [("history", {"room": "#general", "limit": 2})]
    assert h.lines() == [
        "#general, the last 2 messages:",
        "23 Nov 09:05 #general bob: t41",
        "23 Nov 09:05 #general you: t42",  # history includes our own
        "(more #general shows older ones)",
    ]
    h.link.replies["history"] = {"messages": [{**page[0], "seq": 1}]}
    h.run("more")  # the room last paged, the page size last asked for
    assert h.requests()[-1] == ("history", {"room": "#general", "limit": 2, "before": 41})
    assert h.lines()[-3:] == [
        "#general, 1 earlier message:",
        "23 Nov 09:05 #general bob: t41",
        "(that is the beginning of #general)",
    ]
    h.run("more")
    assert h.lines()[-1] == "There is nothing before that in #general."
    assert len(h.requests()) == 2  # known without asking
    h.show()
    h.timers.advance(READ_BATCH_S)
    assert h.sent() == [{"op": "read", "room": "#general", "seq": 42}]


def test_rooms_members_and_membership_events() -> None:
    h = Harness()
    h.link.replies["rooms"] = {"rooms": [
        {"room": "#general", "members": 3, "joined": True},
        {"room": "#random", "members": 1, "joined": False},
    ]}  # fmt: skip
    h.link.replies["members"] = {"users": ["alice", "bob", "carol"], "online": ["alice", "bob"]}
    h.run("rooms")
    h.run("members #general")
    h.chat.handle_incoming(
        {"ev": "room_join", "room": "#general", "user": "dave", "at": "2026-11-24T11:58:00Z"}
    )
    h.chat.handle_incoming({"ev": "room_leave", "room": "#general", "user": "carol", "at": None})
    assert h.lines() == [
        "2 rooms; * marks yours:",
        "* #general  3 members",
        "  #random   1 member",
        "#general has 3 members: you, bob (online), carol",
        "11:58 * dave joined #general",
        "12:00 * carol left #general",
    ]
    assert h.chat.known_rooms == {"#general", "#random"}
    assert {"bob", "carol", "dave"} <= h.chat.known_users
    h.run("room #general")  # the listing said we are in it
    assert h.chat.current_room == "#general"


def test_a_server_without_rooms_is_not_asked() -> None:
    h = Harness(features=frozenset())
    for line in ("join #general", "#general hi", "rooms", "history #general"):
        h.run(line)
    assert h.requests() == []
    assert (
        h.lines() == ["This server has no rooms (its hello does not list the rooms feature)."] * 4
    )


def test_refusals_show_the_servers_sentence() -> None:
    h = Harness()
    h.link.replies["join"] = {"ok": False, "error": "too_many_rooms", "text": "You are in 100."}
    h.run("join #one-more")
    assert h.lines() == ["You are in 100."]
    assert h.chat.current_room is None


def test_odd_room_events_are_lines_not_crashes_and_nothing_is_read_after_the_end() -> None:
    h = Harness()
    h.chat.handle_incoming({"ev": "room_message", "room": None, "seq": "x", "from": 3})
    h.chat.handle_incoming({"ev": "room_join", "user": "dave"})
    assert h.lines() == ["12:00 None 3: ", "12:00 * dave joined None"]
    h.chat.handle_incoming(room_message(4))
    h.chat.handle_incoming(LinkClosed("reset"))
    h.show()
    h.timers.advance(READ_BATCH_S)
    assert h.sent() == [] and h.chat.known_rooms == {"#general"}


def test_a_room_read_from_another_session_spares_the_reads_it_covers() -> None:
    """chat/1 "Several sessions": the marker is the user's; what another session read, this
    one does not report again (and the next login's unread counts are the server's)."""
    h = Harness((RoomUnread("#general", 0),))
    h.chat.handle_incoming(room_message(4))
    h.chat.handle_incoming({"ev": "room_read", "room": "#general", "seq": 4})
    h.show()
    h.timers.advance(READ_BATCH_S)
    assert h.sent() == []
    h.chat.handle_incoming(room_message(5))
    h.show()
    h.timers.advance(READ_BATCH_S)
    assert h.sent() == [{"op": "read", "room": "#general", "seq": 5}]
    h.chat.handle_incoming({"ev": "room_read", "room": "not a room", "seq": 9})  # ignored
    assert h.lines() == ["11:59 #general bob: m4", "11:59 #general bob: m5"]
