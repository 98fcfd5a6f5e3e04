"""The tests' databases at head: Alembic runs once per test process, and each test gets a copy.

Migrating an empty database runs every revision (batch mode on SQLite copies tables); it cost
more than anything else a typical end-to-end test does before its first request. A copy of a
file that `migrate_to_head` made once is the same schema, the same `alembic_version` and the
same pragmas (WAL is kept in the file), made in a fraction of a millisecond.

Only "empty to head" is shortcut: a file that exists, and every PostgreSQL database, is
migrated as before unless it is at head already, and the tests of the migrations themselves
call `migrate_to_head` or Alembic directly.
"""

from __future__ import annotations

import functools
import os
import shutil
import sqlite3
import tempfile
from pathlib import Path

from service.store.db import (
    PRIVATE_FILE_MODE,
    current_revision,
    head_revision,
    migrate_to_head,
    sqlite_path,
)

_template_dir: tempfile.TemporaryDirectory[str] | None = None  # removed when the process ends


def migrate(db_url: str) -> None:
    """The schema at head, as `migrate_to_head(db_url)` leaves it: an absent SQLite file
    becomes a copy of this process's migrated template, mode 0600 as the server makes it;
    any other database is migrated in place."""
    path = sqlite_path(db_url)
    if path is None or path.exists():
        # At head, Alembic would only read every revision's file again to do nothing.
        if current_revision(db_url) != _head():
            migrate_to_head(db_url)
        return
    template = _sqlite_template()
    # O_EXCL: were the file made meanwhile (it is the test's own path), fail rather than
    # overwrite it.
    with (
        open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE), "wb") as copy,
        template.open("rb") as original,
    ):
        shutil.copyfileobj(original, copy)


@functools.cache
def _head() -> str | None:
    return head_revision("sqlite://")  # the URL names no file: only the scripts are read


def _sqlite_template() -> Path:
    """A SQLite file migrated to head, made at the first call in this process (each xdist
    worker has its own); the migrations cannot change while the process runs."""
    global _template_dir
    if _template_dir is None:
        directory = tempfile.TemporaryDirectory(prefix="parley-template-")
        template = Path(directory.name) / "head.db"
        migrate_to_head(f"sqlite:///{template}")
        _checkpoint(template)
        _template_dir = directory
    return Path(_template_dir.name) / "head.db"


def _checkpoint(path: Path) -> None:
    """Everything in the main file, so that copying that file alone copies the database:
    SQLite checkpoints when its last connection closes, this makes sure of it."""
    connection = sqlite3.connect(path)
    try:
        busy, _log_frames, _moved = connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    finally:
        connection.close()
    assert busy == 0, f"{path}: the checkpoint was blocked"
    wal = Path(f"{path}-wal")
    assert not wal.exists() or wal.stat().st_size == 0, f"{wal} still holds pages"
