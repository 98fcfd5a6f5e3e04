"""The tests' own databases (tests/support/databases.py, tests/support/reused_postgres.py) are
what a migration of an empty database makes: the shortcuts that make the suite fast must not
let a test see another schema, or another test's rows."""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from alembic import command
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.pool import NullPool

from service.store import Store
from service.store.db import alembic_config, current_revision, head_revision, migrate_to_head
from service.wire.timeutil import utc_now
from tests.support.databases import migrate
from tests.support.reused_postgres import ReusedDatabase


def _schema(path: Path) -> list[tuple[object, ...]]:
    """Every table (its columns, foreign keys and indexes), index, trigger and view, and the
    Alembic revision. Compared as structure, not as SQL text: batch mode writes a table's
    constraints in an order that varies from one process to the next."""
    raw = sqlite3.connect(path)
    try:
        described: list[tuple[object, ...]] = []
        for kind, name, sql in raw.execute(
            "SELECT type, name, sql FROM sqlite_master ORDER BY type, name"
        ).fetchall():
            if kind == "table":
                columns = raw.execute(f"PRAGMA table_xinfo('{name}')").fetchall()
                keys = sorted(row[1:] for row in raw.execute(f"PRAGMA foreign_key_list('{name}')"))
                indexes = sorted(row[1:] for row in raw.execute(f"PRAGMA index_list('{name}')"))
                described.append((kind, name, columns, keys, indexes))
            elif kind == "index":
                described.append(
                    (kind, name, raw.execute(f"PRAGMA index_xinfo('{name}')").fetchall())
                )
            else:
                described.append((kind, name, sql))
        revision = raw.execute("SELECT version_num FROM alembic_version").fetchall()
        return [*described, ("revision", *revision)]
    finally:
        raw.close()


def test_a_new_sqlite_file_is_the_migrated_schema_private_in_wal_mode(tmp_path: Path) -> None:
    migrated, copied = tmp_path / "migrated.db", tmp_path / "copied.db"
    migrate_to_head(f"sqlite:///{migrated}")
    migrate(f"sqlite:///{copied}")
    migrate(f"sqlite:///{tmp_path / 'second.db'}")  # the template is made once, copied again

    assert _schema(copied) == _schema(migrated)
    assert _schema(tmp_path / "second.db") == _schema(migrated)
    assert stat.S_IMODE(copied.stat().st_mode) == 0o600
    raw = sqlite3.connect(copied)
    try:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        raw.close()


def test_an_existing_sqlite_file_is_migrated_in_place_not_replaced(tmp_path: Path) -> None:
    path = tmp_path / "parley.db"
    url = f"sqlite:///{path}"
    command.upgrade(alembic_config(url), "0005")
    raw = sqlite3.connect(path)
    try:
        with raw:  # commits
            raw.execute("INSERT INTO users (name, password_hash, created_at, failed_attempts) "
                        "VALUES ('alice', 'x', '2026-12-01 10:00:00', 0)")  # fmt: skip
    finally:
        raw.close()

    migrate(url)

    assert current_revision(url) == head_revision(url)
    raw = sqlite3.connect(path)
    try:
        assert raw.execute("SELECT name FROM users").fetchall() == [("alice",)]
    finally:
        raw.close()


@pytest.fixture
def reused() -> Iterator[ReusedDatabase]:
    server_url = os.environ.get("PARLEY_TEST_POSTGRES")
    if not server_url:
        pytest.skip("PARLEY_TEST_POSTGRES names no PostgreSQL server")
    database = ReusedDatabase(server_url)  # a database of this test's own, not the session's
    yield database
    database.close()


def _add_user(url: str, name: str) -> int:
    """The new account's id."""
    store = Store.open(url, group_commit=False)
    try:
        assert store.users.create_user(name, "a hash", utc_now()) is None  # not refused
    finally:
        store.close()
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            found = text("SELECT id FROM users WHERE name = :name")
            return int(connection.execute(found, {"name": name}).scalar_one())
    finally:
        engine.dispose()


def _exists(server_url: str, database: str | None) -> bool:
    engine = create_engine(server_url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            found = text("SELECT 1 FROM pg_database WHERE datname = :name")
            return connection.execute(found, {"name": database}).first() is not None
    finally:
        engine.dispose()


@pytest.mark.postgres_only
def test_the_reused_database_comes_back_empty_with_ids_from_the_start(
    reused: ReusedDatabase,
) -> None:
    url = reused.lend()
    first = _add_user(url, "alice")
    _add_user(url, "bob")
    reused.give_back()

    assert reused.lend() == url
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM users")).scalar_one() == 0
    finally:
        engine.dispose()
    assert _add_user(url, "carol") == first  # as in a new database


@pytest.mark.postgres_only
def test_a_database_still_in_use_or_with_another_schema_is_replaced(
    reused: ReusedDatabase,
) -> None:
    server_url = os.environ["PARLEY_TEST_POSTGRES"]
    used = reused.lend()
    libpq = make_url(used).set(drivername="postgresql").render_as_string(hide_password=False)
    left_open = psycopg.connect(libpq)  # as a server that was never stopped would hold it
    reused.give_back()
    assert not _exists(server_url, make_url(used).database)
    with pytest.raises(psycopg.OperationalError):
        left_open.execute("SELECT 1")
    left_open.close()

    downgraded = reused.lend()
    assert downgraded != used
    command.downgrade(alembic_config(downgraded), "-1")
    reused.give_back()
    assert not _exists(server_url, make_url(downgraded).database)
    assert reused.lend() not in (used, downgraded)
