"""A statement SQLAlchemy compiled once, run on the driver cursor of a connection it holds.

The hot paths run the same few statements for every batch. SQLAlchemy's execute path
(execution context, events, result handling) costs more than SQLite spends storing a row, so
these run on the driver inside the transaction SQLAlchemy began: still portable, because
SQLAlchemy wrote the SQL for the dialect in use. RowsInsert stores a batch as one statement.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Dialect, bindparam, insert
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

from service.store.models import Base


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


# Rows per statement of a RowsInsert: 64 rows of up to 7 columns keep under 999 bound
# parameters (the limit of SQLite builds before 3.32), and the statement texts, one per row
# count, under pysqlite's cache of 128 prepared statements beside the writer's other ones.
ROWS_PER_STATEMENT = 64


class RowsInsert:
    """A batch's rows INSERTed as one statement (`INSERT ... VALUES (...), (...)`, up to
    ROWS_PER_STATEMENT rows each), where `executemany` runs the statement once per row.

    Why (SQLite): a statement that fires triggers inside a transaction runs in a statement
    savepoint, and FTS5 writes the terms it holds into a new segment of its index at every
    savepoint's begin and end (xSavepoint / xRelease). The full-text triggers of migration 0007
    made `executemany` write one segment per message: its pages at the commit, then merges.
    One statement writes one segment per batch. The writer's statements replayed on a SQLite
    file (30 direct messages and 30 acks a commit, 50 users, synchronous=FULL): 623 KiB
    written per commit and 89 us CPU per message with `executemany`, 321 KiB and 50 us so.

    SQLAlchemy writes the statement for one row; the text for n rows repeats its VALUES group
    n times, as SQLAlchemy's own multi-row INSERT does (tests/unit/test_rows_insert.py holds the
    two equal): compiling that (a few ms for 64 rows) once per row count was a sixth of the
    writer's time in a 10-second benchmark. Rows are tuples in the order of `keys`, values as
    the driver takes them."""

    def __init__(self, model: type[Base], dialect: Dialect, keys: tuple[str, ...]) -> None:
        compiled = (
            insert(model).values({key: bindparam(key) for key in keys}).compile(dialect=dialect)
        )
        assert isinstance(compiled, SQLCompiler)
        # the flat parameters of run() are row after row, each in the order of `keys`
        assert tuple(compiled.positiontup or ()) == keys, (compiled.positiontup, keys)
        head, values = str(compiled).split(" VALUES ")
        self._head = f"{head} VALUES "
        self._values = values  # one row's group: (?, ?, ...)
        self._sql: dict[int, str] = {}  # by row count, at most ROWS_PER_STATEMENT

    def sql(self, count: int) -> str:
        """The statement for `count` rows (1 to ROWS_PER_STATEMENT)."""
        if (text := self._sql.get(count)) is None:
            text = self._sql[count] = self._head + ", ".join([self._values] * count)
        return text

    def run(self, connection: Connection, rows: Sequence[tuple[Any, ...]]) -> Any:
        """Every row, in order; the driver's cursor, after the last statement."""
        cursor = connection.connection.cursor()
        for start in range(0, len(rows), ROWS_PER_STATEMENT):
            part = rows[start : start + ROWS_PER_STATEMENT]
            cursor.execute(self.sql(len(part)), [value for row in part for value in row])
        return cursor
