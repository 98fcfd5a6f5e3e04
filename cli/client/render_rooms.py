"""Room events and replies -> styled lines. Pure: every function that stamps a time takes `now`.

A room line reads `09:12 #general bob: text`: the room's name comes first after the time, in
the `room` style (bold underlined cyan), so it stands apart at a glance from a direct message
(`09:12 bob: text`) in colour, and by its `#name` under NO_COLOR. Catch-up after a login is
tagged as a direct message's backlog is (`(while you were away)`), under a header with the
room's unread count. Wire text goes through `render.clean()`, as everywhere.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime

from cli.client import render as r
from cli.client.room_commands import Say
from cli.client.rooms import CATCH_UP_PER_ROOM, HISTORY_MAX, RoomUnread

Line = r.Line
JsonObject = r.JsonObject


def _stamp(at: object, now: datetime) -> tuple[str, str]:
    return ("time", r.clock(at, now) + " ")


def _room(room: object) -> tuple[str, str]:
    return ("room", r.clean(room))


def sender_name(user: object, me: str) -> tuple[str, str]:
    """Another member's name in their colour; our own (in history) as `you`."""
    return ("me", "you") if user == me else (r.user_style(r.clean(user)), r.clean(user))


_sender = sender_name


def room_message(ev: JsonObject, now: datetime, me: str = "", *, catch_up: bool = False) -> Line:
    """A `room_message` event, or one message of a `history` reply."""
    tag: Line = [("stored", " (while you were away)")] if catch_up else []
    sender = ev.get("from")
    return [
        _stamp(ev.get("sent_at"), now),
        _room(ev.get("room")),
        ("", " "),
        *r.spoken(sender, ev.get("text"), _sender(sender, me), tag),
    ]


def own_message(cmd: Say, now: datetime) -> Line:
    """What we said, once the server has stored it."""
    return [_stamp(None, now), _room(cmd.room), ("", " "), ("me", "you"),
            ("", f": {r.clean(cmd.text)}")]  # fmt: skip


def not_said(cmd: Say, why: str, now: datetime) -> Line:
    """A refused `say`, with its text: the typed line has gone from the screen."""
    return [*own_message(cmd, now), ("error", f" — not sent: {why}")]


def say_held(cmd: Say, now: datetime) -> Line:
    """A `say` whose answer never came: kept, and sent again after a reconnect."""
    return [
        *own_message(cmd, now),
        ("error", " (not confirmed; it is sent again if you reconnect)"),
    ]


def room_join_event(ev: JsonObject, now: datetime) -> Line:
    who, room = r.clean(ev.get("user")), r.clean(ev.get("room"))
    return [_stamp(ev.get("at"), now), ("presence", f"* {who} joined {room}")]


def room_leave_event(ev: JsonObject, now: datetime) -> Line:
    who, room = r.clean(ev.get("user")), r.clean(ev.get("room"))
    return [_stamp(ev.get("at"), now), ("presence", f"* {who} left {room}")]


# ---- login and catch-up ---------------------------------------------------------------------


def welcome(user: str, pending: int, rooms: Collection[RoomUnread]) -> list[Line]:
    """The welcome, naming our rooms and their unread counts before any backlog follows."""
    if not rooms:
        return [r.welcome(user, pending)]
    names = ", ".join(
        f"{entry.room} ({entry.unread} unread)" if entry.unread else entry.room for entry in rooms
    )
    head = f"Welcome, {user}! Your rooms: {names}."
    if pending <= 0:
        return [r.note(f"{head} Type help for the commands.")]
    what = "message" if pending == 1 else "messages"
    return [r.note(head), r.note(f"{pending} direct {what} arrived while you were away:")]


def welcome_back(user: str, pending: int, rooms: Collection[RoomUnread]) -> list[Line]:
    """After a reconnect, one line (the rooms are known already), and what waited meanwhile."""
    unread = [f"{entry.room} ({entry.unread} unread)" for entry in rooms if entry.unread]
    head = f"Reconnected as {user}." + (f" Unread: {', '.join(unread)}." if unread else "")
    if pending <= 0:
        return [r.note(head)]
    what = "message" if pending == 1 else "messages"
    return [r.note(head), r.note(f"{pending} direct {what} arrived while you were away:")]


