"""One migrated PostgreSQL database that a test process lends to its tests in turn, emptied
between them, instead of a database made, migrated and dropped for each test.

Making a database copies its template's files and WAL-logs them, and PostgreSQL (15 at least)
checkpoints the whole server at every DROP DATABASE: on a busy machine the two cost about a
second per test, ten times what the test itself does, and the migrations as much again.
Emptying costs one short transaction: a DELETE per table, children first, and every sequence
set back to 1, so that the next test sees what a freshly migrated database shows, ids
included.

A database is lent again only when nothing of the last test is left in it. It is replaced by
a new one (dropped, made and migrated anew) if anyone is still connected when the test is over
(a server that was not stopped, or the sessions of one killed with -9, which could write into
the next test) or if its schema is no longer the one the migrations made (a test that went
back a revision). A test that needs an empty database, not one at head, does not borrow this
one: it gets a fresh one from tests/support/postgres.py.
"""

from __future__ import annotations

import time
from contextlib import ExitStack

from sqlalchemy import Connection, create_engine, make_url, text
from sqlalchemy.pool import NullPool

from service.store.db import migrate_to_head
from service.store.models import Base
from tests.support.postgres import fresh_postgres_database

# What a test could have changed in the schema: every relation of `public` (tables, indexes,
# sequences, views) with its columns and their types, and every constraint with its table.
_SHAPE = text(
    "SELECT c.relname, c.relkind, a.attname, a.atttypid::regtype::text"
    " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
    " LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped"
    " WHERE n.nspname = 'public'"
    " UNION ALL SELECT t.relname, 'constraint', k.conname, k.contype::text"
    " FROM pg_constraint k JOIN pg_class t ON t.oid = k.conrelid"
    " JOIN pg_namespace n ON n.oid = t.relnamespace WHERE n.nspname = 'public'"
    " UNION ALL SELECT 'alembic_version', 'revision', version_num, '' FROM alembic_version"
    " ORDER BY 1, 2, 3"
)
_SEQUENCES = text("SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'")
_OTHER_SESSIONS = text(
    "SELECT count(*) FROM pg_stat_activity WHERE datname = :name AND pid <> pg_backend_pid()"
)
# A stopped server's sessions end a few milliseconds after it closed their connections (the
# backends exit on their own); one still there after this belongs to something still running.
_SESSIONS_END_WITHIN_S = 2.0
_SESSIONS_POLL_S = 0.005
_Shape = tuple[tuple[str, str, str | None, str | None], ...]


class ReusedDatabase:
    """Made and migrated at the first `lend()`; `close()` drops it. One test at a time."""

    def __init__(self, server_url: str) -> None:
        self._server_url = server_url
        self._admin = create_engine(server_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        self._current: ExitStack | None = None  # owns the database lent now, if one was made
        self._url = ""
        self._shape: _Shape = ()  # as the migrations left it

    def lend(self) -> str:
        """The URL of a database migrated to head with no rows in it."""
        if self._current is None:
            self._make()
        return self._url

    def give_back(self) -> None:
        """After the test that was lent it (its servers stopped): empty it, or replace it."""
        if self._current is None:
            return
        name = make_url(self._url).database
        assert name is not None
        with self._admin.connect() as connection:
            left = _wait_for_sessions_to_end(connection, name, _SESSIONS_END_WITHIN_S)
        if left or not self._emptied():
            self._drop()  # which ends those sessions

    def close(self) -> None:
        self._drop()
        self._admin.dispose()

    def _make(self) -> None:
        stack = ExitStack()
        try:
            self._url = stack.enter_context(fresh_postgres_database(self._server_url))
            migrate_to_head(self._url)
            self._shape = self._read_shape()
        except BaseException:
            stack.close()
            raise
        self._current = stack

    def _drop(self) -> None:
        current, self._current = self._current, None
        if current is not None:
            current.close()

    def _emptied(self) -> bool:
        """Empty the database if its schema is still the migrated one; whether it was."""
        engine = create_engine(self._url, poolclass=NullPool)
        try:
            with engine.begin() as connection:
                if _shape(connection) != self._shape:
                    return False
                for table in reversed(Base.metadata.sorted_tables):  # rows that refer first
                    connection.execute(table.delete())
                for sequence in connection.execute(_SEQUENCES).scalars():
                    connection.execute(text("SELECT setval(:name, 1, false)"), {"name": sequence})
            return True
        finally:
            engine.dispose()

    def _read_shape(self) -> _Shape:
        engine = create_engine(self._url, poolclass=NullPool)
        try:
            with engine.connect() as connection:
                shape = _shape(connection)
        finally:
            engine.dispose()
        tables = {row[0] for row in shape if row[1] == "r"} - {"alembic_version"}
        # Emptying deletes from the models' tables: one they do not know would keep its rows.
        assert tables == set(Base.metadata.tables), f"tables the models do not know: {tables}"
        return shape


def _shape(connection: Connection) -> _Shape:
    return tuple((str(r[0]), str(r[1]), r[2], r[3]) for r in connection.execute(_SHAPE))


def _wait_for_sessions_to_end(connection: Connection, name: str, within_s: float) -> int:
    """How many sessions on database `name` are left once they have all ended, or `within_s`
    has passed."""
    deadline = time.monotonic() + within_s
    while True:
        left = int(connection.execute(_OTHER_SESSIONS, {"name": name}).scalar_one())
        if left == 0 or time.monotonic() >= deadline:
            return left
        time.sleep(_SESSIONS_POLL_S)
