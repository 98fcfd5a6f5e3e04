"""The throwaway PostgreSQL databases of the tests and the benchmark (tests/support/postgres.py):
dropped afterwards whatever still holds them, and leftovers of killed runs dropped on the way
unless something still uses them. Runs in scripts/test's PostgreSQL run."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import create_engine, make_url
from sqlalchemy.pool import NullPool

from tests.support.postgres import drop_in_use, fresh_postgres_database, throwaway_name

pytestmark = pytest.mark.postgres_only


@pytest.fixture
def server_url() -> str:
    url = os.environ.get("PARLEY_TEST_POSTGRES")
    if not url:
        pytest.skip("PARLEY_TEST_POSTGRES names no PostgreSQL server")
    return url


def _connect(url: str) -> psycopg.Connection[tuple[object, ...]]:
    libpq = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    return psycopg.connect(libpq, connect_timeout=5)


def _databases(server_url: str) -> set[str]:
    with _connect(server_url) as connection:
        return {str(row[0]) for row in connection.execute("SELECT datname FROM pg_database")}


@pytest.fixture
def admin(server_url: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    with _connect(server_url) as connection:
        connection.autocommit = True
        yield connection


def test_the_database_is_dropped_though_sessions_on_it_are_still_open(server_url: str) -> None:
    with fresh_postgres_database(server_url) as url:
        name = make_url(url).database
        idle = _connect(url)
        busy = _connect(url)  # in a transaction that holds a lock, as a killed server's might
        busy.execute("CREATE TABLE t (x int)")
        busy.execute("LOCK TABLE t IN ACCESS EXCLUSIVE MODE")
        assert name in _databases(server_url)
    assert name not in _databases(server_url)
    engine = create_engine(server_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with engine.connect() as connection:
        drop_in_use(connection, name)  # already gone: a no-op, not an error
    engine.dispose()
    for ended in (idle, busy):
        with pytest.raises(psycopg.OperationalError):
            ended.execute("SELECT 1")
        ended.close()


def test_old_unused_leftovers_are_dropped_and_ones_in_use_or_recent_are_kept(
    server_url: str, admin: psycopg.Connection[tuple[object, ...]]
) -> None:
    two_hours_ago = int(time.time()) - 7200
    # Old ones named `bench`: test runs of an older checkout on the same server drop old `test`
    # ones with FORCE, in use or not.
    unused, in_use, recent = (
        throwaway_name("bench", two_hours_ago),
        throwaway_name("bench", two_hours_ago),
        throwaway_name("test", int(time.time())),
    )
    for name in (unused, in_use, recent):
        admin.execute(f"CREATE DATABASE {name} TEMPLATE template0")
    holder = _connect(
        make_url(server_url).set(database=in_use).render_as_string(hide_password=False)
    )
    try:
        with fresh_postgres_database(server_url):
            left = _databases(server_url)
            assert unused not in left
            assert {in_use, recent} <= left
    finally:
        holder.close()
        engine = create_engine(server_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        with engine.connect() as connection:
            for name in (unused, in_use, recent):  # all, whatever failed above
                drop_in_use(connection, name)
        engine.dispose()