def catch_up_rest(unread: int) -> int:
    """How many of the unread messages before a catch-up the header says `more` shows (and
    `more` then shows): all the rest, or as many as one history page may hold."""
    return min(unread - CATCH_UP_PER_ROOM, HISTORY_MAX)


def catch_up_header(room: str, unread: int) -> Line:
    """Before a room's catch-up: how many are unread, how many follow, how to see the rest."""
    shown = min(unread, CATCH_UP_PER_ROOM)
    if unread <= shown:
        return r.note(f"{room}: {unread} unread, showing the last {shown}:", "stored")
    before, rest = unread - shown, catch_up_rest(unread)
    some = f"the {before}" if rest == before else f"{rest} of the {before}"
    return r.note(
        f"{room}: {unread} unread, showing the last {shown} (more {room} shows {some} "
        "before them):",
        "stored",
    )


# ---- replies to room commands ---------------------------------------------------------------


def joined(room: str, reply: JsonObject) -> Line:
    members = reply.get("members")
    if reply.get("created") is True:
        head = f"You created {room}."
    elif isinstance(members, int) and not isinstance(members, bool):
        head = f"You are in {room} ({r.plural(members, 'member')})."
    else:
        head = f"You are in {room}."
    return [("info", head), ("time", f" {_goes_to(room)}")]


def left(room: str) -> Line:
    return r.note(f"You left {room}.")


def _goes_to(room: str) -> str:
    return f"Plain lines now go to {room}; commands start with /."


def current(room: str | None) -> Line:
    if room is None:
        return no_conversation()
    return r.note(_goes_to(room))


def no_conversation() -> Line:
    return r.note(
        "No current conversation: commands work without / again (#ROOM TEXT talks in a room)."
    )


def query(user: str) -> Line:
    """`query USER`: the conversation with USER is current."""
    return r.note(
        f"Plain lines now go to {r.clean(user)} as direct messages; commands start with /, "
        "and /close ends the conversation."
    )


def not_member(room: str) -> Line:
    return r.note(f"You are not in {room}: join {room} first.", "usage")


def no_rooms() -> Line:
    return r.note("This server has no rooms (its hello does not list the rooms feature).", "error")


def rooms_listing(entries: list[tuple[str, int, bool]]) -> list[Line]:
    """The `rooms` reply: (room, members, joined) per room, sorted by name."""
    if not entries:
        return [r.note("There are no rooms yet: join #NAME creates one.")]
    width = max(len(room) for room, _, _ in entries)
    lines = [r.note(f"{r.plural(len(entries), 'room')}; * marks yours:")]
    for room, members, is_in in entries:
        lines.append([("usage", f"{'*' if is_in else ' '} {room.ljust(width)}"),
                      ("", f"  {r.plural(members, 'member')}")])  # fmt: skip
    return lines


def members_listing(
    room: str, users: Iterable[object], online: Collection[object], me: str
) -> Line:
    """The `members` reply: everyone, `(online)` after those online now, `you` for us."""
    names = [
        "you" if user == me else r.clean(user) + (" (online)" if user in online else "")
        for user in users
    ]
    return r.note(f"{room} has {r.plural(len(names), 'member')}: {', '.join(names)}")


def history_page(
    room: str, messages: list[JsonObject], seqs: list[int], now: datetime, me: str, *, more: bool
) -> list[Line]:
    """A `history` (or `more`) reply: a header, the messages oldest first, and where older
    ones are. `seqs` are the messages' seq numbers (chat/1 numbers a room's from 1)."""
    if not messages:
        text = (
            f"There is nothing before that in {room}." if more else f"Nothing said in {room} yet."
        )
        return [r.note(text)]
    count = len(messages)
    what = r.plural(count, "earlier message") if more else f"the last {r.plural(count, 'message')}"
    lines = [r.note(f"{room}, {what}:")]
    lines += [room_message({**message, "room": room}, now, me) for message in messages]
    if seqs and min(seqs) > 1:
        lines.append(r.note(f"(more {room} shows older ones)", "time"))
    else:
        lines.append(r.note(f"(that is the beginning of {room})", "time"))
    return lines
