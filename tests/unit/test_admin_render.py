"""cli.admin_render: local times, durations, and the plain / Rich / JSON forms of a listing."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta, timezone

import pytest
from rich.console import Console

from cli import admin_render as render
from service.admin.accounts import BlockEntry, Login, UserSummary

T0 = datetime(2026, 11, 24, 23, 12, 25, 123_456, tzinfo=UTC)
BERLIN_WINTER = timezone(timedelta(hours=1), "CET")


def test_local_time_shows_the_zone() -> None:
    assert render.local_time(T0, BERLIN_WINTER) == "2026-11-25 00:12:25 CET"
    assert render.local_time(T0, UTC) == "2026-11-24 23:12:25 UTC"
    assert render.local_time(None) == "-"


def test_local_time_without_a_zone_name_shows_the_offset() -> None:
    assert render.local_time(T0, timezone(timedelta(hours=5, minutes=30))).endswith("UTC+05:30")


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (45, "45s"),
        (60, "1m 00s"),
        (725, "12m 05s"),
        (3 * 3600 + 120 + 59, "3h 02m"),
        (2 * 86_400 + 4 * 3600 + 59, "2d 04h"),
        (-5, "0s"),  # a clock step backwards never shows a negative duration
    ],
)
def test_duration_text(seconds: int, text: str) -> None:
    assert render.duration_text(timedelta(seconds=seconds)) == text


def test_users_listing_plain_format() -> None:
    users = [
        UserSummary("alice", T0, None, 0, None, 0),
        UserSummary("bob", T0, T0, 3, T0 + timedelta(minutes=1), 2),
    ]
    plain = render.plain_text(render.users_listing(users, UTC))
    assert plain == (
        "name\tcreated\tlast login\tfailures\tlocked until\tpending\n"
        "alice\t2026-11-24 23:12:25 UTC\t-\t0\t-\t0\n"
        "bob\t2026-11-24 23:12:25 UTC\t2026-11-24 23:12:25 UTC\t3\t2026-11-24 23:13:25 UTC\t2\n"
    )


def test_users_json_is_rfc3339_utc() -> None:
    users = [UserSummary("bob", T0, None, 1, T0, 2)]
    assert render.users_json(users) == [
        {
            "name": "bob",
            "created_at": "2026-11-24T23:12:25.123Z",
            "last_login": None,
            "failed_attempts": 1,
            "locked_until": "2026-11-24T23:12:25.123Z",
            "pending_messages": 2,
        }
    ]


def test_history_shows_open_sessions_as_online_with_duration_so_far() -> None:
    logins = [
        Login("alice", T0, T0 + timedelta(minutes=2), "127.0.0.1:5001", "timeout"),
        Login("bob", T0, None, "[::1]:5002"),
    ]
    now = T0 + timedelta(hours=1)
    listing = render.history_listing(logins, now, UTC)
    assert listing.columns[-1] == "end reason"
    assert listing.rows == [
        ("alice", "2026-11-24 23:12:25 UTC", "2026-11-24 23:14:25 UTC", "2m 00s", "127.0.0.1:5001",
         "timeout"),
        ("bob", "2026-11-24 23:12:25 UTC", "online", "1h 00m", "[::1]:5002", "-"),
    ]  # fmt: skip
    assert render.history_json(logins, now)[0]["end_reason"] == "timeout"
    assert render.history_json(logins, now)[1] == {
        "user": "bob",
        "login_at": "2026-11-24T23:12:25.123Z",
        "logout_at": None,
        "online": True,
        "duration_s": 3600,
        "peer": "[::1]:5002",
        "end_reason": None,
    }


def test_blocks_listing_and_json() -> None:
    blocks = [BlockEntry("alice", "bob", T0)]
    assert render.plain_text(render.blocks_listing(blocks, UTC)) == (
        "blocker\tblocks\tsince\nalice\tbob\t2026-11-24 23:12:25 UTC\n"
    )
    assert render.blocks_json(blocks) == [
        {"blocker": "alice", "blocked": "bob", "since": "2026-11-24T23:12:25.123Z"}
    ]


def test_an_empty_listing_in_plain_text_is_its_header_alone() -> None:
    assert render.plain_text(render.blocks_listing([], UTC)) == "blocker\tblocks\tsince\n"


def test_rich_table_does_not_read_cells_as_markup() -> None:
    listing = render.history_listing([Login("bob", T0, None, "[bold]x[/bold]")], T0, UTC)
    out = io.StringIO()
    Console(file=out, width=200, color_system=None).print(render.rich_table(listing))
    assert "[bold]x[/bold]" in out.getvalue()


@pytest.mark.parametrize(
    ("number", "text"),
    [(0, "0 login records"), (1, "1 login record"), (2, "2 login records")],
)
def test_count_agrees_with_its_number(number: int, text: str) -> None:
    assert render.count(number, "login record") == text


def test_empty_listings_say_so_in_words() -> None:
    assert render.blocks_listing([]).empty == "Nobody blocks anybody."
    assert render.blocks_listing([], involving="bob").empty == (
        "bob blocks nobody, and nobody blocks bob."
    )
    assert "`" not in render.users_listing([]).empty


def test_no_empty_rooms_is_said_as_such_not_as_no_rooms() -> None:
    assert render.rooms_listing([], empty=True).empty == "There are no empty rooms."
    assert render.rooms_listing([]).empty.startswith("No rooms yet")
