"""How chat-admin shows results: a Rich table on a terminal, tab-separated text in a pipe, JSON.

Pure apart from `show_table` and `show_json`, which write to stdout. Each listing is first
turned into a `Listing` (column names and rows of strings), so the table, the plain text and
the tests all see the same values.

The plain format is a stable interface for scripts: one header line, then one line per row,
fields separated by a single tab, `-` for an empty field, times as on screen (local time with
the zone). Programs that want exact times should use `--json`: RFC 3339 UTC.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from service.admin.accounts import BlockEntry, FailedLoginEntry, Login, UserSummary
from service.admin.rooms import RoomLine, RoomSummary
from service.wire.timeutil import to_rfc3339

NONE = "-"  # an empty field, in the table and in plain text alike
ONLINE = "online"  # logout time of a session that is still open


@dataclass(frozen=True, slots=True)
class Listing:
    title: str
    columns: tuple[str, ...]
    rows: Sequence[tuple[str, ...]]
    empty: str  # what a terminal shows instead of an empty table


def local_time(moment: datetime | None, zone: tzinfo | None = None) -> str:
    """`2026-11-24 23:12:25 CET`: the operator's local time (or `zone`), with its name."""
    if moment is None:
        return NONE
    local = moment.astimezone(zone)
    return local.strftime("%Y-%m-%d %H:%M:%S ") + (local.tzname() or local.strftime("%z"))


def maybe_rfc3339(moment: datetime | None) -> str | None:
    return None if moment is None else to_rfc3339(moment)


def duration_text(span: timedelta) -> str:
    """Two units at most, largest first: `45s`, `12m 05s`, `3h 02m`, `2d 04h`."""
    seconds = max(int(span.total_seconds()), 0)
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days}d {hours:02d}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {seconds:02d}s"
    return f"{seconds}s"


def count(number: int, noun: str) -> str:
    """`1 message`, `2 messages`, `0 login records`: a number and its noun in agreement."""
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


# --- listings -----------------------------------------------------------------------------


def users_listing(users: Sequence[UserSummary], zone: tzinfo | None = None) -> Listing:
    columns = ("name", "created", "last login", "failures", "locked until", "pending")
    rows = [
        (
            u.name,
            local_time(u.created_at, zone),
            local_time(u.last_login, zone),
            str(u.failed_attempts),
            local_time(u.locked_until, zone),
            str(u.pending_messages),
        )
        for u in users
    ]
    return Listing("Users", columns, rows, "No users yet: add one with chat-admin adduser NAME.")


def users_json(users: Sequence[UserSummary]) -> list[dict[str, Any]]:
    return [
        {
            "name": u.name,
            "created_at": to_rfc3339(u.created_at),
            "last_login": maybe_rfc3339(u.last_login),
            "failed_attempts": u.failed_attempts,
            "locked_until": maybe_rfc3339(u.locked_until),
            "pending_messages": u.pending_messages,
        }
        for u in users
    ]


def history_listing(logins: Sequence[Login], now: datetime, zone: tzinfo | None = None) -> Listing:
    # `end reason` comes last, so scripts that read the first five columns read on unchanged.
    columns = ("user", "login", "logout", "duration", "peer", "end reason")
    rows = [
        (
            login.user,
            local_time(login.login_at, zone),
            ONLINE if login.logout_at is None else local_time(login.logout_at, zone),
            duration_text(login.duration(now)),
            login.peer or NONE,
            login.end_reason or NONE,
        )
        for login in logins
    ]
    return Listing("Login history", columns, rows, "No logins to show.")


def history_json(logins: Sequence[Login], now: datetime) -> list[dict[str, Any]]:
    return [
        {
            "user": login.user,
            "login_at": to_rfc3339(login.login_at),
            "logout_at": maybe_rfc3339(login.logout_at),
            "online": login.logout_at is None,
            "duration_s": int(login.duration(now).total_seconds()),
            "peer": login.peer,
            "end_reason": login.end_reason,
        }
        for login in logins
    ]


def failed_logins_listing(
    failures: Sequence[FailedLoginEntry], zone: tzinfo | None = None
) -> Listing:
    columns = ("when", "name", "address", "reason")
    rows = [(local_time(f.at, zone), f.name, f.peer, f.reason) for f in failures]
    return Listing("Failed logins", columns, rows, "No failed logins to show.")


