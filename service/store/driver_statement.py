"""A statement SQLAlchemy compiled once, run on the driver cursor of a connection it holds.

The hot paths run the same few statements for every batch. SQLAlchemy's execute path
(execution context, events, result handling) costs more than SQLite spends storing a row, so
these run on the driver inside the transaction SQLAlchemy began: still portable, because
SQLAlchemy wrote the SQL for the dialect in use.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Dialect
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler


class DriverStatement:
    """Rows are tuples in the order of `keys`, whatever order the dialect's SQL wants."""

    def __init__(self, statement: ClauseElement, dialect: Dialect, keys: tuple[str, ...]) -> None:
        compiled = statement.compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler)
        self.sql = str(compiled)
        self._keys = keys
        positions = compiled.positiontup
        self._named = not positions  # e.g. psycopg's %(name)s: rows become dicts
        order = tuple(keys.index(key) for key in positions or ())
        self._reorder = None if order == tuple(range(len(keys))) or self._named else order

    def execute(self, connection: Connection, row: tuple[Any, ...]) -> list[Any]:
        """The rows the statement returns."""
        return list(self.run(connection, row).fetchall())

    def run(self, connection: Connection, row: tuple[Any, ...]) -> Any:
        """The statement once, on `row`; the driver's cursor, nothing fetched."""
        cursor = self.executemany(connection, [])  # a cursor, nothing run
        params: Any = row
        if self._named:
            params = dict(zip(self._keys, row, strict=True))
        elif self._reorder is not None:
            params = tuple(row[i] for i in self._reorder)
        cursor.execute(self.sql, params)
        return cursor

    def executemany(self, connection: Connection, rows: Sequence[tuple[Any, ...]]) -> Any:
        params: Sequence[Any] = rows
        if self._named:
            params = [dict(zip(self._keys, row, strict=True)) for row in rows]
        elif self._reorder is not None:
            order = self._reorder
            params = [tuple(row[i] for i in order) for row in rows]
        cursor = connection.connection.cursor()
        if params:
            cursor.executemany(self.sql, params)
        return cursor
