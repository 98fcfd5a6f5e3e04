"""chat-admin as an operator meets it (issue 17): names typed in another case, passwords asked
again, room names as the client writes them, help that says what happens, and `--since` that
refuses what it cannot mean. CliRunner on a real SQLite file, as in test_admin_cli.py.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from typer.testing import CliRunner

from cli.admin import app
from service.credentials.passwords import LockoutPolicy, verify_password
from service.store import Store
from service.store.room_statements import SavedSay
from service.wire.timeutil import utc_now
from tests.integration.test_admin_cli import admin, plain_rows, seed

POLICY = LockoutPolicy(max_attempts=3, block_duration=timedelta(hours=1))
runner = CliRunner()


def help_of(*command: str) -> str:
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    return " ".join(result.output.replace("│", " ").split())


# --- names typed in another case (issue 17, point 5) ----------------------------------------


def test_passwd_in_another_case_changes_the_one_account_and_says_so(
    db_url: str, store: Store
) -> None:
    seed(store, "alice")

    result = admin(db_url, "passwd", "ALICE", input="brand new pw\nbrand new pw\n")

    assert result.exit_code == 0, result.output
    assert "no user ALICE; using alice (names are unique ignoring case)" in result.stderr
    assert "Changed the password of alice" in result.stdout
    credentials = store.users.credentials("alice")
    assert credentials is not None and verify_password(credentials.password_hash, "brand new pw")
    assert not store.users.user_exists("ALICE")


def test_unlock_deluser_blocks_history_find_the_account_ignoring_case(
    db_url: str, store: Store
) -> None:
    seed(store, "alice", "bob")
    now = utc_now()
    store.periods.start_period("alice", "127.0.0.1:4000", now)
    store.blocks.block("bob", "alice", now)
    for _ in range(3):
        store.users.record_failed_login("alice", now, POLICY)

    unlocked = admin(db_url, "unlock", "Alice")
    blocks = admin(db_url, "blocks", "ALICE", "--json")
    history = admin(db_url, "history", "--user", "aLiCe", "--json")

    assert unlocked.exit_code == 0, unlocked.output
    assert unlocked.stdout.startswith("Unlocked alice ")
    assert "using alice" in unlocked.stderr
    assert blocks.exit_code == 0, blocks.output
    assert json.loads(blocks.stdout)[0]["blocked"] == "alice"  # stdout stays JSON
    assert "using alice" in blocks.stderr
    assert history.exit_code == 0, history.output
    assert [row["user"] for row in json.loads(history.stdout)] == ["alice"]

    deleted = admin(db_url, "deluser", "ALICE", "--yes")

    assert deleted.exit_code == 0, deleted.output
    assert deleted.stdout.startswith("Deleted user alice ")
    assert not store.users.user_exists("alice")


def test_the_exact_name_says_nothing_more_and_a_missing_one_is_still_missing(
    db_url: str, store: Store
) -> None:
    seed(store, "alice")
    exact = admin(db_url, "unlock", "alice")
    missing = admin(db_url, "unlock", "ALICIA")

    assert exact.exit_code == 0 and exact.stderr == ""
    assert missing.exit_code == 1
    assert missing.stderr == "Error: there is no user ALICIA\n"


# --- passwords asked again ----------------------------------------------------------------


def test_adduser_asks_again_after_a_short_or_mismatched_password(db_url: str, store: Store) -> None:
    typed = "short\n" + "correct horse\ncorrect house\n" + "correct horse\ncorrect horse\n"

    result = admin(db_url, "adduser", "alice", input=typed)

    assert result.exit_code == 0, result.output
    assert "the password is shorter than 8 characters; try again" in result.stderr
    assert "the two passwords differ; try again" in result.stderr
    credentials = store.users.credentials("alice")
    assert credentials is not None and verify_password(credentials.password_hash, "correct horse")


def test_adduser_gives_up_after_three_tries(db_url: str, store: Store) -> None:
    result = admin(db_url, "adduser", "alice", input="short\n" * 3)

    assert result.exit_code == 1, result.output
    assert result.stderr.endswith(
        "Error: the password is shorter than 8 characters (3 tries); nothing changed\n"
    )
    assert result.stderr.count("try again") == 2  # not before the third, which is the last
    assert not store.users.user_exists("alice")


def test_adduser_password_stdin_still_fails_at_once(db_url: str, store: Store) -> None:
    result = admin(db_url, "adduser", "alice", "--password-stdin", input="short\nlong enough\n")

    assert result.exit_code == 1, result.output
    assert result.stderr == "Error: --password-stdin reads a single line, but got several; " \
        "nothing changed\n"  # fmt: skip
    short = admin(db_url, "adduser", "alice", "--password-stdin", input="short\n")
    assert short.exit_code == 1
    assert short.stderr == "Error: the password is shorter than 8 characters; nothing changed\n"
    assert not store.users.user_exists("alice")


# --- rooms as the client writes them, help that says what happens -------------------------


def test_room_history_takes_a_name_in_capitals_as_the_client_does(
    db_url: str, store: Store
) -> None:
    seed(store, "alice")
    store.rooms.join_room("alice", "#general", utc_now())
    said = store.room_messages.say("alice", "#general", "hello", None, utc_now(), max_chars=100)
    assert isinstance(said, SavedSay)

    result = admin(db_url, "room-history", "#General", "--json")

    assert result.exit_code == 0, result.output
    assert [line["text"] for line in json.loads(result.stdout)] == ["hello"]


@pytest.mark.parametrize("command", ["rooms", "room-history", "delroom"])
def test_room_commands_show_flags_as_plain_flags(command: str) -> None:
    assert "<bool>" not in help_of(command)
    assert "<str>" not in help_of(command)


def test_deluser_help_says_what_happens_to_rooms() -> None:
    text = help_of("deluser")
    assert "room memberships go" in text
    assert "what they said in rooms stays" in text


def test_no_help_speaks_of_an_original_assignment() -> None:
    for command in ("import-credentials", "adduser", "history", "rooms"):
        assert "original assignment" not in help_of(command)
    assert "username password" in help_of("import-credentials")


# --- --since -------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [["history"], ["room-history", "general"]])
def test_a_since_in_the_future_is_a_usage_error(db_url: str, command: list[str]) -> None:
    future = (utc_now() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%MZ")

    result = admin(db_url, *command, "--since", future)

    assert result.exit_code == 2, result.output
    assert "is in the future" in result.stderr


def test_a_bad_since_lists_every_unit(db_url: str) -> None:
    result = admin(db_url, "history", "--since", "yesterday")

    assert result.exit_code == 2, result.output
    assert "s, m, h, d or w" in result.stderr
    assert "1w" in result.stderr


def test_history_of_now_is_not_refused(db_url: str, store: Store) -> None:
    seed(store, "alice")
    store.periods.start_period("alice", "127.0.0.1:4000", utc_now())

    result = admin(db_url, "history", "--since", "0s")

    assert result.exit_code == 0, result.output
    assert [row[0] for row in plain_rows(result)] == ["alice"]