def failed_logins_json(failures: Sequence[FailedLoginEntry]) -> list[dict[str, Any]]:
    return [
        {"at": to_rfc3339(f.at), "name": f.name, "known": f.known, "address": f.peer,
         "reason": f.reason}
        for f in failures
    ]  # fmt: skip


def blocks_listing(
    blocks: Sequence[BlockEntry], zone: tzinfo | None = None, *, involving: str | None = None
) -> Listing:
    """`involving`: the name the blocks were chosen by, for the words shown when none are."""
    rows = [(b.blocker, b.blocked, local_time(b.since, zone)) for b in blocks]
    empty = "Nobody blocks anybody."
    if involving is not None:
        empty = f"{involving} blocks nobody, and nobody blocks {involving}."
    return Listing("Blocks", ("blocker", "blocks", "since"), rows, empty)


def blocks_json(blocks: Sequence[BlockEntry]) -> list[dict[str, Any]]:
    return [
        {"blocker": b.blocker, "blocked": b.blocked, "since": to_rfc3339(b.since)} for b in blocks
    ]


# --- output -------------------------------------------------------------------------------


def plain_text(listing: Listing) -> str:
    """The scripts' format: header line, then tab-separated rows (see the module docstring)."""
    lines = ["\t".join(listing.columns), *("\t".join(row) for row in listing.rows)]
    return "\n".join(lines) + "\n"


def rich_table(listing: Listing) -> Table:
    table = Table(title=listing.title, title_justify="left")
    for column in listing.columns:
        table.add_column(column)
    for row in listing.rows:
        # Text, not str: a peer such as "[::1]:5000" must not be read as Rich markup.
        table.add_row(*(Text(cell) for cell in row))
    return table


def show_table(listing: Listing) -> None:
    """A Rich table on a terminal; the stable plain format when stdout is a pipe or file."""
    if not sys.stdout.isatty():
        sys.stdout.write(plain_text(listing))
        return
    console = Console()
    if listing.rows:
        console.print(rich_table(listing))
    else:
        console.print(listing.empty, markup=False)


def show_json(value: list[dict[str, Any]]) -> None:
    sys.stdout.write(json.dumps(value, indent=2) + "\n")


# --- rooms --------------------------------------------------------------------------------


def rooms_listing(
    rooms: Sequence[RoomSummary], zone: tzinfo | None = None, *, empty: bool = False
) -> Listing:
    """The rooms; `empty`: the listing of `rooms --empty`, which says so when there are none."""
    columns = ("room", "created", "creator", "members", "messages", "last activity")
    rows = [
        (
            r.name,
            local_time(r.created_at, zone),
            r.creator,
            str(r.members),
            str(r.messages),
            local_time(r.last_activity, zone),
        )
        for r in rooms
    ]
    if empty:
        return Listing("Empty rooms", columns, rows, "There are no empty rooms.")
    return Listing("Rooms", columns, rows, "No rooms yet: a user's `join` creates one.")


def rooms_json(rooms: Sequence[RoomSummary]) -> list[dict[str, Any]]:
    return [
        {
            "room": r.name,
            "created_at": to_rfc3339(r.created_at),
            "creator": r.creator,
            "members": r.members,
            "messages": r.messages,
            "last_activity": to_rfc3339(r.last_activity),
        }
        for r in rooms
    ]


def room_history_listing(
    room: str, lines: Sequence[RoomLine], zone: tzinfo | None = None
) -> Listing:
    rows = [
        (str(line.seq), local_time(line.sent_at, zone), line.sender, _one_line(line.text))
        for line in lines
    ]
    return Listing(room, ("seq", "sent", "from", "text"), rows, "Nothing was said.")


def room_history_json(lines: Sequence[RoomLine]) -> list[dict[str, Any]]:
    return [
        {"seq": line.seq, "from": line.sender, "text": line.text,
         "sent_at": to_rfc3339(line.sent_at)}
        for line in lines
    ]  # fmt: skip


def _one_line(text: str) -> str:
    """A message's text in one table cell or one tab-separated field: line breaks and tabs
    shown as `\\n` and `\\t`, so a message cannot forge rows (--json has the exact text)."""
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
