"""`chat-admin history --failed` (issue 17): the failed logins the server logs, also kept in
the database for the operator, without ever keeping a name that has no account in full (it
may be a password typed in the wrong field).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import MetaData, create_engine, select
from sqlalchemy.pool import NullPool
from typer.testing import CliRunner, Result

from cli.admin import app
from service.credentials.masking import masked_name
from tests.support.client import TestClient
from tests.support.server import RunningServer

runner = CliRunner()
SECRET = "hunter2-is-my-password"  # typed as a user name


def everything_stored(db_url: str) -> str:
    """Every row of every table, as text: SQLite and PostgreSQL alike."""
    engine = create_engine(db_url, poolclass=NullPool)
    try:
        tables = MetaData()
        tables.reflect(engine)
        with engine.connect() as db:
            return "\n".join(
                repr(row) for t in tables.sorted_tables for row in db.execute(select(t))
            )
    finally:
        engine.dispose()


def failed(db_url: str, *args: str) -> Result:
    return runner.invoke(app, ["history", "--failed", *args, "--db", db_url])


def wait_for_rows(db_url: str, count: int) -> list[dict[str, object]]:
    """The records are written after the refusal, off its path: wait for them."""
    deadline = time.monotonic() + 5
    while True:
        result = failed(db_url, "--json")
        assert result.exit_code == 0, result.output
        rows: list[dict[str, object]] = json.loads(result.stdout)
        if len(rows) >= count or time.monotonic() > deadline:
            return rows
        time.sleep(0.02)  # polling the database with a deadline, not synchronising on time


@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection")  # an index, not a table
def test_failed_logins_are_listed_and_unknown_names_are_masked(
    server: RunningServer, connect: Callable[[], TestClient], tmp_path: Path
) -> None:
    client = connect()
    wrong = client.request("login", user="alice", password="not her password")
    unknown = client.request("login", user=SECRET, password="correct horse")
    assert wrong["error"] == unknown["error"] == "bad_credentials"

    rows = wait_for_rows(server.db_url, 2)

    assert [(r["name"], r["known"]) for r in rows] == [
        ("alice", True),
        (masked_name(SECRET), False),
    ]
    assert re.fullmatch(r"hu\.\.\.#[0-9a-f]{8}", str(rows[1]["name"])), rows[1]  # as logged
    assert rows[0]["reason"] == "bad_credentials, 2 attempts left"
    assert str(rows[1]["reason"]).endswith("(no such account)")
    assert all(str(r["address"]).startswith("127.0.0.1:") for r in rows)
    assert all(str(r["at"]).endswith("Z") for r in rows)
    assert SECRET not in everything_stored(server.db_url)

    table = failed(server.db_url)
    assert table.exit_code == 0, table.output
    header, *lines = table.stdout.splitlines()
    assert header.split("\t") == ["when", "name", "address", "reason"]
    assert [line.split("\t")[1] for line in lines] == ["alice", masked_name(SECRET)]
    only_alice = failed(server.db_url, "--user", "ALICE", "--json")
    assert [r["name"] for r in json.loads(only_alice.stdout)] == ["alice"]


def test_a_name_of_60000_characters_is_recorded_in_a_form_that_fits_the_column(
    server: RunningServer, connect: Callable[[], TestClient]
) -> None:
    """`failed_logins.name` holds 32 characters (PostgreSQL refuses more, SQLite does not
    check): the description of a text that is no username fits it, so the row is written."""
    client = connect()
    reply = client.request("login", user="n" * 60_000, password="whatever it is")
    assert reply["error"] == "bad_credentials"

    rows = wait_for_rows(server.db_url, 1)

    assert [(r["name"], r["known"]) for r in rows] == [("<not a username: 60000 chars>", False)]
