"""chat-admin's room commands (rooms, room-history, delroom) through CliRunner on a SQLite file.

CliRunner's stdout is not a terminal, so listings come out in the plain, tab-separated format.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from typer.testing import CliRunner, Result

from cli.admin import app
from service.admin import rooms as room_admin
from service.store import Store
from service.store.room_statements import SavedSay
from service.wire.timeutil import utc_now

runner = CliRunner()


def admin(db_url: str, *args: str, input: str | None = None) -> Result:
    return runner.invoke(app, [*args, "--db", db_url], input=input)


def plain_rows(result: Result) -> list[list[str]]:
    header, *rows = result.stdout.splitlines()
    assert "\t" in header, result.output
    return [row.split("\t") for row in rows]


@pytest.fixture
def general(store: Store) -> Store:
    """alice made #general and said two things; bob joined and said one; #empty is empty."""
    for name in ("alice", "bob"):
        store.users.create_user(name, "not-a-real-hash", utc_now())
    store.rooms.join_room("alice", "#general", utc_now())
    store.rooms.join_room("bob", "#general", utc_now())
    store.rooms.join_room("bob", "#empty", utc_now())
    for sender, words in [("alice", "hello"), ("bob", "two\nlines\tand a tab"), ("alice", "bye")]:
        outcome = store.room_messages.say(
            sender, "#general", words, None, utc_now(), max_chars=4_000
        )
        assert isinstance(outcome, SavedSay)
    return store


def test_rooms_lists_every_room(db_url: str, general: Store) -> None:
    result = admin(db_url, "rooms")
    assert result.exit_code == 0, result.output
    rows = plain_rows(result)
    assert [(r[0], r[2], r[3], r[4]) for r in rows] == [
        ("#empty", "bob", "1", "0"),
        ("#general", "alice", "2", "3"),
    ]


def test_rooms_json(db_url: str, general: Store) -> None:
    result = admin(db_url, "rooms", "--json")
    assert result.exit_code == 0, result.output
    rooms = json.loads(result.stdout)
    assert [r["room"] for r in rooms] == ["#empty", "#general"]
    assert set(rooms[1]) == {"room", "created_at", "creator", "members", "messages",
                             "last_activity"}  # fmt: skip
    assert rooms[1]["last_activity"].endswith("Z")


def test_room_history_shows_what_was_said_with_line_breaks_escaped(
    db_url: str, general: Store
) -> None:
    result = admin(db_url, "room-history", "#general")
    assert result.exit_code == 0, result.output
    rows = plain_rows(result)
    assert [(r[0], r[2], r[3]) for r in rows] == [
        ("1", "alice", "hello"),
        ("2", "bob", "two\\nlines\\tand a tab"),
        ("3", "alice", "bye"),
    ]


