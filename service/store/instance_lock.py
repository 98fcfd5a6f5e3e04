"""One chat-server per database, held from before the first write until the server stops.

Two servers on one database would each close the other's open sessions at start (they look
left over from a crash) and split the online users between them, so the one-login rule and
presence would no longer hold. SQLite: an exclusive `flock` on the database file itself (no
extra file; on Linux it is independent of the POSIX locks SQLite takes on the same file), which
the kernel drops when the process dies, `kill -9` included. Its descriptor stays open until the
store has closed: closing any descriptor of a file would drop the process's POSIX locks on it,
SQLite's included. PostgreSQL: a
session-level advisory lock on a connection kept open, which the database drops when that
connection ends. chat-admin takes no lock: it is meant to run beside the server.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from service.config import StartupError
from service.store.db import describe_url, is_sqlite, sqlite_path

# Any fixed 64-bit key: advisory locks are per database, and only chat-server takes this one.
ADVISORY_KEY = 0x7061726C6579  # "parley"
# A server killed a moment ago may still hold its PostgreSQL lock until the database notices
# the connection is gone (a restart right after `kill -9`): ask again for this long.
WAIT_FOR_GONE_HOLDER_S = 3.0


class InstanceLock:
    def __init__(self, release: Callable[[], None]) -> None:
        self._release: Callable[[], None] | None = release

    def release(self) -> None:
        if self._release is not None:
            release, self._release = self._release, None
            release()


def take_instance_lock(url: str) -> InstanceLock:
    """The lock, or StartupError saying another chat-server uses the database."""
    path = sqlite_path(url)
    if path is not None:
        return _lock_file(path)
    if is_sqlite(url):
        return InstanceLock(lambda: None)  # in memory: nobody else can open it
    return _advisory_lock(url)


def _lock_file(database: Path) -> InstanceLock:
    try:  # a new database starts as this empty file, which SQLite takes as an empty database
        fd = os.open(database, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as error:
        raise StartupError(f"cannot open the database {database}: {error.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise StartupError(f"another chat-server is using the database {database}") from None
    return InstanceLock(lambda: os.close(fd))


def _advisory_lock(url: str) -> InstanceLock:
    engine = create_engine(url, poolclass=NullPool)
    connection = engine.connect()
    try:
        deadline = time.monotonic() + WAIT_FOR_GONE_HOLDER_S
        while True:
            taken = connection.execute(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_KEY}
            ).scalar_one()
            connection.commit()  # a session-level lock outlives the transaction
            if taken:
                break
            if time.monotonic() >= deadline:
                raise StartupError(f"another chat-server is using the database {describe_url(url)}")
            time.sleep(0.1)  # polling a lock held by another process: nothing to wait on
    except BaseException:
        connection.close()
        engine.dispose()
        raise

    def release() -> None:
        connection.close()  # ends the session, and its advisory lock with it
        engine.dispose()

    return InstanceLock(release)
