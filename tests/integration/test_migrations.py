"""The schema comes only from Alembic, and the models agree with it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory

from service.store.db import alembic_config, current_revision, head_revision, migrate_to_head

# SQLite cannot reflect the expression index on lower(name) (revision 0003), so autogenerate
# and batch mode skip it with a warning; it exists all the same (test_unique_names.py proves
# it refuses `Alice` beside `alice`), and on PostgreSQL `alembic check` compares it too.
NO_EXPRESSION_INDEX_REFLECTION = pytest.mark.filterwarnings(
    "ignore:Skipped unsupported reflection of expression-based index"
)
NO_EXPRESSION_INDEX_COMPARISON = pytest.mark.filterwarnings(
    "ignore:autogenerate skipping metadata-specified expression-based index"
)


def test_there_is_a_single_head(tmp_path: Path) -> None:
    script = ScriptDirectory.from_config(alembic_config(f"sqlite:///{tmp_path / 'x.db'}"))
    assert len(script.get_heads()) == 1


@NO_EXPRESSION_INDEX_REFLECTION
@NO_EXPRESSION_INDEX_COMPARISON
def test_base_to_head_on_an_empty_database_then_no_drift(empty_db_url: str) -> None:
    """On SQLite, and on PostgreSQL where PARLEY_TEST_POSTGRES names a server."""
    url = empty_db_url
    migrate_to_head(url)
    assert current_revision(url) == head_revision(url)
    command.check(alembic_config(url))  # raises if the models and migrations disagree


def test_upgrade_is_idempotent_and_the_file_uses_wal(tmp_path: Path) -> None:
    path = tmp_path / "parley.db"
    url = f"sqlite:///{path}"
    migrate_to_head(url)
    migrate_to_head(url)
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


@NO_EXPRESSION_INDEX_REFLECTION
def test_downgrade_to_base_and_back(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'parley.db'}"
    migrate_to_head(url)
    command.downgrade(alembic_config(url), "base")
    assert current_revision(url) is None
    migrate_to_head(url)
    assert current_revision(url) == head_revision(url)


def test_0005_adds_failed_logins_and_the_room_creators_index_keeping_rooms(
    tmp_path: Path,
) -> None:
    """Issue 17: a table for `chat-admin history --failed`, an index for the rooms a user
    created lately; rooms made before it stay as they were, and the downgrade takes both away."""
    path = tmp_path / "parley.db"
    url = f"sqlite:///{path}"
    command.upgrade(alembic_config(url), "0004")
    with sqlite3.connect(path) as raw:
        raw.execute("INSERT INTO rooms (name, created_at, creator, last_seq) "
                    "VALUES ('#old', '2026-12-01 10:00:00', 'alice', 0)")  # fmt: skip

    command.upgrade(alembic_config(url), "0005")

    with sqlite3.connect(path) as raw:
        assert raw.execute("SELECT name, creator FROM rooms").fetchall() == [("#old", "alice")]
        indexes = {row[1] for row in raw.execute("PRAGMA index_list('rooms')")}
        assert "ix_rooms_creator_created_at" in indexes
        raw.execute("INSERT INTO failed_logins (at, name, known, peer, reason) "
                    "VALUES ('2026-12-06 10:00:00', 'alice', 1, '10.0.0.7:5', 'x')")  # fmt: skip
    command.downgrade(alembic_config(url), "0004")
    with sqlite3.connect(path) as raw:
        tables = {row[0] for row in raw.execute("SELECT name FROM sqlite_master")}
        assert "failed_logins" not in tables and "ix_rooms_creator_created_at" not in tables
        assert raw.execute("SELECT name FROM rooms").fetchall() == [("#old",)]


USER = (
    "INSERT INTO users (name, password_hash, created_at, failed_attempts, session_epoch) "
    "VALUES ('{name}', 'h', '2026-12-01 10:00:00', 0, {epoch})"
)


def test_0009_adds_login_tokens_to_a_database_with_accounts(tmp_path: Path) -> None:
    """An 0008 database with an account upgrades; a token of that account goes with it (the
    foreign key cascades), its digest is unique, and the downgrade keeps the account."""
    path = tmp_path / "parley.db"
    url = f"sqlite:///{path}"
    command.upgrade(alembic_config(url), "0008")
    with sqlite3.connect(path) as raw:
        raw.execute(USER.format(name="alice", epoch=3))

    migrate_to_head(url)

    token = (
        "INSERT INTO login_tokens (user_id, token_hash, created_at, expires_at, last_used_at) "
        "VALUES (1, 'digest', '2026-12-08', '2027-01-07', '2026-12-08')"
    )
    with sqlite3.connect(path) as raw:
        raw.execute("PRAGMA foreign_keys=ON")
        assert raw.execute("SELECT name, session_epoch FROM users").fetchall() == [("alice", 3)]
        raw.execute(token)
        with pytest.raises(sqlite3.IntegrityError):
            raw.execute(token)  # the digest is unique: the lookup finds one row
        indexes = {row[1] for row in raw.execute("PRAGMA index_list('login_tokens')")}
        assert {"ix_login_tokens_user_id", "ix_login_tokens_expires_at"} <= indexes
        raw.execute("DELETE FROM users")
        assert raw.execute("SELECT count(*) FROM login_tokens").fetchone() == (0,)
        raw.execute(USER.format(name="bob", epoch=0))
    command.downgrade(alembic_config(url), "0008")
    with sqlite3.connect(path) as raw:
        tables = {row[0] for row in raw.execute("SELECT name FROM sqlite_master")}
        assert "login_tokens" not in tables
        assert raw.execute("SELECT name FROM users").fetchall() == [("bob",)]
