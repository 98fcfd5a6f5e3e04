"""Throwaway PostgreSQL databases, for the tests (PARLEY_TEST_POSTGRES) and the benchmark
(scripts/loadgen, `--db-server`): one helper, so both create and drop them the same way.

Needs PostgreSQL 14 or newer (`pg_terminate_backend` with a timeout, `DROP ... WITH (FORCE)`).
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, create_engine, make_url, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

# A throwaway database's name carries what made it, its creation time (unix seconds) and a
# random part: unique when xdist workers, two whole runs or a run and a benchmark share one
# server, and recognisable as left behind by a killed run once it is old and nobody uses it.
_THROWAWAY = re.compile(r"parley_(?:test|bench)_(\d+)_[0-9a-f]{12}")
_LEFTOVER_AFTER_S = 3600  # far longer than a test may last (pytest-timeout is 60 s)
_TERMINATE_WAIT_MS = 10_000  # per lingering backend: how long to wait for it to exit
_DROP_ATTEMPTS = 3  # a backend that connected again between the terminate and the DROP


def throwaway_name(purpose: str, now_s: int) -> str:
    """`parley_test_1764000000_0123456789ab`; `purpose` is `test` or `bench`."""
    return f"parley_{purpose}_{now_s}_{uuid.uuid4().hex[:12]}"


@contextmanager
def fresh_postgres_database(server_url: str, purpose: str = "test") -> Iterator[str]:
    """The URL of a new, empty database on the server at `server_url`, dropped afterwards
    however many connections to it are still open then.

    `server_url` names an existing database to connect to for CREATE DATABASE (`postgres`,
    say). Databases that killed runs left behind are dropped on the way.
    """
    now_s = int(time.time())
    name = throwaway_name(purpose, now_s)
    # NullPool: no connection to the maintenance database stays open while the test runs.
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with admin.connect() as connection:
            drop_leftovers(connection, now_s)
            # template0, not the default template1: nobody may connect to template0, so
            # concurrent CREATEs never fail with "source database is being accessed by other
            # users".
            connection.exec_driver_sql(f"CREATE DATABASE {name} TEMPLATE template0")
        try:
            yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                drop_in_use(connection, name)
    finally:
        admin.dispose()


def drop_in_use(connection: Connection, name: str) -> None:
    """Drop `name` even while a server (or a killed one's backends) still holds connections.

    `WITH (FORCE)` alone signals the backends and waits at most 5 s for them to exit, then
    fails; on a loaded machine a teardown once timed out so. Here no new connection is let
    in, the backends are ended first, each waited for up to _TERMINATE_WAIT_MS, and only
    then is the database dropped (FORCE still, for one that slipped in meanwhile).
    """
    exists = text("SELECT 1 FROM pg_database WHERE datname = :name")
    if connection.execute(exists, {"name": name}).first() is None:
        return  # already gone: nothing to do
    connection.exec_driver_sql(f"ALTER DATABASE {name} ALLOW_CONNECTIONS false")
    for attempt in range(1, _DROP_ATTEMPTS + 1):
        terminate_backends(connection, name)
        try:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            return
        except DBAPIError:
            if attempt == _DROP_ATTEMPTS:
                raise


def terminate_backends(connection: Connection, name: str) -> int:
    """End every other session on database `name`, waiting for each to exit; how many."""
    # CASE, not AND in a WHERE: it alone fixes the order, so this session never ends itself.
    ended = connection.execute(
        text(
            "SELECT coalesce(sum(CASE WHEN datname = :name AND pid <> pg_backend_pid()"
            " THEN pg_terminate_backend(pid, :wait_ms)::int ELSE 0 END), 0)"
            " FROM pg_stat_activity"
        ),
        {"name": name, "wait_ms": _TERMINATE_WAIT_MS},
    ).scalar_one()
    return int(ended)


def drop_leftovers(connection: Connection, now_s: int) -> None:
    """Drop the throwaway databases older than _LEFTOVER_AFTER_S that nobody is connected
    to: a plain DROP refuses one in use, which is then not a leftover (a long benchmark)."""
    names = connection.exec_driver_sql("SELECT datname FROM pg_database").scalars().all()
    for name in names:
        match = _THROWAWAY.fullmatch(name)
        if match and now_s - int(match.group(1)) > _LEFTOVER_AFTER_S:
            try:
                connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
            except DBAPIError:
                pass  # in use, or another worker is dropping it right now