def test_room_history_json_since_and_without_the_hash(db_url: str, general: Store) -> None:
    result = admin(db_url, "room-history", "general", "--json", "--since", "1h")
    assert result.exit_code == 0, result.output
    lines = json.loads(result.stdout)
    assert [line["text"] for line in lines] == ["hello", "two\nlines\tand a tab", "bye"]
    assert set(lines[0]) == {"seq", "from", "text", "sent_at"}
    earlier = (utc_now() - timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    after = admin(db_url, "room-history", "#general", "--json", "--since", earlier)
    assert len(json.loads(after.stdout)) == 3
    later = (utc_now() + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    future = admin(db_url, "room-history", "#general", "--json", "--since", later)
    assert future.exit_code == 2, future.output  # issue 17: a future WHEN is refused
    assert "is in the future" in future.stderr


def test_room_history_keeps_a_deleted_users_messages(db_url: str, general: Store) -> None:
    assert admin(db_url, "deluser", "bob", "--yes").exit_code == 0
    result = admin(db_url, "room-history", "#general", "--json")
    assert [line["from"] for line in json.loads(result.stdout)] == ["alice", "bob", "alice"]


def test_delroom_asks_and_keeps_the_room_on_no(db_url: str, general: Store) -> None:
    result = admin(db_url, "delroom", "#general", input="n\n")
    assert result.exit_code == 1, result.output
    assert "Delete room #general with 2 members and 3 messages?" in result.stdout
    assert "#general was not deleted" in result.stderr
    assert general.operator_rooms.room_summary("#general") is not None


def test_delroom_yes_deletes_and_says_what_went(db_url: str, general: Store) -> None:
    result = admin(db_url, "delroom", "#general", "--yes")
    assert result.exit_code == 0, result.output
    assert result.stdout == "Deleted room #general with 2 members and 3 messages.\n"
    assert [r.name for r in general.operator_rooms.list_rooms()] == ["#empty"]


@pytest.mark.parametrize("command", [["room-history"], ["delroom", "--yes"]])
def test_a_missing_room_is_refused(db_url: str, general: Store, command: list[str]) -> None:
    result = admin(db_url, *command, "#ghost")
    assert result.exit_code == 1, result.output
    assert result.stderr == "Error: there is no room #ghost\n"


@pytest.mark.parametrize("command", [["room-history"], ["delroom", "--yes"]])
def test_a_malformed_room_name_is_a_usage_error(db_url: str, command: list[str]) -> None:
    result = admin(db_url, *command, "#gen eral")  # `#General` is #general, as in the client
    assert result.exit_code == 2, result.output
    assert "not a room name" in result.stderr


def test_help_for_the_room_commands() -> None:
    for command in ("rooms", "room-history", "delroom"):
        result = runner.invoke(app, [command, "--help"])
        assert result.exit_code == 0, result.output
        assert "Usage: " in result.stdout


# --- empty rooms (issue 17, point 11) -------------------------------------------------------


@pytest.fixture
def deserted(general: Store) -> Store:
    """#general and #empty have members; alice made #gone and #left, said something in #left,
    and left both: they have no members."""
    for room in ("#gone", "#left"):
        general.rooms.join_room("alice", room, utc_now())
    said = general.room_messages.say("alice", "#left", "anyone?", None, utc_now(), max_chars=99)
    assert isinstance(said, SavedSay)
    for room in ("#gone", "#left"):
        assert general.rooms.leave_room("alice", room) is None
    return general


def test_rooms_empty_lists_only_rooms_without_members(db_url: str, deserted: Store) -> None:
    result = admin(db_url, "rooms", "--empty")
    assert result.exit_code == 0, result.output
    assert [(r[0], r[2], r[3]) for r in plain_rows(result)] == [
        ("#gone", "alice", "0"),
        ("#left", "alice", "0"),
    ]
    as_json = admin(db_url, "rooms", "--empty", "--json")
    assert [room["room"] for room in json.loads(as_json.stdout)] == ["#gone", "#left"]


def test_delroom_removes_an_empty_room_with_its_history(db_url: str, deserted: Store) -> None:
    result = admin(db_url, "delroom", "left", "--yes")
    assert result.exit_code == 0, result.output
    assert result.stdout == "Deleted room #left with 0 members and 1 message.\n"
    gone = admin(db_url, "room-history", "#left")
    assert gone.stderr == "Error: there is no room #left\n"


def test_delroom_empty_removes_every_empty_room_after_asking_once(
    db_url: str, deserted: Store
) -> None:
    declined = admin(db_url, "delroom", "--empty", input="n\n")
    assert declined.exit_code == 1, declined.output
    assert "Delete 2 empty rooms (#gone, #left) with 1 message?" in declined.stdout
    assert len(deserted.operator_rooms.list_rooms()) == 4

    result = admin(db_url, "delroom", "--empty", input="y\n")

    assert result.exit_code == 0, result.output
    assert result.stdout.endswith("Deleted 2 empty rooms with 1 message.\n")
    assert [r.name for r in deserted.operator_rooms.list_rooms()] == ["#empty", "#general"]
    none_left = admin(db_url, "delroom", "--empty", "--yes")
    assert (none_left.exit_code, none_left.stdout) == (0, "There are no empty rooms.\n")


@pytest.mark.parametrize("args", [[], ["general", "--empty"]])
def test_delroom_takes_a_room_or_empty(db_url: str, args: list[str]) -> None:
    result = admin(db_url, "delroom", *args, "--yes")
    assert result.exit_code == 2, result.output
    assert "a ROOM or --empty" in result.stderr


def test_only_the_empty_rooms_the_operator_was_shown_are_deleted(deserted: Store) -> None:
    """A room that empties while the question is on screen was not confirmed: it stays."""
    gone = room_admin.delete_empty_rooms(deserted, {"#gone"})  # #left is empty too, not named
    assert [r.name for r in gone] == ["#gone"]
    assert [r.name for r in deserted.operator_rooms.list_rooms()] == ["#empty", "#general", "#left"]


def test_delroom_empty_names_ten_rooms_and_counts_the_rest(db_url: str, general: Store) -> None:
    for n in range(12):
        general.rooms.join_room("alice", f"#r{n:02d}", utc_now())
        assert general.rooms.leave_room("alice", f"#r{n:02d}") is None
    declined = admin(db_url, "delroom", "--empty", input="n\n")
    named = ", ".join(f"#r{n:02d}" for n in range(10))
    assert (
        f"Delete 12 empty rooms ({named} and 2 more (chat-admin rooms --empty lists them)) "
        "with 0 messages?" in declined.stdout
    ), declined.stdout
