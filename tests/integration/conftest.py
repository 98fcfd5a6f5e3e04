"""Integration fixtures: a migrated SQLite file in tmp_path and a Store over it; `any_db_url`
for a test that must hold on PostgreSQL too."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.store import Store
from tests.support.databases import migrate
from tests.support.postgres import fresh_postgres_database
from tests.support.reused_postgres import ReusedDatabase


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'parley.db'}"
    migrate(url)
    return url


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    store = Store.open(db_url, group_commit=False)
    yield store
    store.close()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres_only)])
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no schema yet, for a migration test: a SQLite file, and a fresh
    PostgreSQL database where PARLEY_TEST_POSTGRES names a server (postgres_only)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'parley.db'}"
        return
    server = os.environ.get("PARLEY_TEST_POSTGRES")
    if not server:
        pytest.skip("PARLEY_TEST_POSTGRES names no PostgreSQL server")
    with fresh_postgres_database(server) as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres_only)])
def any_db_url(request: pytest.FixtureRequest, db_url: str) -> Iterator[str]:
    """A migrated database with no rows: SQLite, and PostgreSQL (the reused database, see
    tests/support/reused_postgres.py) where PARLEY_TEST_POSTGRES names a server
    (postgres_only: scripts/test runs it in its PostgreSQL run)."""
    if request.param == "sqlite":
        yield db_url
        return
    if not os.environ.get("PARLEY_TEST_POSTGRES"):
        pytest.skip("PARLEY_TEST_POSTGRES names no PostgreSQL server")
    reused: ReusedDatabase = request.getfixturevalue("reused_postgres")
    yield reused.lend()
    reused.give_back()
