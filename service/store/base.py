"""The store's foundation: one engine, one writer, short read transactions, and time helpers.

Every repository of the store (service/store/store.py lists them) holds this Database and
nothing else of the world. What each of them promises, because it runs through here:
- one transaction per call: a read is one short read transaction on the caller's thread, a
  write is (part of) one committed write transaction and returns once committed;
- Sessions and ORM objects never leave the store: callers get frozen dataclasses or a
  Refusal (service/store/outcomes.py), never a protocol error;
- times go in and come out as aware UTC datetimes; the database keeps them naive UTC.
Nothing else in Parley runs a query.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from datetime import datetime
from typing import TypeVar

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


class Database:
    """The engine, the readers' session factory and the writer, shared by the repositories."""

    def __init__(
        self, engine: Engine, writer: Writer, readers: sessionmaker[Session],
        writer_engine: Engine | None = None,
    ) -> None:  # fmt: skip
        self.engine = engine
        # The server's writer connects through an engine of its own (service/store/writer.py says
        # why); chat-admin's writes share `engine`.
        self.writer_engine = writer_engine or engine
        self.writer = writer
        self._readers = readers

    @classmethod
    def open(
        cls, url: str, *, group_commit: bool, max_text_chars: int = 4_000,
        synchronous: str = "full",
    ) -> Database:  # fmt: skip
        """group_commit: the server's writer thread; otherwise each write commits on the
        caller's thread (chat-admin, tests)."""
        engine = make_engine(url, synchronous=synchronous)
        readers, writers = make_sessions(engine)
        if not group_commit:
            return cls(engine, DirectWriter(writers), readers)
        writer_engine = make_engine(url, synchronous=synchronous, connections=1)
        writer = GroupCommitWriter(writing(writer_engine), utc_now, max_text_chars)
        return cls(engine, writer, readers, writer_engine)

    def close(self) -> None:
        self.writer.close()
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
        return self.writer.run(job, then)

    def submit(self, job: Callable[[Session], T]) -> Future[T]:
        """Queue `job` for the writer and return at once; its failure is the writer's to log."""
        return self.writer.submit(job)
