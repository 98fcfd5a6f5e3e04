"""Usernames unique ignoring case against a real server (chat/1 precise point 14), on SQLite
and PostgreSQL alike: `register` refuses `Alice` beside `alice`, a login as `Alice` is one as
`alice` (issue 17 item 5), and chat-server will not upgrade a database that holds two such
names.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from alembic import command
from sqlalchemy import create_engine, text

from service.config import ServerConfig
from service.main import main
from service.store.db import alembic_config, current_revision
from tests.conftest import PASSWORD
from tests.support.client import TestClient

NEW_PASSWORD = "a fine long password"


@pytest.fixture
def server_config(db_url: str) -> ServerConfig:
    return ServerConfig(port=0, db_url=db_url, block_duration_s=60, timeout_s=300,
                        allow_signup=True)  # fmt: skip


def test_register_refuses_a_name_equal_to_another_ignoring_case(
    connect: Callable[[], TestClient],
) -> None:
    client = connect()

    for name in ("Alice", "ALICE", "aLiCe"):
        reply = client.request("register", user=name, password=NEW_PASSWORD)
        assert (reply["ok"], reply["error"]) == (False, "user_exists"), reply
        assert "alice exists" in reply["text"], reply

    as_typed = client.request("login", user="Alice", password=PASSWORD)  # issue 17 item 5
    assert (as_typed["ok"], as_typed["user"]) == (True, "alice"), as_typed  # the exact name
    other = connect().request("register", user="Alicia", password=NEW_PASSWORD)
    assert other["ok"] is True, other  # other letters are still fine


def test_a_login_in_another_case_is_the_accounts_and_its_failures_count_there(
    make_user: Callable[[str], None], connect: Callable[[], TestClient]
) -> None:
    """`--user Erin` for the account `erin`: it logs in, and the reply names the account as
    it is; its wrong passwords count toward that account's lockout, whatever the case."""
    make_user("erin")
    client = connect()
    first = client.request("login", user="Erin", password="wrong")
    assert (first["error"], first["attempts_left"]) == ("bad_credentials", 2), first
    assert client.request("login", user="ERIN", password="wrong")["attempts_left"] == 1
    assert client.request("login", user="erin", password="wrong")["error"] == "locked"
    assert client.request("login", user="eRiN", password=PASSWORD)["error"] == "locked"
    make_user("frank")
    reply = connect().request("login", user="FRANK", password=PASSWORD)
    assert (reply["ok"], reply["user"]) == (True, "frank"), reply
    ghost = connect().request("login", user="Ghost", password=PASSWORD)  # no such account
    assert (ghost["error"], ghost["attempts_left"]) == ("bad_credentials", 2), ghost


def test_chat_server_will_not_upgrade_a_database_with_names_equal_ignoring_case(
    db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Made before revision 0003, a database may hold `Alice` and `alice`: the server says
    which, exits 1, and leaves the data as it was for the operator to decide."""
    command.upgrade(alembic_config(db_url), "0002")
    engine = create_engine(db_url)
    try:
        with engine.begin() as db:
            for name in ("alice", "Alice", "bob"):
                db.execute(
                    text(
                        "INSERT INTO users (name, password_hash, created_at, failed_attempts) "
                        "VALUES (:name, 'x', '2026-11-24 12:00:00', 0)"
                    ),
                    {"name": name},
                )
    finally:
        engine.dispose()

    assert main(["--port", "0", "--db", db_url]) == 1

    [refusal] = capsys.readouterr().err.splitlines()  # one line, no traceback
    assert refusal.startswith("Error: cannot upgrade the database")
    assert "Alice and alice" in refusal
    assert current_revision(db_url) == "0002"
