"""Events and replies -> styled lines for the terminal. Pure: every function takes `now`.

A `Line` is a list of (style class, text) fragments, the shape prompt_toolkit calls
formatted text. `to_ansi` turns one into a string for `print`, with colour or (NO_COLOR) without.
Everything that came from the wire passes through `clean()` first: another user's text must
never be able to move the cursor, clear the screen or otherwise drive the terminal.

This module decides how things read, not what happens; `controller.py` decides that.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from cli.client import commands as c

Line = list[tuple[str, str]]
JsonObject = dict[str, Any]

# C0/C1 controls and DEL, and the bidi overrides that can make text read backwards.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_USER_COLOURS = 6  # user names cycle through style classes user0..user5

PALETTE: dict[str, str] = {  # style class -> ANSI SGR parameters
    "time": "2",
    "me": "1",
    "stored": "33",
    "broadcast": "35",
    "room": "1;4;36",  # a room's name, ahead of each of its lines (render_rooms)
    "presence": "2;36",
    "private": "1;35",
    "info": "36",
    "error": "1;31",
    "usage": "1",
    "user0": "1;32",
    "user1": "1;34",
    "user2": "1;33",
    "user3": "1;36",
    "user4": "1;91",
    "user5": "1;94",
}


def colour_enabled(env: Mapping[str, str], is_tty: bool = True) -> bool:
    """https://no-color.org: a non-empty NO_COLOR turns colour off; so does output that is
    not a terminal (a pipe or a file should not collect escape codes)."""
    return is_tty and not env.get("NO_COLOR")


def to_ansi(line: Line, colour: bool) -> str:
    if not colour:
        return "".join(text for _, text in line)
    out = []
    for style, text in line:
        code = PALETTE.get(style)
        out.append(f"\x1b[{code}m{text}\x1b[0m" if code else text)
    return "".join(out)


def to_plain(line: Line) -> str:
    return to_ansi(line, colour=False)


def clean(text: object) -> str:
    """Wire text -> safe terminal text: controls become U+FFFD, a newline starts an indented
    continuation line, a tab is spaces."""
    safe = str(text).replace("\r\n", "\n").replace("\t", "    ")
    return _UNSAFE.sub("\ufffd", safe).replace("\n", "\n    ")


def user_style(user: str) -> str:
    """A stable colour per name (crc32, not hash(): the same in every run)."""
    return f"user{zlib.crc32(user.encode()) % _USER_COLOURS}"


def parse_wire_time(value: object) -> datetime | None:
    """chat/1 times are RFC 3339 UTC with `Z`; anything unreadable is None, not a crash."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def clock(at: object, now: datetime) -> str:
    """A wire time (or None: now) in now's zone: `HH:MM` today, `24 Nov 09:30` otherwise."""
    moment = parse_wire_time(at)
    local = now if moment is None else moment.astimezone(now.tzinfo)
    if local.date() == now.date():
        return local.strftime("%H:%M")
    return f"{local.day} {local.strftime('%b %H:%M')}"


def _stamp(at: object, now: datetime) -> tuple[str, str]:
    return ("time", clock(at, now) + " ")


def _name(user: object) -> tuple[str, str]:
    name = clean(user)
    return (user_style(name), name)


def plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def duration(seconds: float) -> str:
    """retry_after and friends for people: `45 seconds`, `3 minutes`."""
    whole = max(1, int(-(-seconds // 1)))
    if whole < 90:
        return plural(whole, "second")
    return plural(-(-whole // 60), "minute")


_SPAN_UNITS = (("day", 86_400), ("hour", 3_600), ("minute", 60))


def time_span(seconds: int) -> str:
    """A whole number of seconds in the largest unit that divides it: `minute`, `5 minutes`,
    `2 hours`, `90 seconds` (read after "the last")."""
    for unit, size in _SPAN_UNITS:
        if seconds % size == 0:
            count = seconds // size
            return unit if count == 1 else f"{count:,} {unit}s"
    return "second" if seconds == 1 else f"{seconds:,} seconds"


def note(text: str, style: str = "info") -> Line:
    """A line of the client's own (no timestamp): results, hints, errors."""
    return [(style, text)]


def event_note(text: str, now: datetime, style: str = "info") -> Line:
    """A line about something that happened (timestamped), e.g. a private chat opening."""
    return [_stamp(None, now), (style, text)]


# ---- server events --------------------------------------------------------------------------


def action(sender: object, text: object) -> str | None:
    """What `/me` said (`* alice waves` as alice's text: IRC's action, which chat/1 carries as
    plain text), without the `* alice ` its sender's client put first; None for other text."""
    prefix = f"* {sender} "
    if isinstance(text, str) and text.startswith(prefix) and len(text) > len(prefix):
        return text[len(prefix) :]
    return None


def spoken(sender: object, text: object, name: tuple[str, str], tag: Line) -> Line:
    """`alice: text` after the stamp, or `* alice waves` for an action (not `alice: * alice
    waves`)."""
    acted = action(sender, text)
    if acted is not None:  # by name, ours too: `* alice waves`, never `* you waves`
        return [("", "* "), _name(sender), *tag, ("", f" {clean(acted)}")]
    return [name, *tag, ("", ": "), ("", clean(text if isinstance(text, str) else ""))]


def message_event(ev: JsonObject, now: datetime) -> Line:
    tag: Line = [("stored", " (while you were away)")] if ev.get("stored") else []
    sender = ev.get("from")
    return [_stamp(ev.get("sent_at"), now), *spoken(sender, ev.get("text"), _name(sender), tag)]


def broadcast_event(ev: JsonObject, now: datetime) -> Line:
    return [
        _stamp(ev.get("sent_at"), now),
        _name(ev.get("from")),
        ("broadcast", " to everyone"),
        ("", ": "),
        ("", clean(ev.get("text", ""))),
    ]


def presence_event(ev: JsonObject, now: datetime) -> Line:
    state = "is online" if ev.get("state") == "online" else "went offline"
    return [_stamp(ev.get("at"), now), ("presence", f"* {clean(ev.get('user'))} {state}")]


def private_request_event(ev: JsonObject, now: datetime) -> Line:
    who = clean(ev.get("from"))
    return [
        _stamp(None, now),
        ("private", f"* {who} wants a private chat with you."),
        ("", " Type y to accept or n to decline."),
    ]


_DECLINED_LINES = {  # private_declined reason (chat/1 precise point 16) -> what the asker reads
    "declined": "{who} declined your private chat request.",
    "expired": "{who} did not answer your private chat request in time.",
    "blocked": "Your private chat request to {who} has ended (blocked).",
    "cancelled": "{who} left before answering your private chat request.",
    "unsupported": "{who} is on a client that cannot take private chats (a web page).",
}


def private_declined_event(ev: JsonObject, now: datetime) -> Line:
    """Servers before precise point 16 send no reason: then all we know is "not accepted"."""
    template = _DECLINED_LINES.get(
        str(ev.get("reason")), "{who} did not accept your private chat request."
    )
    return event_note(template.format(who=clean(ev.get("user"))), now, "private")


_CANCELLED_LINES = {  # private_cancelled reason -> why the question went away
    "expired": "{who}'s private chat request expired before you answered.",
    "withdrawn": "{who} withdrew the private chat request.",
    "blocked": "{who}'s private chat request has ended (blocked).",
    "logout": "{who} logged out; their private chat request has ended.",
    "timeout": "{who} was logged out for being idle; their private chat request has ended.",
    "disconnected": "{who} lost their connection; their private chat request has ended.",
}


def private_cancelled_event(ev: JsonObject, now: datetime) -> Line:
    template = _CANCELLED_LINES.get(
        str(ev.get("reason")), "{who}'s private chat request has ended."
    )
    return event_note(template.format(who=clean(ev.get("user"))), now, "private")


def error_event(ev: JsonObject, now: datetime) -> Line:
    return event_note(
        f"The server could not read a frame: {clean(ev.get('text', ''))}", now, "error"
    )


EVENT_RENDERERS: dict[str, Callable[[JsonObject, datetime], Line]] = {
    "message": message_event,
    "broadcast": broadcast_event,
    "presence": presence_event,
    "private_request": private_request_event,
    "private_declined": private_declined_event,
    "private_cancelled": private_cancelled_event,
    "error": error_event,
}

_BYE_LINES = {
    "logout": "Logged out. Bye!",
    "timeout": "You were logged out for being idle too long.",
    "shutdown": "The server is shutting down; you have been logged out.",
    "account_deleted": "Your account has been deleted by the server's operator; "
    "you have been logged out.",
    "kicked": "The server's operator ended your session; you have been logged out.",
    "replaced": "You logged in again elsewhere, and that session took this one's place; "
    "you have been logged out.",
}


def bye_event(ev: JsonObject) -> Line:
    text = _BYE_LINES.get(str(ev.get("reason")))
    if text is None:
        return note(f"The server closed the connection: {clean(ev.get('text', ''))}", "error")
    return note(text)


# ---- private (peer-to-peer) chat ------------------------------------------------------------

_STOP_LINES = {  # private_stopped / p2p_stop reason -> why the chat ended
    "stopped": "{peer} ended the private chat.",
    "logout": "{peer} logged out; the private chat has ended.",
    "timeout": "{peer} was logged out for being idle; the private chat has ended.",
    "blocked": "The private chat with {peer} has ended (blocked).",
    "disconnected": "{peer} lost their connection; the private chat has ended.",
    "lost": "The private chat with {peer} was cut off.",
    "no_show": "{peer} never connected; the private chat request has lapsed.",
    "shutdown": "The server is shutting down; the private chat with {peer} has ended.",
}


def private_stopped(peer: str, reason: str, now: datetime) -> Line:
    template = _STOP_LINES.get(reason, "The private chat with {peer} has ended.")
    return event_note(template.format(peer=clean(peer)), now, "private")


def private_opened(peer: str, now: datetime) -> Line:
    return event_note(
        f"Private chat with {clean(peer)} is open. Type: private {clean(peer)} TEXT",
        now,
        "private",
    )


def private_message(peer: str, text: str, now: datetime, *, outgoing: bool) -> Line:
    head = (
        [("me", "you"), ("private", f" → {clean(peer)} (private)")]
        if outgoing
        else [_name(peer), ("private", " (private)")]
    )
    return [_stamp(None, now), *head, ("", ": "), ("", clean(text))]


# ---- replies to commands --------------------------------------------------------------------


def _users(users: object) -> str:
    return ", ".join(clean(u) for u in users) if isinstance(users, list) else ""


def _message_reply(cmd: c.Message, reply: JsonObject, now: datetime) -> Line:
    where = "" if reply.get("delivered") else f" ({cmd.user} is offline; they get it at login)"
    return [
        _stamp(None, now),
        ("me", "you"),
        ("", f" → {cmd.user}: {clean(cmd.text)}"),
        ("stored", where),
    ]


def not_sent(cmd: c.Message | c.Broadcast | c.Private, why: str, now: datetime) -> Line:
    """A refused message with its text: the typed line has gone from the screen (it would
    repeat the echo), so the text must not go with it."""
    if isinstance(cmd, c.Broadcast):
        to = " to everyone"
    elif isinstance(cmd, c.Private):
        to = f" → {cmd.user} (private)"
    else:
        to = f" → {cmd.user}"
    return [
        _stamp(None, now),
        ("me", "you"),
        ("", f"{to}: {clean(cmd.text)}"),
        ("error", f" — not sent: {why}"),
    ]


def message_held(cmd: c.Message, now: datetime) -> Line:
    """A direct message whose answer never came: kept, and sent again after a reconnect."""
    return [
        _stamp(None, now),
        ("me", "you"),
        ("", f" → {cmd.user}: {clean(cmd.text)}"),
        ("error", " (not confirmed; it is sent again if you reconnect)"),
    ]


def message_confirmed(cmd: c.Message, now: datetime) -> Line:
    """A direct message sent again with its nonce after no answer came: the server has it
    once. Whether it went live the first time, this reply cannot say (chat/1 answers a
    repeated nonce with `delivered` false), so the line does not claim the user is offline."""
    return [
        _stamp(None, now),
        ("me", "you"),
        ("", f" → {cmd.user}: {clean(cmd.text)}"),
        ("stored", " (confirmed: the server has it, once)"),
    ]


def idle_warning(left_s: float, now: datetime) -> Line:
    return event_note(
        f"You have been idle a while: the server logs you out in {duration(left_s)} "
        "unless you send a command.",
        now,
        "error",
    )


def _broadcast_reply(cmd: c.Broadcast, reply: JsonObject, now: datetime) -> Line:
    got = int(reply.get("delivered_to", 0))
    blocked = int(reply.get("blocked_by", 0))
    extra = f", {plural(blocked, 'user')} blocking you did not" if blocked else ""
    return [
        _stamp(None, now),
        ("me", "you"),
        ("broadcast", " to everyone"),
        ("", f": {clean(cmd.text)}"),
        ("time", f" ({plural(got, 'user')} got it{extra})"),
    ]


def _whoelse_reply(cmd: c.WhoElse, reply: JsonObject, now: datetime) -> Line:
    users = _users(reply.get("users"))
    return note(f"Online now: {users}" if users else "Nobody else is online.")


def _whoelsesince_reply(cmd: c.WhoElseSince, reply: JsonObject, now: datetime) -> Line:
    users = _users(reply.get("users"))
    span = time_span(cmd.seconds)
    return note(
        f"Online in the last {span}: {users}"
        if users
        else f"Nobody else was online in the last {span}."
    )


def _block_reply(cmd: c.Block, reply: JsonObject, now: datetime) -> Line:
    return note(f"You blocked {cmd.user}: they cannot message you or see you online.")


def _unblock_reply(cmd: c.Unblock, reply: JsonObject, now: datetime) -> Line:
    return note(f"You unblocked {cmd.user}.")


def _blocklist_reply(cmd: c.BlockList, reply: JsonObject, now: datetime) -> Line:
    users = _users(reply.get("users"))
    return note(f"You block: {users}" if users else "You do not block anyone.")


def _startprivate_reply(cmd: c.StartPrivate, reply: JsonObject, now: datetime) -> Line:
    return note(f"Asked {cmd.user} for a private chat; waiting for their answer.", "private")


def _stopprivate_reply(cmd: c.StopPrivate, reply: JsonObject, now: datetime) -> Line:
    return event_note(f"You ended the private chat with {cmd.user}.", now, "private")


def private_withdrawn(user: str, now: datetime) -> Line:
    """`stopprivate USER` while our request to USER was still unanswered."""
    return event_note(f"You withdrew your private chat request to {clean(user)}.", now, "private")


REPLY_RENDERERS: dict[type, Callable[[Any, JsonObject, datetime], Line]] = {
    c.Message: _message_reply,
    c.Broadcast: _broadcast_reply,
    c.WhoElse: _whoelse_reply,
    c.WhoElseSince: _whoelsesince_reply,
    c.Block: _block_reply,
    c.Unblock: _unblock_reply,
    c.BlockList: _blocklist_reply,
    c.StartPrivate: _startprivate_reply,
    c.StopPrivate: _stopprivate_reply,
}


def reply_line(cmd: c.Command, reply: JsonObject, now: datetime) -> Line | None:
    """The outcome of a command. A refusal shows the server's sentence as is (chat/1 says its
    `text` is meant for people); None when success needs no line (e.g. logout)."""
    if not reply.get("ok"):
        why = clean(reply.get("text") or reply.get("error") or "The request failed.")
        return not_sent(cmd, why, now) if isinstance(cmd, c.ECHOED) else note(why, "error")
    renderer = REPLY_RENDERERS.get(type(cmd))
    return None if renderer is None else renderer(cmd, reply, now)


def help_text(topic: str | None = None) -> list[Line]:
    rows = c.help_lines(topic)
    width = max(len(usage) for usage, _ in rows)
    lines = [[("usage", usage.ljust(width)), ("", f"  {text}")] for usage, text in rows]
    if topic is None:
        lines.append(
            note(
                "In a conversation (a room you joined, or query USER; the prompt shows it), "
                "every line is said there and commands start with /, as in IRC or Slack "
                "(// says a line that starts with /). With none, commands work without /, "
                "and #ROOM TEXT talks in a room. Tab completes commands, names and #rooms; "
                "Up/Down recall earlier lines; Ctrl-C clears the line; Ctrl-L the screen; "
                "Ctrl-D logs out."
            )
        )
    return lines


# ---- login ----------------------------------------------------------------------------------


def welcome(user: str, pending: int) -> Line:
    if pending <= 0:
        return note(f"Welcome, {user}! Type help for the commands.")
    what = "message" if pending == 1 else "messages"
    return note(f"Welcome, {user}! {pending} {what} arrived while you were away:")


def login_refusal(reply: JsonObject, user: str) -> str:
    """A refused login or register as one clear sentence."""
    error = reply.get("error")
    if error == "bad_credentials":
        left = reply.get("attempts_left")
        tail = (
            f" {plural(int(left), 'attempt')} left before the account locks."
            if isinstance(left, int)
            else ""
        )
        return f"Wrong username or password.{tail}"
    if error == "locked":
        retry_after = reply.get("retry_after")
        wait = duration(retry_after if isinstance(retry_after, int) else 1)
        return f"{user} is locked after too many wrong passwords. Try again in {wait}."
    if error == "online_elsewhere":
        return f"{user} is already logged in somewhere else. Log out there first."
    return clean(reply.get("text") or error or "The server refused the login.")
