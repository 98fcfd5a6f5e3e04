"""The store's foundation: one engine, one writer, short read transactions, and time helpers.

The store's queries live in three modules, all subclasses of StoreBase and joined in
`service.store.store.Store`: store.py (accounts, login, blocks, periods), message_store.py (direct
messages) and operator_store.py (what chat-admin lists and changes). Nothing else in Parley
runs a query. Sessions and ORM objects never leave these modules: callers get frozen
dataclasses or a Refusal. Times go in and come out as aware UTC datetimes; the database keeps
them naive UTC.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Self, TypeVar

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from service.credentials.passwords import Attempts
from service.store.db import make_engine, make_sessions, writing
from service.store.writer import DirectWriter, GroupCommitWriter, Writer
from service.wire.timeutil import as_utc, utc_now

T = TypeVar("T")


def naive_utc(moment: datetime) -> datetime:
    return as_utc(moment).replace(tzinfo=None)


def maybe_naive_utc(moment: datetime | None) -> datetime | None:
    return None if moment is None else naive_utc(moment)


def maybe_utc(moment: datetime | None) -> datetime | None:
    return None if moment is None else as_utc(moment)


def attempts_of(failures: int, locked_until: datetime | None) -> Attempts:
    """Lockout state from a row's two columns (users or unknown names alike)."""
    return Attempts(failures, maybe_utc(locked_until))


class StoreBase:
    def __init__(
        self, engine: Engine, writer: Writer, readers: sessionmaker[Session],
        writer_engine: Engine | None = None,
    ) -> None:  # fmt: skip
        self.engine = engine
        # The server's writer connects through an engine of its own (service/store/writer.py says
        # why); chat-admin's writes share `engine`.
        self.writer_engine = writer_engine or engine
        self._writer = writer
        self._readers = readers

    @classmethod
    def open(
        cls, url: str, *, group_commit: bool, max_text_chars: int = 4_000,
        synchronous: str = "full",
    ) -> Self:  # fmt: skip
        """group_commit: the server's writer thread; otherwise each write commits on the
        caller's thread (chat-admin, tests)."""
        engine = make_engine(url, synchronous=synchronous)
        readers, writers = make_sessions(engine)
        if not group_commit:
            return cls(engine, DirectWriter(writers), readers)
        writer_engine = make_engine(url, synchronous=synchronous, connections=1)
        writer = GroupCommitWriter(writing(writer_engine), utc_now, max_text_chars)
        return cls(engine, writer, readers, writer_engine)

    @property
    def group_writer(self) -> GroupCommitWriter:
        """The server's writer, for the hot path (service/pipeline/answerer.py)."""
        assert isinstance(self._writer, GroupCommitWriter), "open(group_commit=True)"
        return self._writer

    def close(self) -> None:
        self._writer.close()
        self.writer_engine.dispose()
        self.engine.dispose()

    def read(self, query: Callable[[Session], T]) -> T:
        """Run `query` in a short read transaction on this thread."""
        with self._readers() as session:
            return query(session)

    def write(self, job: Callable[[Session], T], then: Callable[[T], None] | None = None) -> T:
        """Run `job` as (part of) one committed write transaction; returns once committed.
        A job that raises leaves nothing behind (it runs in a savepoint of its own).
        `then(result)` runs once committed, in commit order (see service/store/writer.py)."""
        return self._writer.run(job, then)
