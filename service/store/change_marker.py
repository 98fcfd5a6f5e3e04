"""Part of the store: a cheap way to tell that another connection committed (SQLite only).

SQLite's `PRAGMA data_version` is per connection: it moves when any *other* connection to
the file commits (another process's included: `chat-admin deluser`). So the marker keeps one
connection of its own, opened on first use and closed by its owner (the server's ticker).
PostgreSQL offers nothing as cheap: there `read()` is None and the caller uses a timer.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine


class ChangeMarker:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._connection: Any = None  # a DBAPI connection, kept for the marker alone

    def read(self) -> int | None:
        """A number that differs from the last one read when another connection committed
        meanwhile; None when the database has no such number."""
        if self._engine.dialect.name != "sqlite":
            return None
        if self._connection is None:
            self._connection = self._engine.raw_connection()
        cursor = self._connection.cursor()
        try:
            cursor.execute("PRAGMA data_version")
            return int(cursor.fetchone()[0])
        finally:
            cursor.close()

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()  # back to the pool, which the store disposes
            self._connection = None
