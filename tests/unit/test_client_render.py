"""How chat-client lines read: events, replies, login refusals, colour and NO_COLOR."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cli.client import commands as c
from cli.client import render as r
from cli.client import render_rooms as rr

NOW = datetime(2026, 11, 24, 23, 30, tzinfo=UTC)
TOKYO = timezone(timedelta(hours=9))


def plain(line: r.Line | None) -> str:
    assert line is not None
    return r.to_plain(line)


@pytest.mark.parametrize(
    ("env", "expected"),
    [({}, True), ({"NO_COLOR": "1"}, False), ({"NO_COLOR": ""}, True), ({"TERM": "x"}, True)],
)
def test_no_color(env: dict[str, str], expected: bool) -> None:
    assert r.colour_enabled(env) is expected


def test_no_colour_into_a_pipe() -> None:
    assert r.colour_enabled({}, is_tty=False) is False


def test_ansi_only_with_colour() -> None:
    line: r.Line = [("error", "boom"), ("", " plain")]
    assert r.to_ansi(line, colour=False) == "boom plain"
    coloured = r.to_ansi(line, colour=True)
    assert coloured == "\x1b[1;31mboom\x1b[0m plain"


def test_every_style_used_by_user_names_has_a_colour() -> None:
    for name in ["alice", "bob", "carol", "dave", "eve", "x"]:
        assert r.user_style(name) in r.PALETTE
    assert r.user_style("alice") == r.user_style("alice")


@pytest.mark.parametrize(
    ("at", "now", "expected"),
    [
        ("2026-11-24T23:12:25.123Z", NOW, "23:12"),
        ("2026-11-24T23:12:25.123Z", NOW.astimezone(TOKYO), "08:12"),  # next day in Tokyo...
        ("2026-11-23T09:05:00.000Z", NOW, "23 Nov 09:05"),  # ...and an older day shows it
        (None, NOW, "23:30"),
        ("yesterday-ish", NOW, "23:30"),
        ("2026-11-24T23:12:25", NOW, "23:30"),  # no zone: not chat/1, so not trusted
    ],
)
def test_clock_is_local_hh_mm(at: object, now: datetime, expected: str) -> None:
    assert r.clock(at, now) == expected


def test_message_live_and_stored() -> None:
    ev = {
        "ev": "message",
        "msg_id": 7,
        "from": "bob",
        "text": "hi",
        "sent_at": "2026-11-24T23:12:00Z",
    }
    assert plain(r.message_event({**ev, "stored": False}, NOW)) == "23:12 bob: hi"
    assert plain(r.message_event({**ev, "stored": True}, NOW)) == (
        "23:12 bob (while you were away): hi"
    )


def test_an_action_reads_as_one_not_as_the_sender_quoting_itself() -> None:
    """`/me waves` goes out as `* bob waves`: shown `* bob waves`, not `bob: * bob waves`."""
    ev = {"ev": "message", "msg_id": 7, "from": "bob", "text": "* bob waves",
          "sent_at": "2026-11-24T23:12:00Z"}  # fmt: skip
    assert plain(r.message_event(ev, NOW)) == "23:12 * bob waves"
    room = {**ev, "ev": "room_message", "room": "#lab", "seq": 1}
    assert plain(rr.room_message(room, NOW, "alice")) == "23:12 #lab * bob waves"
    assert plain(rr.room_message(room, NOW, "bob")) == "23:12 #lab * bob waves"  # not "* you"
    other = {**ev, "text": "* carol waves"}  # another's name: plain text, as sent
    assert plain(r.message_event(other, NOW)) == "23:12 bob: * carol waves"


def test_broadcast_and_presence() -> None:
    ev = {"ev": "broadcast", "from": "bob", "text": "hey all", "sent_at": "2026-11-24T23:00:00Z"}
    assert plain(r.broadcast_event(ev, NOW)) == "23:00 bob to everyone: hey all"
    online = {"ev": "presence", "user": "bob", "state": "online", "at": "2026-11-24T23:01:00Z"}
    assert plain(r.presence_event(online, NOW)) == "23:01 * bob is online"
    assert plain(r.presence_event({**online, "state": "offline"}, NOW)) == (
        "23:01 * bob went offline"
    )


def test_private_request_says_how_to_answer() -> None:
    line = plain(r.private_request_event({"request": "r1", "from": "bob"}, NOW))
    assert "bob wants a private chat" in line
    assert "Type y to accept or n to decline" in line


@pytest.mark.parametrize(
    ("reason", "words"),
    [
        ("stopped", "bob ended the private chat."),
        ("logout", "bob logged out"),
        ("blocked", "(blocked)"),
        ("disconnected", "bob lost their connection"),
        ("lost", "was cut off"),
        ("unreachable", "has ended"),
        ("something-new", "The private chat with bob has ended."),
    ],
)
def test_private_stopped_says_why(reason: str, words: str) -> None:
    assert words in plain(r.private_stopped("bob", reason, NOW))


def test_private_messages_both_ways() -> None:
    assert (
        plain(r.private_message("bob", "psst", NOW, outgoing=False)) == "23:30 bob (private): psst"
    )
    assert plain(r.private_message("bob", "psst", NOW, outgoing=True)) == (
        "23:30 you → bob (private): psst"
    )


@pytest.mark.parametrize(
    ("reason", "words"),
    [
        ("logout", "Logged out. Bye!"),
        ("timeout", "idle"),
        ("shutdown", "shutting down"),
        ("slow_consumer", "The server closed the connection: too slow"),
    ],
)
def test_bye(reason: str, words: str) -> None:
    assert words in plain(r.bye_event({"ev": "bye", "reason": reason, "text": "too slow"}))


def test_wire_text_cannot_drive_the_terminal() -> None:
    evil = "a\x1b[2Jb\x07c\u202ed\x9be"
    assert r.clean(evil) == "a\ufffd[2Jb\ufffdc\ufffdd\ufffde"
    assert r.clean("line1\nline2\tx") == "line1\n    line2    x"
    ev = {"ev": "message", "from": "bo\x1bb", "text": evil, "sent_at": None}
    assert "\x1b" not in plain(r.message_event(ev, NOW))


@given(st.text())
def test_clean_leaves_no_control_characters(text: str) -> None:
    cleaned = r.clean(text)
    assert all(ch == "\n" or (ord(ch) >= 0x20 and not 0x7F <= ord(ch) <= 0x9F) for ch in cleaned)


REPLIES: list[tuple[c.Command, dict[str, object], str]] = [
    (c.Message("bob", "hi"), {"ok": True, "delivered": True, "msg_id": 1}, "23:30 you → bob: hi"),
    (
        c.Message("bob", "hi"),
        {"ok": True, "delivered": False},
        "23:30 you → bob: hi (bob is offline; they get it at login)",
    ),
    (
        c.Broadcast("yo"),
        {"ok": True, "delivered_to": 2, "blocked_by": 0},
        "23:30 you to everyone: yo (2 users got it)",
    ),
    (
        c.Broadcast("yo"),
        {"ok": True, "delivered_to": 1, "blocked_by": 1},
        "23:30 you to everyone: yo (1 user got it, 1 user blocking you did not)",
    ),
    (c.WhoElse(), {"ok": True, "users": ["bob", "carol"]}, "Online now: bob, carol"),
    (c.WhoElse(), {"ok": True, "users": []}, "Nobody else is online."),
    (c.WhoElseSince(60), {"ok": True, "users": ["bob"]}, "Online in the last minute: bob"),
    (c.WhoElseSince(1), {"ok": True, "users": []}, "Nobody else was online in the last second."),
    (c.Block("bob"), {"ok": True}, "You blocked bob: they cannot message you or see you online."),
    (c.Unblock("bob"), {"ok": True}, "You unblocked bob."),
    (c.BlockList(), {"ok": True, "users": ["bob"]}, "You block: bob"),
    (c.BlockList(), {"ok": True, "users": []}, "You do not block anyone."),
    (c.StartPrivate("bob"), {"ok": True, "request": "r"}, "Asked bob for a private chat"),
    (c.StopPrivate("bob"), {"ok": True}, "23:30 You ended the private chat with bob."),
    (
        c.Message("bob", "hi"),
        {"ok": False, "error": "blocked", "text": "bob has blocked you."},
        "bob has blocked you.",
    ),
    (c.Block("zed"), {"ok": False, "error": "no_such_user"}, "no_such_user"),
]


@pytest.mark.parametrize(("cmd", "reply", "expected"), REPLIES)
def test_reply_lines(cmd: c.Command, reply: dict[str, object], expected: str) -> None:
    assert expected in plain(r.reply_line(cmd, reply, NOW))


def test_logout_reply_needs_no_line() -> None:
    assert r.reply_line(c.Logout(), {"ok": True}, NOW) is None


def test_help_lists_usages_aligned() -> None:
    lines = [plain(line) for line in r.help_text()]
    assert any(line.startswith("message USER TEXT ") for line in lines)
    assert "Ctrl-D logs out" in lines[-1]
    width = max(len(usage) for usage, _ in c.help_lines())
    for line in lines[:-1]:  # one column for the explanations
        assert line[width : width + 2] == "  " and line[width + 2] != " "
    assert [plain(line) for line in r.help_text("block")] == [
        "block USER  stop USER from messaging you or seeing you online"
    ]


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (
            {"error": "bad_credentials", "attempts_left": 2},
            "Wrong username or password. 2 attempts left before the account locks.",
        ),
        (
            {"error": "bad_credentials", "attempts_left": 1},
            "Wrong username or password. 1 attempt left before the account locks.",
        ),
        (
            {"error": "locked", "retry_after": 60},
            "alice is locked after too many wrong passwords. Try again in 60 seconds.",
        ),
        ({"error": "locked", "retry_after": 600}, "Try again in 10 minutes."),
        ({"error": "locked", "retry_after": "soon"}, "Try again in 1 second."),  # no crash
        ({"error": "online_elsewhere"}, "alice is already logged in somewhere else."),
        ({"error": "rate_limited", "text": "Slow down."}, "Slow down."),
    ],
)
def test_login_refusals_are_sentences(reply: dict[str, object], expected: str) -> None:
    assert expected in r.login_refusal({"ok": False, **reply}, "alice")


def test_welcome_counts_what_waited() -> None:
    assert r.to_plain(r.welcome("alice", 0)) == "Welcome, alice! Type help for the commands."
    assert "2 messages arrived while you were away" in r.to_plain(r.welcome("alice", 2))
    assert "1 message arrived" in r.to_plain(r.welcome("alice", 1))


@pytest.mark.parametrize(
    ("cmd", "expected"),
    [
        (c.Message("bob", "hi"), "23:30 you → bob: hi — not sent: bob has blocked you."),
        (c.Broadcast("hi all"), "23:30 you to everyone: hi all — not sent: bob has blocked you."),
    ],
)
def test_a_refused_message_keeps_its_text(cmd: c.Command, expected: str) -> None:
    """The typed line gave way to the outcome line, so the outcome carries the text."""
    refusal = {"ok": False, "error": "blocked", "text": "bob has blocked you."}
    assert plain(r.reply_line(cmd, refusal, NOW)) == expected


@pytest.mark.parametrize(
    ("seconds", "words"),
    [(1, "second"), (45, "45 seconds"), (60, "minute"), (90, "90 seconds"), (300, "5 minutes"),
     (3600, "hour"), (7200, "2 hours"), (86_400, "day"), (604_800, "7 days")],
)  # fmt: skip
def test_time_span_reads_as_people_say_it(seconds: int, words: str) -> None:
    assert r.time_span(seconds) == words


def test_usage_hints_do_not_nest_brackets() -> None:
    with pytest.raises(c.UsageError) as raised:
        c.parse("message")
    assert raised.value.hint == (
        "Usage: message USER TEXT: send USER a message (kept until they log in); the current "
        "conversation stays as it is"
    )


def test_the_private_words_of_several_sessions_are_said() -> None:
    """chat/1 "Several sessions" and precise point 16."""
    now = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    elsewhere = {"ev": "private_cancelled", "user": "bob", "reason": "answered_elsewhere"}
    assert r.to_plain(r.private_cancelled_event(elsewhere, now)).endswith(
        "bob's private chat request was answered in another session of yours."
    )
    unsupported = {"ev": "private_declined", "user": "bob", "reason": "unsupported"}
    assert "bob cannot take private chats" in r.to_plain(r.private_declined_event(unsupported, now))
