"""chat-admin's error contract (docs/OPERATING.md, "Managing accounts"): every error is one
`Error: ...` line on stderr, never a traceback or a box; exit 2 for a usage error (a bad URL,
name, value or file, a missing argument), exit 1 for a refusal or a database that cannot be
opened.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from cli.admin import app
from service.admin.accounts import username_problem

runner = CliRunner()
USABLE = "use sqlite:///FILE or postgresql+psycopg://USER@HOST/DATABASE"


def run(*args: str, env: dict[str, str] | None = None, input: str | None = None) -> Result:
    return runner.invoke(app, list(args), env=env, input=input, prog_name="chat-admin")


def assert_error(result: Result, exit_code: int, message: str) -> None:
    assert result.exit_code == exit_code, result.output
    assert result.stderr == f"Error: {message}\n"


# --- usage errors: exit 2 -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("bogus://x", f"unknown database URL scheme 'bogus'; {USABLE}"),
        ("postgresql+bogus://u@h/x", f"unknown database URL scheme 'postgresql+bogus'; {USABLE}"),
        ("mysql://u@h/x", f"Parley runs on SQLite and PostgreSQL, not mysql; {USABLE}"),
        ("postgresql+psycopg2://u@h/x", f"the driver 'psycopg2' is not installed; {USABLE}"),
        (
            "sqlite://",
            "sqlite:// is a SQLite database in memory, which keeps nothing; use sqlite:///FILE",
        ),
        (
            "parley.db",
            "'parley.db' is not a database URL; for a SQLite file write sqlite:///parley.db "
            "(relative to the current directory) or sqlite:////absolute/path.db",
        ),
        (
            "/srv/parley.db",
            "'/srv/parley.db' is not a database URL; for that SQLite file write "
            "sqlite:////srv/parley.db",
        ),
    ],
)
@pytest.mark.parametrize("where", ["before", "after"])
def test_an_unusable_database_url_is_a_usage_error(url: str, message: str, where: str) -> None:
    args = ["--db", url, "users"] if where == "before" else ["users", "--db", url]
    assert_error(run(*args), 2, message)


def test_an_unusable_parley_db_is_named_as_such() -> None:
    result = run("users", env={"PARLEY_DB": "bogus://x"})
    assert_error(result, 2, f"PARLEY_DB: unknown database URL scheme 'bogus'; {USABLE}")


BAD_NAME = "no spaces!"


@pytest.mark.parametrize(
    "args",
    [
        ["adduser", BAD_NAME],
        ["passwd", BAD_NAME],
        ["kick", BAD_NAME],
        ["deluser", BAD_NAME, "--yes"],
        ["unlock", BAD_NAME],
        ["blocks", BAD_NAME],
        ["history", "--user", BAD_NAME],
    ],
    ids=lambda args: args[0],
)
def test_a_malformed_name_is_a_usage_error_for_every_command(db_url: str, args: list[str]) -> None:
    assert_error(run(*args, "--db", db_url), 2, f"{username_problem(BAD_NAME)}")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["adduser"], "missing argument 'NAME' (see chat-admin adduser --help)"),
        (["users", "--bogus"], "no such option: --bogus (see chat-admin users --help)"),
        (
            ["userz"],
            "no such command 'userz'. Did you mean 'users', 'deluser', 'adduser'? "
            "(see chat-admin --help)",
        ),
        (
            ["history", "--since", "yesterday"],
            "'yesterday' is neither a duration (a whole number and s, m, h, d or w: 90s, 15m, "
            "2h, 7d, 1w) nor an ISO date/time (2026-11-24 or 2026-11-24T09:30)",
        ),
    ],
)
def test_other_usage_errors_are_one_line(db_url: str, args: list[str], message: str) -> None:
    assert_error(run(*args, "--db", db_url), 2, message)


def test_import_credentials_needs_a_file(tmp_path: Path, db_url: str) -> None:
    missing = tmp_path / "nope.txt"
    assert_error(
        run("import-credentials", str(missing), "--db", db_url), 2, f"there is no file {missing}"
    )
    assert_error(
        run("import-credentials", str(tmp_path), "--db", db_url),
        2,
        f"{tmp_path} is a directory, not a credentials file",
    )


# --- refusals and unusable databases: exit 1 ----------------------------------------------


def test_a_database_in_a_missing_directory(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'typo' / 'parley.db'}"
    message = f"cannot open the database at {url}: there is no directory {tmp_path / 'typo'}"

    assert_error(run("users", "--db", url), 1, message)
    assert_error(run("db", "upgrade", "--db", url), 1, message)
    added = run("adduser", "alice", "--password-stdin", "--db", url, input="long enough\n")
    assert_error(added, 1, message)
    assert not (tmp_path / "typo").exists()


def test_a_directory_is_no_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}"
    assert_error(
        run("users", "--db", url), 1, f"cannot open the database at {url}: it is a directory"
    )


def test_a_file_that_is_no_database(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_text("this is not a database, it is a text file of some length " * 40)
    url = f"sqlite:///{junk}"

    result = run("users", "--db", url)

    assert_error(result, 1, f"cannot open the database at {url}: file is not a database")


def test_a_postgresql_server_that_does_not_answer() -> None:
    with socket.socket() as probe:  # a port nobody listens on once the probe is closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"postgresql+psycopg://parley@127.0.0.1:{port}/parley"

    result = run("users", "--db", url)

    assert result.exit_code == 1, result.output
    assert result.stderr.startswith(f"Error: cannot open the database at {url}: connection ")
    assert result.stderr.count("\n") == 1 and "refused" in result.stderr


def test_end_of_input_at_a_prompt_changes_nothing(db_url: str) -> None:
    result = run("adduser", "alice", "--db", db_url, input="")

    assert result.exit_code == 1, result.output
    assert result.stderr.strip() == "Error: aborted; nothing changed"
    assert "Added" not in result.stdout
