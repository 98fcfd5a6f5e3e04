"""Write executors: every write transaction of the server goes through one of these.

GroupCommitWriter is the server's: one thread holds one SQLAlchemy connection and commits
whatever is queued in a single transaction, so one fsync covers many messages (chat/1 answers
`ok` only after the commit). Two kinds of work share that transaction:

- hot work (a round of durable pipelined requests: direct messages and acks, the rooms' `say`
  and `read`, handed over by the reactor once per round; service/store/hot.py), every round
  queued written at once as a few statements in one savepoint; each round goes to one
  callback after the commit, its results filled in. On PostgreSQL the savepoint goes with the
  round's first statements in one round trip (psycopg's pipeline mode, `_Ahead`), and COMMIT
  releases it: BEGIN, savepoint + acks + checks, INSERT, COMMIT;
- jobs, `fn(session) -> result`, each in a savepoint of its own: a job that refuses
  (RequestError) or fails after writing leaves nothing behind, and its neighbours still commit.
  A job may come with `then(result)`, which runs on the writer thread once the job is
  committed and before the results of that commit's hot batches (or of any later commit) are
  handed on: what must change in step with commits (the hub's index of who is in a room) does
  so there.

When a commit fails (a disk that refuses writes, a full disk, a database server gone), that
batch is answered `internal` (its jobs fail with WriteFailed, chat/1's `internal` refusal, so
no one logs a traceback per failed write), the connection is dropped, and the next batch is
tried on a new one after a backoff (service/store/write_health.py, which also decides the few log
lines an outage gets: the first with its traceback, in case it is our bug). A statement that
fails because of the database rather than its own data (`_is_database_failure`: read-only, I/O
error, corrupt, connection gone) fails the batch the same way, not just its job or message: a
connection SQLite opened while the file refused writes is read-only for good, and a savepoint
that took each failure alone would commit nothing and keep that connection. The writer's
connection comes from an engine of its own, never from the readers' pool, for the same reason.

DirectWriter runs each job in its own transaction on the caller's thread, for short-lived
programs such as chat-admin.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from service.store.hot import HotWork, HotWrite
from service.store.index_merges import DM_INDEX, ROOM_INDEX, IndexMerges
from service.store.message_statements import MessageStatements
from service.store.room_statements import RoomStatements
from service.store.write_health import WriteHealth
from service.wire.errors import INTERNAL, RequestError

T = TypeVar("T")
Job = Callable[[Session], Any]
Then = Callable[[Any], None] | None  # runs once the job is committed (see the docstring)

log = logging.getLogger(__name__)

MAX_BATCH_ITEMS = 512  # queue items (jobs or rounds of hot work) in one transaction
_HOT_SAVEPOINT = "parley_hot_batch"


class WriteFailed(RequestError):
    """A job's transaction did not commit: nothing of it was stored. chat/1's `internal`, and
    already logged by the writer (service/store/write_health.py), so callers answer it as a refusal
    without a traceback of their own."""

    def __init__(self) -> None:
        super().__init__(INTERNAL.code, INTERNAL.text)


class Writer(Protocol):
    def run(self, job: Callable[[Session], T], then: Then = None) -> T: ...

    def submit(self, job: Callable[[Session], T], then: Then = None) -> Future[T]: ...

    def close(self) -> None: ...


class DirectWriter:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def run(self, job: Callable[[Session], T], then: Then = None) -> T:
        with self._sessions.begin() as session:  # an exception rolls everything back
            result = job(session)
        if then is not None:
            then(result)
        return result

    def submit(self, job: Callable[[Session], T], then: Then = None) -> Future[T]:
        future: Future[T] = Future()
        try:
            future.set_result(self.run(job, then))
        except BaseException as error:
            future.set_exception(error)
        return future

    def close(self) -> None:
        pass


# Runs on the writer thread after the commit (or its failure), once per round submitted,
# with the round's results filled in.
HotCallback = Callable[[HotWork], None]


@dataclass(slots=True)
class _Job:
    fn: Job
    future: Future[Any]
    then: Then = None


class _Stop:
    pass


class GroupCommitWriter:
    def __init__(
        self,
        engine: Engine,
        clock: Callable[[], datetime],
        max_text_chars: int = 4_000,
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._max_text_chars = max_text_chars
        self._statements = MessageStatements(engine.dialect, remember_checks=True)
        self._rooms = RoomStatements()
        self._merges = IndexMerges(engine.dialect.name)
        self._on_hot: HotCallback | None = None
        self._queue: queue.SimpleQueue[_Job | HotWork | _Stop] = queue.SimpleQueue()
        self._closed = False
        self._closing = threading.Lock()  # submit() and close() agree on what gets queued
        self._stopping = threading.Event()  # cuts a backoff short: close() does not wait it out
        self._health = WriteHealth()
        self._thread = threading.Thread(target=self._loop, name="db-writer", daemon=True)
        self._thread.start()

    def on_hot_committed(self, callback: HotCallback) -> None:
        self._on_hot = callback

    def submit(self, job: Callable[[Session], T], then: Then = None) -> Future[T]:
        future: Future[T] = Future()
        with self._closing:
            if self._closed:
                future.set_exception(RuntimeError("the database writer is closed"))
                return future
            self._queue.put(_Job(job, future, then))
        return future

    def submit_hot(self, work: HotWork) -> None:
        """Queue a round without waiting; it goes to the hot callback once committed."""
        if self._closed:
            self._finish_hot([work], RuntimeError("the database writer is closed"))
            return
        self._queue.put(work)

    def run(self, job: Callable[[Session], T], then: Then = None) -> T:
        if threading.current_thread() is self._thread:
            raise RuntimeError("a job or its callback waited on the writer: that deadlocks")
        return self.submit(job, then).result()

    def close(self) -> None:
        """Commit everything already queued, then stop the thread."""
        with self._closing:
            if self._closed:
                return
            self._closed = True
            self._queue.put(_Stop())
        self._stopping.set()
        self._thread.join()

    def _loop(self) -> None:
        try:
            self._serve()
        except BaseException:  # e.g. the database cannot be reached: fail, never hang
            log.exception("the database writer stopped")
            self._closed = True
            while True:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    return
                error = RuntimeError("the database writer stopped")
                if isinstance(item, _Job):
                    item.future.set_exception(error)
                elif not isinstance(item, _Stop):
                    self._finish_hot([item], error)

    def _serve(self) -> None:
        connection: Connection | None = None  # opened for the first batch, again after a failure
        try:
            while True:
                items = [self._queue.get()]
                if (backoff_s := self._health.wait_s(time.monotonic())) > 0:
                    self._stopping.wait(backoff_s)  # writes are failing: not again at once
                while len(items) < MAX_BATCH_ITEMS:
                    try:
                        items.append(self._queue.get_nowait())
                    except queue.Empty:
                        break
                jobs = [item for item in items if isinstance(item, _Job)]
                hot = [item for item in items if not isinstance(item, _Job | _Stop)]
                if jobs or hot:
                    connection = self._commit(connection, jobs, hot)
                if any(isinstance(item, _Stop) for item in items):
                    return
        finally:
            if connection is not None:
                connection.close()

    def _commit(
        self, connection: Connection | None, jobs: list[_Job], hot: list[HotWork]
    ) -> Connection | None:
        """One transaction for the batch; the connection for the next (None: open a new one)."""
        done: list[tuple[_Job, bool, Any]] = []
        failure: BaseException | None = None
        if jobs:  # they run first, on this connection, which data_version does not watch
            self._statements.forget_checks()
        try:
            if connection is None:
                connection = self._engine.connect()
            with connection.begin():
                for job in jobs:
                    done.append(_run_in_savepoint(connection, job))
                if hot:
                    self._write_hot(connection, hot)
                self._merge_indexes(connection)
        except Exception as error:  # the commit failed: nothing of this batch was stored
            first = self._health.failing_since is None  # its traceback: it may be our bug
            if (line := self._health.failed(time.monotonic(), error)) is not None:
                log.error("%s", line, exc_info=error if first else None)
            done = [(job, False, WriteFailed()) for job in jobs]
            failure = error
            self._statements.forget_checks()  # what it read belongs to no committed state
            # SQLAlchemy's rollback after a failed COMMIT does not reach the driver, and SQLite
            # may keep the transaction open (after SQLITE_FULL, say): every later BEGIN would
            # fail. A new DBAPI connection for the next transaction, whatever state this one is in.
            _drop(connection)
            connection = None
        else:
            if (line := self._health.succeeded(time.monotonic())) is not None:
                log.warning("%s", line)
        for job, ok, value in done:
            if ok:
                _run_then(job, value)
                job.future.set_result(value)
            else:
                job.future.set_exception(value)
        if hot:
            self._finish_hot(hot, failure)
        return connection

    def _write_hot(self, connection: Connection, hot: list[HotWork]) -> None:
        """Every queued round at once, in a savepoint: if that fails as a whole (one bad row
        fails an executemany), each item is tried again on its own, so one bad request fails
        only itself, and the jobs beside it keep their writes."""
        work = hot[0].joined(hot[1:]) if len(hot) > 1 else hot[0]
        tx = HotWrite(
            connection, self._clock(), self._max_text_chars, self._statements, self._rooms
        )
        # Plain SQL on the driver: SQLAlchemy's begin_nested() costs more than the batch's
        # checks. It stays inside the transaction SQLAlchemy began.
        cursor = connection.connection.cursor()
        pipeline = _pipeline(connection)
        ahead = None if pipeline is None else _Ahead(pipeline, cursor)
        if ahead is None:
            cursor.execute(f"SAVEPOINT {_HOT_SAVEPOINT}")
        else:  # PostgreSQL: sent with the statements the work sends ahead (see hot.py)
            tx.ahead = ahead
        try:
            work.write(tx)
        except Exception as error:
            if _is_database_failure(error, connection):
                raise  # the whole batch fails: see the module's docstring
            if ahead is not None and not ahead.entered:
                raise  # failed before its savepoint (PostgreSQL): nothing to take back to
            cursor.execute(f"ROLLBACK TO SAVEPOINT {_HOT_SAVEPOINT}")
            cursor.execute(f"RELEASE SAVEPOINT {_HOT_SAVEPOINT}")
            log.exception("a batch of pipelined requests failed; trying them one by one")
            self._write_one_by_one(replace(tx, ahead=nullcontext), work)
            return
        if ahead is not None:
            if not ahead.entered:  # our bug: what it wrote had no savepoint
                raise RuntimeError("HotWork.write() did not enter tx.ahead()")
            return  # PostgreSQL: COMMIT releases the savepoint, one round trip fewer
        cursor.execute(f"RELEASE SAVEPOINT {_HOT_SAVEPOINT}")

    def _merge_indexes(self, connection: Connection) -> None:
        """A step of the full-text indexes' merging (service/store/index_merges.py), in this
        transaction. Merging is upkeep, not the batch's work: if a step fails on its own,
        SQLite takes back that statement alone, the batch commits, and merging stops until
        the server restarts (FTS5's crisis merges still bound the indexes), logged once. A
        failure that ended the transaction, or the database's own, fails the batch."""
        self._merges.added(DM_INDEX, self._statements.take_rows_added())
        self._merges.added(ROOM_INDEX, self._rooms.take_rows_added())
        try:
            self._merges.step(connection.connection.cursor())
        except Exception as error:  # any failure of upkeep: the batch must not pay for it
            driver = connection.connection.driver_connection
            if _is_database_failure(error, connection) or not getattr(
                driver, "in_transaction", True
            ):  # interrupted, out of memory: SQLite may have rolled the transaction back
                raise
            self._merges.stop()
            log.exception("merging the full-text indexes failed; stopped until a restart")

    @staticmethod
    def _write_one_by_one(tx: HotWrite, work: HotWork) -> None:
        connection = tx.connection
        for single in work.singles():
            savepoint = connection.begin_nested()
            try:
                single.write(tx)
            except Exception as error:
                if _is_database_failure(error, connection):
                    raise
                savepoint.rollback()
                single.failed(error)
                continue
            savepoint.commit()

    def _finish_hot(self, hot: list[HotWork], failure: BaseException | None) -> None:
        assert self._on_hot is not None, "on_hot_committed() before submit_hot()"
        for work in hot:
            if failure is not None:
                work.failed(failure)
            try:
                self._on_hot(work)
            except Exception:  # our bug in one round's answer: the writer and the rest go on
                log.exception("handing on a committed round failed")


class _Ahead:
    """HotWrite.ahead on PostgreSQL: psycopg's pipeline mode, the writer's savepoint first. A
    failure inside is raised when it ends (the first error; later statements are skipped), and
    takes back only the savepoint, as outside it."""

    def __init__(self, pipeline: Callable[[], AbstractContextManager[Any]], cursor: Any) -> None:
        self._pipeline = pipeline
        self._cursor = cursor
        self.entered = False

    @contextmanager
    def __call__(self) -> Iterator[None]:
        if self.entered:
            raise RuntimeError("tx.ahead() entered twice: the savepoint is made once")
        self.entered = True
        with self._pipeline():
            self._cursor.execute(f"SAVEPOINT {_HOT_SAVEPOINT}")
            yield


def _pipeline(connection: Connection) -> Callable[[], AbstractContextManager[Any]] | None:
    """psycopg's pipeline mode for the connection's driver connection, or None (SQLite)."""
    return getattr(connection.connection.driver_connection, "pipeline", None)


def _drop(connection: Connection | None) -> None:
    """Close a connection whose transaction failed, whatever state it is in."""
    if connection is None:
        return
    try:
        connection.invalidate()  # the DBAPI connection is closed, never back in a pool
        connection.close()
    except Exception:  # closing a broken connection may fail too: it is gone either way
        log.debug("closing the writer's failed connection failed", exc_info=True)


def _is_database_failure(error: BaseException, connection: Connection) -> bool:
    """Whether `error` is the database's failure rather than one statement's: the file or the
    server refuses (read-only, disk I/O error, locked, corrupt) or the connection is gone: on
    SQLite by the result code, elsewhere PEP 249's OperationalError and InterfaceError, from
    SQLAlchemy or straight from the driver (the hot statements run on the driver's cursor). A
    constraint or a value the database rejects (IntegrityError, DataError) is the job's or the
    message's own, and fails it alone."""
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    # sqlite3's classes do not tell the two apart: OperationalError is also a statement's own
    # fault (no such column, too many variables), and a corrupt file or one that is not a
    # database is a plain DatabaseError. Its result code tells the file's failures.
    code = getattr(error.orig if isinstance(error, DBAPIError) else error, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in _SQLITE_FILE_FAILURES and code not in _SQLITE_NOT_THE_FILE
    driver = connection.dialect.loaded_dbapi
    failures = (OperationalError, InterfaceError, driver.OperationalError, driver.InterfaceError)
    return isinstance(error, failures)


# SQLite's primary result codes for a file or lock that refuses, not a statement at fault:
# PERM, BUSY, LOCKED, READONLY, IOERR, CORRUPT, FULL, CANTOPEN, NOTADB.
_SQLITE_FILE_FAILURES = frozenset({3, 5, 6, 8, 10, 11, 13, 14, 26})
# Except CORRUPT_VTAB (CORRUPT's extended code): a virtual table's own data is damaged (FTS5's
# index, which the merge step reads), not the file; that statement fails alone, as upkeep may.
_SQLITE_NOT_THE_FILE = frozenset({267})


def _run_in_savepoint(connection: Connection, job: _Job) -> tuple[_Job, bool, Any]:
    """One job, one savepoint: a refusal or a failure takes back what the job wrote. The
    database's own failure fails the whole batch instead (see the module's docstring)."""
    with Session(bind=connection, join_transaction_mode="create_savepoint") as session:
        try:
            result = job.fn(session)
            session.commit()
        except Exception as error:
            if _is_database_failure(error, connection):
                raise
            session.rollback()
            if not isinstance(error, RequestError):
                log.error("a write job failed", exc_info=error)
            return job, False, error
    return job, True, result


def _run_then(job: _Job, result: Any) -> None:
    """A committed job's follow-up; its failure is our bug, logged, and fails nothing else."""
    if job.then is None:
        return
    try:
        job.then(result)
    except Exception:
        log.exception("the follow-up of a committed write job failed")
