"""Usernames are unique ignoring case (chat/1 precise point 14), in the store, for the operator,
and in the database itself (schema revision 0003), whose upgrade refuses clashing data.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError
from typer.testing import CliRunner

from cli.admin import app
from service.admin import accounts
from service.admin.accounts import AccountError, Outcome
from service.store import Store
from service.store import users as users_module
from service.store.db import (
    MigrationRefused,
    alembic_config,
    current_revision,
    head_revision,
    migrate_to_head,
)
from service.store.outcomes import Refusal
from service.wire.names import case_clashes

T0 = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
PASSWORD = "a long enough password"


def cheap_hash(password: str) -> str:
    return "not-a-real-hash"


def test_case_clashes_groups_names_equal_ignoring_case() -> None:
    assert case_clashes(["alice", "bob", "Alice", "ALICE", "carol", "Bob"]) == [
        ["ALICE", "Alice", "alice"],
        ["Bob", "bob"],
    ]
    assert case_clashes(["alice", "bob"]) == []


def test_the_store_refuses_a_name_equal_ignoring_case(store: Store) -> None:
    assert store.users.create_user("alice", "x", T0) is None

    assert store.users.create_user("Alice", "x", T0) is Refusal.NAME_TAKEN
    assert store.users.create_user("ALICE", "x", T0) is Refusal.NAME_TAKEN
    assert store.users.name_taken_by("aLiCe") == "alice"
    assert store.users.name_taken_by("alicia") is None
    assert store.users.credentials("Alice") is None  # login stays case-sensitive
    assert store.users.credentials("alice") is not None


def test_the_database_itself_refuses_a_name_equal_ignoring_case(db_url: str) -> None:
    """A script writing the table directly meets the unique index on lower(name)."""
    engine = create_engine(db_url)
    insert = text(
        "INSERT INTO users (name, password_hash, created_at, failed_attempts) "
        "VALUES (:name, 'x', '2026-11-24 12:00:00', 0)"
    )
    try:
        with engine.begin() as db:
            db.execute(insert, {"name": "alice"})
        with pytest.raises(IntegrityError), engine.begin() as db:
            db.execute(insert, {"name": "Alice"})
    finally:
        engine.dispose()


def test_a_race_past_the_check_is_still_refused_by_the_index(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two writers (the server's `register`, chat-admin) may both pass the look-up; the
    unique index decides, and the loser gets a refusal, not an error."""
    store.users.create_user("alice", "x", T0)
    monkeypatch.setattr(users_module, "_holder_of", lambda s, name: None)

    assert store.users.create_user("Alice", "x", T0) is Refusal.NAME_TAKEN
    assert store.users.create_user("bob", "x", T0) is None  # the store goes on working


def test_adduser_refuses_and_names_the_existing_account(store: Store) -> None:
    accounts.add_user(store, "alice", PASSWORD, T0)

    with pytest.raises(AccountError) as refused:
        accounts.add_user(store, "Alice", PASSWORD, T0)

    assert str(refused.value) == (
        "there is already a user alice, and names must differ by more than case "
        "(so that Alice cannot pose as alice)"
    )
    assert accounts.new_name_problem(store, "ALICE") is not None
    assert accounts.new_name_problem(store, "alicia") is None


def test_import_rejects_names_equal_to_another_ignoring_case(store: Store) -> None:
    accounts.add_user(store, "alice", PASSWORD, T0)
    lines = accounts.parse_credentials("alice pw123456789\nAlice pw123456789\nbob pw123456789\n"
                                       "BOB pw123456789\n")  # fmt: skip

    results = accounts.import_credentials(store, lines, T0, hasher=cheap_hash)

    assert [(r.name, r.outcome) for r in results] == [
        ("alice", Outcome.SKIPPED),  # the same name: a re-run
        ("Alice", Outcome.REJECTED),  # another person's name
        ("bob", Outcome.ADDED),
        ("BOB", Outcome.REJECTED),  # clashes with a line of the same file
    ]
    assert results[1].reason is not None and "already a user alice" in results[1].reason
    assert results[3].reason is not None and "already a user bob" in results[3].reason


def test_chat_admin_adduser_says_which_account_has_the_name(db_url: str, store: Store) -> None:
    store.users.create_user("alice", "x", T0)

    result = CliRunner().invoke(
        app, ["adduser", "Alice", "--password-stdin", "--db", db_url], input=PASSWORD + "\n"
    )

    assert result.exit_code == 1, result.output
    assert "there is already a user alice" in result.stderr
    assert store.users.name_taken_by("Alice") == "alice"  # nothing was added


def test_chat_admin_adduser_refuses_before_asking_for_a_password(db_url: str, store: Store) -> None:
    store.users.create_user("alice", "x", T0)

    result = CliRunner().invoke(app, ["adduser", "Alice", "--db", db_url], input="")

    assert result.exit_code == 1, result.output
    assert "Password" not in result.output  # refused at once, not after two prompts
    assert "there is already a user alice" in result.stderr


# --- the upgrade to 0003 on a database that holds clashing names ----------------------------


def database_at_0002(tmp_path: Path, *names: str) -> str:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    command.upgrade(alembic_config(url), "0002")
    engine = create_engine(url)
    try:
        with engine.begin() as db:
            for name in names:
                db.execute(
                    text(
                        "INSERT INTO users (name, password_hash, created_at, failed_attempts) "
                        "VALUES (:name, 'x', '2026-11-24 12:00:00', 0)"
                    ),
                    {"name": name},
                )
    finally:
        engine.dispose()
    return url


def user_names(url: str) -> list[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as db:
            return list(db.execute(text("SELECT name FROM users ORDER BY name")).scalars())
    finally:
        engine.dispose()


def test_the_upgrade_refuses_names_equal_ignoring_case_and_changes_nothing(
    tmp_path: Path,
) -> None:
    url = database_at_0002(tmp_path, "alice", "Alice", "bob", "carol", "CAROL")

    with pytest.raises(MigrationRefused) as refused:
        migrate_to_head(url)

    message = str(refused.value)
    assert "Alice and alice; CAROL and carol" in message, message
    assert "Nothing was changed" in message and "\n" not in message
    assert current_revision(url) == "0002"
    assert user_names(url) == ["Alice", "CAROL", "alice", "bob", "carol"]


def test_the_upgrade_goes_through_once_the_operator_renamed_one(tmp_path: Path) -> None:
    url = database_at_0002(tmp_path, "alice", "Alice")
    with pytest.raises(MigrationRefused):
        migrate_to_head(url)
    engine = create_engine(url)
    try:
        with engine.begin() as db:  # what the refusal suggests
            db.execute(text("UPDATE users SET name = 'Alice2' WHERE name = 'Alice'"))
    finally:
        engine.dispose()

    migrate_to_head(url)

    assert current_revision(url) == head_revision(url)
    assert user_names(url) == ["Alice2", "alice"]
