"""Write executors: every write transaction of the server goes through one of these.

GroupCommitWriter is the server's: one thread owns all writes and commits whatever jobs are
queued in a single transaction, so one fsync covers many messages (chat/1 answers `ok` only
after the commit). DirectWriter runs each job in its own transaction on the caller's thread,
for short-lived programs such as chat-admin.

A job is `fn(session) -> result`. A job that refuses (raises RequestError) must do so before it
writes anything: the refusal goes to its caller and the rest of the batch still commits. Any
other exception rolls the batch back and its jobs are re-run one transaction each, so one bad
job cannot fail its neighbours.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, Protocol, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from service.errors import RequestError

T = TypeVar("T")
Job = Callable[[Session], Any]

log = logging.getLogger(__name__)

MAX_BATCH_JOBS = 512  # one transaction holds at most this many jobs
QUEUE_LIMIT_JOBS = 8_192  # a full queue makes submitters wait: backpressure, not memory growth


class Writer(Protocol):
    def submit(self, job: Callable[[Session], T]) -> Future[T]: ...

    def run(self, job: Callable[[Session], T]) -> T: ...

    def close(self) -> None: ...


class DirectWriter:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def submit(self, job: Callable[[Session], T]) -> Future[T]:
        future: Future[T] = Future()
        try:
            future.set_result(self.run(job))
        except BaseException as error:
            future.set_exception(error)
        return future

    def run(self, job: Callable[[Session], T]) -> T:
        with self._sessions.begin() as session:
            return job(session)

    def close(self) -> None:
        pass


_STOP = object()


class GroupCommitWriter:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=QUEUE_LIMIT_JOBS)
        self._thread = threading.Thread(target=self._loop, name="db-writer", daemon=True)
        self._closed = False
        self._closing = threading.Lock()  # submit() and close() agree on what gets queued
        self._thread.start()

    def submit(self, job: Callable[[Session], T]) -> Future[T]:
        future: Future[T] = Future()
        with self._closing:
            if self._closed:
                future.set_exception(RuntimeError("the database writer is closed"))
                return future
            self._queue.put((job, future))
        return future

    def run(self, job: Callable[[Session], T]) -> T:
        if threading.current_thread() is self._thread:
            raise RuntimeError("a job or its callback waited on the writer: that deadlocks")
        return self.submit(job).result()

    def close(self) -> None:
        """Commit everything already queued, then stop the thread."""
        with self._closing:
            if self._closed:
                return
            self._closed = True
            self._queue.put(_STOP)
        self._thread.join()

    def _loop(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < MAX_BATCH_JOBS:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            stop = any(item is _STOP for item in batch)
            jobs = [item for item in batch if item is not _STOP]
            if jobs:
                self._commit_batch(jobs)
            if stop:
                return

    def _commit_batch(self, jobs: list[tuple[Job, Future[Any]]]) -> None:
        outcomes: list[tuple[Future[Any], bool, Any]] = []
        try:
            with self._sessions.begin() as session:
                for job, future in jobs:
                    try:
                        outcomes.append((future, True, job(session)))
                    except RequestError as refusal:
                        outcomes.append((future, False, refusal))
        except Exception:
            log.exception("a batch of %d writes failed; retrying them one by one", len(jobs))
            for job, future in jobs:
                self._commit_alone(job, future)
            return
        for future, ok, value in outcomes:
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)

    def _commit_alone(self, job: Job, future: Future[Any]) -> None:
        try:
            with self._sessions.begin() as session:
                result = job(session)
        except BaseException as error:
            future.set_exception(error)
        else:
            future.set_result(result)
