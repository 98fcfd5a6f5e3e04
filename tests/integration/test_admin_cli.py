"""chat-admin through typer.testing.CliRunner against a real SQLite file.

CliRunner's stdout is not a terminal, so listings come out in the plain, tab-separated format.
Accounts are seeded through the Store with a fake hash unless a test logs in with them.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
from alembic import command
from typer.testing import CliRunner, Result

from cli import admin_render as render
from cli.admin import app, main
from service.credentials.passwords import LockoutPolicy, verify_password
from service.store import Store
from service.store.db import alembic_config, current_revision
from service.wire.timeutil import utc_now

POLICY = LockoutPolicy(max_attempts=3, block_duration=timedelta(hours=1))
runner = CliRunner()


def admin(db_url: str, *args: str, input: str | None = None) -> Result:
    return runner.invoke(app, [*args, "--db", db_url], input=input)


def seed(store: Store, *names: str) -> None:
    for name in names:
        store.users.create_user(name, "not-a-real-hash", utc_now())


def plain_rows(result: Result) -> list[list[str]]:
    """The data rows of a plain listing, after checking it is one."""
    header, *rows = result.stdout.splitlines()
    assert "\t" in header, result.output
    return [row.split("\t") for row in rows]


# --- adduser / passwd ---------------------------------------------------------------------


def test_adduser_asks_twice_and_the_password_works(db_url: str, store: Store) -> None:
    result = admin(db_url, "adduser", "alice", input="correct horse\ncorrect horse\n")

    assert result.exit_code == 0, result.output
    assert "Added user alice." in result.stdout
    assert "correct horse" not in result.output
    credentials = store.users.credentials("alice")
    assert credentials is not None
    assert verify_password(credentials.password_hash, "correct horse")


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("correct horse\ncorrect house\n", "the two passwords differ"),
        ("short\n", "the password is shorter than 8 characters"),
        ("\n", "the password is empty"),
    ],
)
def test_adduser_refuses_bad_passwords(db_url: str, store: Store, typed: str, message: str) -> None:
    """Each refusal asks again (issue 17); the third gives up, and says so once."""
    result = admin(db_url, "adduser", "alice", input=typed * 3)

    assert result.exit_code == 1, result.output
    assert result.stderr == f"{message}; try again\n" * 2 + f"Error: {message} (3 tries); " \
        "nothing changed\n"  # fmt: skip
    assert not store.users.user_exists("alice")


def test_adduser_password_stdin_for_scripts(db_url: str, store: Store) -> None:
    result = admin(db_url, "adduser", "bob", "--password-stdin", input="s3cret pass\r\n")

    assert result.exit_code == 0, result.output
    credentials = store.users.credentials("bob")
    assert credentials is not None
    assert verify_password(credentials.password_hash, "s3cret pass")


def test_adduser_password_stdin_takes_one_line_only(db_url: str, store: Store) -> None:
    result = admin(db_url, "adduser", "bob", "--password-stdin", input="line one\nline two\n")

    assert result.exit_code == 1, result.output
    assert "single line" in result.stderr
    assert not store.users.user_exists("bob")


def test_adduser_refuses_a_taken_name_before_asking(db_url: str, store: Store) -> None:
    seed(store, "alice")

    result = admin(db_url, "adduser", "alice")

    assert result.exit_code == 1, result.output
    assert result.stderr == "Error: there is already a user alice\n"
    assert "Password" not in result.output


def test_adduser_refuses_a_bad_name_as_a_usage_error(db_url: str) -> None:
    result = admin(db_url, "adduser", "no spaces")

    assert result.exit_code == 2, result.output
    assert "is not a valid username" in result.stderr


def test_adduser_creates_the_schema_in_a_new_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"

    result = admin(url, "adduser", "alice", "--password-stdin", input="long enough\n")

    assert result.exit_code == 0, result.output
    assert f"created the Parley schema in {url}" in result.stderr
    assert plain_rows(admin(url, "users"))[0][0] == "alice"


def test_passwd_sets_a_new_password_and_lifts_the_lock(db_url: str, store: Store) -> None:
    seed(store, "carol")
    for _ in range(3):
        store.users.record_failed_login("carol", utc_now(), POLICY)

    result = admin(db_url, "passwd", "carol", input="brand new pw\nbrand new pw\n")

    assert result.exit_code == 0, result.output
    credentials = store.users.credentials("carol")
    assert credentials is not None
    assert verify_password(credentials.password_hash, "brand new pw")
    assert credentials.attempts.locked_until is None


def test_passwd_for_a_missing_user_fails_before_asking(db_url: str) -> None:
    result = admin(db_url, "passwd", "nobody")

    assert result.exit_code == 1, result.output
    assert result.stderr == "Error: there is no user nobody\n"


# --- deluser ------------------------------------------------------------------------------


def test_deluser_asks_and_keeps_the_user_on_no(db_url: str, store: Store) -> None:
    seed(store, "alice", "bob")
    store.messages.save_message("bob", "alice", "hello", None, utc_now(), max_chars=100)

    result = admin(db_url, "deluser", "alice", input="n\n")

    assert result.exit_code == 1, result.output
    assert "Delete user alice, 1 message waiting for them (never delivered then), 0 blocks" in (
        result.stdout
    )
    assert "alice was not deleted" in result.stderr
    assert store.users.user_exists("alice")


def test_deluser_yes_deletes_and_says_what_went(db_url: str, store: Store) -> None:
    seed(store, "alice", "bob")
    store.messages.save_message("bob", "alice", "hello", None, utc_now(), max_chars=100)
    store.messages.save_message("alice", "bob", "bye", None, utc_now(), max_chars=100)
    store.blocks.block("bob", "alice", utc_now())

    result = admin(db_url, "deluser", "alice", "--yes")

    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "Deleted user alice with 1 block and 0 login records; 1 message waiting for them "
        "will not be delivered (kept in the senders' records).\n"
    )
    assert not store.users.user_exists("alice")
    assert [m.text for m in store.messages.pending_messages("bob")] == ["bye"]


def test_deluser_confirmed_interactively(db_url: str, store: Store) -> None:
    seed(store, "alice")
    result = admin(db_url, "deluser", "alice", input="y\n")
    assert result.exit_code == 0, result.output
    assert not store.users.user_exists("alice")


def test_deluser_of_a_missing_user(db_url: str) -> None:
    result = admin(db_url, "deluser", "ghost", "-y")
    assert result.exit_code == 1, result.output
    assert result.stderr == "Error: there is no user ghost\n"


# --- users / unlock -----------------------------------------------------------------------


def test_users_lists_lock_last_login_and_pending(db_url: str, store: Store) -> None:
    seed(store, "alice", "bob")
    now = utc_now()
    store.periods.start_period("alice", "127.0.0.1:4000", now)
    store.messages.save_message("alice", "bob", "hi", None, now, max_chars=100)
    for _ in range(3):
        store.users.record_failed_login("bob", now, POLICY)

    result = admin(db_url, "users")

    assert result.exit_code == 0, result.output
    alice, bob = plain_rows(result)
    assert alice[0] == "alice" and alice[2] == render.local_time(now)
    assert alice[3:] == ["0", "-", "0"]
    assert bob[0] == "bob" and bob[2] == "-"
    assert bob[3:] == ["3", render.local_time(now + POLICY.block_duration), "1"]


def test_users_json(db_url: str, store: Store) -> None:
    seed(store, "alice")

    result = admin(db_url, "users", "--json")

    assert result.exit_code == 0, result.output
    (alice,) = json.loads(result.stdout)
    assert alice["name"] == "alice" and alice["created_at"].endswith("Z")
    assert (alice["locked_until"], alice["pending_messages"]) == (None, 0)


def test_unlock_lifts_a_lock_seen_in_users(db_url: str, store: Store) -> None:
    seed(store, "bob")
    for _ in range(3):
        store.users.record_failed_login("bob", utc_now(), POLICY)

    result = admin(db_url, "unlock", "bob")

    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Unlocked bob (was locked until ")
    assert plain_rows(admin(db_url, "users"))[0][3:5] == ["0", "-"]
    again = admin(db_url, "unlock", "bob")
    assert again.stdout == "bob was not locked and had no failed attempts.\n"


@pytest.mark.parametrize(
    ("failures", "counted"), [(1, "1 failed attempt"), (2, "2 failed attempts")]
)
def test_unlock_resets_failures_short_of_a_lock(
    db_url: str, store: Store, failures: int, counted: str
) -> None:
    seed(store, "bob")
    for _ in range(failures):
        store.users.record_failed_login("bob", utc_now(), POLICY)

    result = admin(db_url, "unlock", "bob")

    assert result.stdout == f"bob was not locked and had {counted}; reset to 0.\n"
    assert plain_rows(admin(db_url, "users"))[0][3] == "0"


def test_unlock_a_missing_user(db_url: str) -> None:
    result = admin(db_url, "unlock", "ghost")
    assert result.exit_code == 1, result.output
    assert result.stderr == "Error: there is no user ghost\n"


# --- history / blocks ---------------------------------------------------------------------


def test_history_since_and_user(db_url: str, store: Store) -> None:
    seed(store, "alice", "bob")
    now = utc_now()
    old, _ = store.periods.start_period("alice", "10.0.0.1:1", now - timedelta(days=2))
    store.periods.end_period(old, now - timedelta(days=2) + timedelta(minutes=3), "logout")
    store.periods.start_period("bob", "10.0.0.2:2", now - timedelta(minutes=5))

    recent = admin(db_url, "history", "--since", "1h")
    everything = admin(db_url, "history")
    alices = admin(db_url, "history", "--user", "alice", "--json")

    assert recent.exit_code == 0, recent.output
    (row,) = plain_rows(recent)
    assert row[0] == "bob" and row[2] == "online" and row[4] == "10.0.0.2:2"
    assert [r[0] for r in plain_rows(everything)] == ["alice", "bob"]
    (entry,) = json.loads(alices.stdout)
    assert (entry["user"], entry["duration_s"], entry["online"]) == ("alice", 180, False)


def test_history_since_an_iso_date(db_url: str, store: Store) -> None:
    seed(store, "alice")
    store.periods.start_period("alice", "10.0.0.1:1", utc_now())

    result = admin(db_url, "history", "--since", "2000-01-01")

    assert result.exit_code == 0, result.output
    assert len(plain_rows(result)) == 1


def test_history_bad_since_is_a_usage_error(db_url: str) -> None:
    result = admin(db_url, "history", "--since", "yesterday")

    assert result.exit_code == 2, result.output
    assert "neither a duration" in result.stderr


def test_history_of_a_missing_user(db_url: str) -> None:
    result = admin(db_url, "history", "--user", "ghost")
    assert result.exit_code == 1, result.output
    assert result.stderr == "Error: there is no user ghost\n"


def test_blocks_all_and_for_one_user(db_url: str, store: Store) -> None:
    seed(store, "alice", "bob", "carol")
    store.blocks.block("alice", "bob", utc_now())
    store.blocks.block("carol", "bob", utc_now())

    everything = admin(db_url, "blocks")
    carols = admin(db_url, "blocks", "carol", "--json")

    assert everything.exit_code == 0, everything.output
    assert [r[:2] for r in plain_rows(everything)] == [["alice", "bob"], ["carol", "bob"]]
    assert [(b["blocker"], b["blocked"]) for b in json.loads(carols.stdout)] == [("carol", "bob")]


# --- import-credentials -------------------------------------------------------------------


def test_import_credentials_reports_by_line_and_never_prints_passwords(
    tmp_path: Path, db_url: str, store: Store
) -> None:
    seed(store, "bob")
    file = tmp_path / "credentials.txt"
    file.write_text("alice falcon*solo\nbob yoda*wise\nhans solo\nbad/name luke*skywalker\n")

    result = admin(db_url, "import-credentials", str(file))

    assert result.exit_code == 1, result.output
    assert result.stdout == (
        "line 1: added alice\n"
        "line 2: skipped bob (the user exists)\n"
        "line 3: rejected hans: the password is shorter than 8 characters\n"
        "line 4: rejected: not a valid username (1 to 32 letters, digits, '_', '.' or '-')\n"
        "added 1, skipped 1, rejected 2\n"
    )
    assert result.stderr == "Error: 2 lines rejected; the others were added or skipped\n"
    for secret in ("falcon", "yoda", "solo\n", "luke"):
        assert secret not in result.output
    credentials = store.users.credentials("alice")
    assert credentials is not None
    assert verify_password(credentials.password_hash, "falcon*solo")


def test_import_credentials_clean_file_exits_zero_and_reruns_skip(
    tmp_path: Path, db_url: str
) -> None:
    file = tmp_path / "credentials.txt"
    file.write_text("\ufeff# exported\nalice falcon*solo\n")  # a BOM, as some editors write

    first = admin(db_url, "import-credentials", str(file))
    second = admin(db_url, "import-credentials", str(file))

    assert first.exit_code == 0, first.output
    assert first.stdout.splitlines()[-1] == "added 1, skipped 0, rejected 0"
    assert second.exit_code == 0, second.output
    assert second.stdout.splitlines()[-1] == "added 0, skipped 1, rejected 0"


def test_import_credentials_with_every_line_rejected(tmp_path: Path, db_url: str) -> None:
    file = tmp_path / "credentials.txt"
    file.write_text("hans solo\n")

    result = admin(db_url, "import-credentials", str(file))

    assert result.exit_code == 1, result.output
    assert result.stdout.splitlines()[-1] == "added 0, skipped 0, rejected 1"
    assert result.stderr == "Error: 1 line rejected; nothing was added\n"


def test_import_credentials_not_utf8(tmp_path: Path, db_url: str) -> None:
    file = tmp_path / "credentials.txt"
    file.write_bytes(b"alice \xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8\n")
    result = admin(db_url, "import-credentials", str(file))
    assert result.exit_code == 1, result.output
    assert result.stderr == (
        f"Error: cannot read {file}: it is not UTF-8 text (byte 0xff at offset 6)\n"
    )


# --- the database -------------------------------------------------------------------------


def test_commands_refuse_a_missing_database_without_creating_it(tmp_path: Path) -> None:
    path = tmp_path / "typo.db"

    result = admin(f"sqlite:///{path}", "users")

    assert result.exit_code == 1, result.output
    assert result.stderr.startswith(f"Error: there is no database at sqlite:///{path}; run ")
    assert not path.exists()


def test_commands_refuse_a_database_without_schema(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    sqlite3.connect(path).close()
    url = f"sqlite:///{path}"

    result = admin(url, "history")

    assert result.exit_code == 1, result.output
    assert result.stderr == (
        f"Error: the database at {url} has no Parley schema; "
        "run chat-admin db upgrade (or start chat-server once)\n"
    )


def test_db_upgrade_then_current(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"

    before = admin(url, "db", "current")
    upgrade = admin(url, "db", "upgrade")
    again = admin(url, "db", "upgrade")
    after = admin(url, "db", "current")

    assert before.exit_code == 1, before.output
    assert upgrade.exit_code == 0, upgrade.output
    assert upgrade.stdout.startswith(f"Upgraded {url} from no schema to schema revision ")
    assert again.stdout.startswith(f"{url} is up to date")
    assert after.exit_code == 0, after.output
    assert after.stdout.endswith(" (up to date)\n")


def test_an_outdated_schema_asks_for_db_upgrade(db_url: str) -> None:
    path = db_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '0000'")
    connection.close()

    result = admin(db_url, "users")

    assert result.exit_code == 1, result.output
    assert "is at schema revision 0000 but this chat-admin needs" in result.stderr


# The downgrade reflects `users` on SQLite, which cannot reflect 0003's lower(name) index.
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
def test_db_upgrade_names_the_revision_it_started_from(db_url: str) -> None:
    before = current_revision(db_url)
    command.downgrade(alembic_config(db_url), "-1")
    older = current_revision(db_url)

    result = admin(db_url, "db", "upgrade")

    assert result.exit_code == 0, result.output
    assert result.stdout == (
        f"Upgraded {db_url} from schema revision {older} to schema revision {before}.\n"
    )


def test_parley_db_environment_variable(db_url: str, store: Store) -> None:
    seed(store, "alice")
    result = runner.invoke(app, ["users"], env={"PARLEY_DB": db_url})
    assert result.exit_code == 0, result.output
    assert plain_rows(result)[0][0] == "alice"


def test_db_before_the_command(db_url: str, store: Store) -> None:
    seed(store, "alice")

    listed = runner.invoke(app, ["--db", db_url, "users"])
    current = runner.invoke(app, ["--db", db_url, "db", "current"])

    assert listed.exit_code == 0, listed.output
    assert plain_rows(listed)[0][0] == "alice"
    assert current.exit_code == 0, current.output


def test_the_nearest_db_wins(tmp_path: Path, db_url: str, store: Store) -> None:
    seed(store, "alice")
    elsewhere = f"sqlite:///{tmp_path / 'elsewhere.db'}"  # does not exist: using it fails

    after_wins = runner.invoke(app, ["--db", elsewhere, "users", "--db", db_url])
    before_wins = runner.invoke(app, ["--db", db_url, "users"], env={"PARLEY_DB": "bogus://x"})

    assert after_wins.exit_code == 0, after_wins.output
    assert plain_rows(after_wins)[0][0] == "alice"
    assert before_wins.exit_code == 0, before_wins.output


COMMANDS = [
    ["adduser"], ["passwd"], ["deluser"], ["users"], ["unlock"], ["history"], ["blocks"],
    ["import-credentials"], ["db"], ["db", "upgrade"], ["db", "current"],
]  # fmt: skip


@pytest.mark.parametrize("command", [[], *COMMANDS], ids=lambda c: " ".join(c) or "chat-admin")
def test_help_shows_metavars_not_python_types(command: list[str]) -> None:
    result = runner.invoke(
        app, [*command, "--help"], prog_name="chat-admin", env={"COLUMNS": "200"}
    )

    assert result.exit_code == 0, result.output
    usage = next(line for line in result.stdout.splitlines() if "Usage:" in line)
    assert usage.split("Usage: ")[1].startswith(" ".join(["chat-admin", *command, "[OPTIONS]"]))
    for noise in ("<bool>", "<str>", "<file>", "<path>", "{", "}"):
        assert noise not in result.stdout, noise


@pytest.mark.parametrize(
    ("name", "usage"),
    [
        ("adduser", "chat-admin adduser [OPTIONS] NAME"),
        ("blocks", "chat-admin blocks [OPTIONS] [NAME]"),
        ("import-credentials", "chat-admin import-credentials [OPTIONS] FILE"),
    ],
)
def test_help_usage_lines_show_arguments_plainly(name: str, usage: str) -> None:
    result = runner.invoke(app, [name, "--help"], prog_name="chat-admin")
    assert f"Usage: {usage}" in [line.strip() for line in result.stdout.splitlines()]


def test_history_help_says_what_the_end_reasons_mean() -> None:
    result = runner.invoke(app, ["history", "--help"], prog_name="chat-admin",
                           env={"COLUMNS": "200"})  # fmt: skip
    text = " ".join(result.stdout.split())
    assert "why it ended" in text
    for reason in ("logout", "timeout (idle)", "disconnected", "shutdown", "protocol_error",
                   "slow_consumer", "server_restart"):  # fmt: skip
        assert reason in text, reason


def test_main_is_the_console_script(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.argv", ["chat-admin", "--help"])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 0
