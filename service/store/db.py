"""Engines and migrations: the only place that knows how to open the database.

SQLite gets WAL (readers never wait for the writer), a busy timeout (chat-admin may write
while the server runs), foreign keys, and synchronous=FULL so that a commit is fsync'd before
chat/1 answers `ok`. Write transactions on SQLite start with BEGIN IMMEDIATE, so a
read-then-write transaction can never fail half-way on a lock upgrade.

A SQLite file is created here, mode 0600, before SQLite first opens it (SQLite itself would
make it 0644): it holds password hashes and every stored message. SQLite gives the `-wal` and
`-shm` files it makes later the main file's permissions, so they are 0600 too.
"""

from __future__ import annotations

import enum
import functools
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.engine import Connection
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from service.config import StartupError

PROJECT_ROOT = Path(__file__).resolve().parents[2]
BUSY_TIMEOUT_MS = 10_000
WRITE_OPTION = "parley_write"  # execution option: this transaction will write


class MigrationRefused(Exception):
    """A migration found data it cannot carry over as it is, and changed nothing. The text is
    one sentence for the operator: what is wrong and what to do."""


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


SYNCHRONOUS_LEVELS = ("full", "normal")  # SQLite: fsync every commit / only at checkpoints


def make_engine(url: str, *, synchronous: str = "full", connections: int | None = None) -> Engine:
    """`synchronous` (SQLite only): "full" makes every commit survive a power loss, "normal"
    (in WAL mode) only a crash of the process; chat/1's `ok` promises the first.
    `connections`: a pool of at most that many (the writer's: 1), else the readers' pool."""
    # hide_parameters: a failed statement's error (logged) must not carry message texts or
    # password hashes, which docs/OPERATING.md promises never reach the log.
    pool: dict[str, Any] = {}
    if connections is not None:
        pool = {"pool_size": connections, "max_overflow": 0}
    if not is_sqlite(url):
        return create_engine(url, pool_pre_ping=True, hide_parameters=True, **pool)
    engine = create_engine(
        url,
        hide_parameters=True,
        connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
        **(pool or {"pool_size": 8, "max_overflow": 56}),
    )
    assert synchronous in SYNCHRONOUS_LEVELS, synchronous
    path = sqlite_path(url)
    if path is not None:
        event.listen(engine, "do_connect", functools.partial(_create_private_file, path))
    event.listen(engine, "connect", functools.partial(_configure_sqlite_connection, synchronous))
    event.listen(engine, "begin", _begin_sqlite_transaction)
    return engine


def _create_private_file(path: Path, *_connect_args: Any) -> None:
    """Before SQLite opens `path`: if there is no such file, make it, empty and 0600."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE))
    except OSError:
        pass  # it exists (the usual case), or SQLite is about to say why it cannot be made


PRIVATE_FILE_MODE = 0o600  # the database: readable and writable by its owner only
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def _configure_sqlite_connection(synchronous: str, dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event emit BEGIN itself (pysqlite's own is always DEFERRED).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA synchronous={synchronous.upper()}")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _begin_sqlite_transaction(connection: Connection) -> None:
    writes = connection.get_execution_options().get(WRITE_OPTION, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")


def writing(engine: Engine) -> Engine:
    """The same engine whose transactions start as writers (SQLite: BEGIN IMMEDIATE)."""
    return engine.execution_options(**{WRITE_OPTION: True})


def make_sessions(engine: Engine) -> tuple[sessionmaker[Session], sessionmaker[Session]]:
    """(readers, writers): the same pool; writers take SQLite's write lock up front."""
    readers = sessionmaker(engine, expire_on_commit=False)
    writers = sessionmaker(writing(engine), expire_on_commit=False)
    return readers, writers


def alembic_config(url: str) -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate_to_head(url: str) -> None:
    """Create or upgrade the schema. The only way the schema comes to be (never create_all)."""
    command.upgrade(alembic_config(url), "head")


def current_revision(url: str) -> str | None:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def head_revision(url: str) -> str | None:
    return ScriptDirectory.from_config(alembic_config(url)).get_current_head()


# --- before the server touches the database ---------------------------------------------


def check_usable(url: str) -> list[str]:
    """Raise StartupError if a SQLite database plainly cannot be used (a missing directory, a
    read-only file or directory), before anything is written; else return warnings for the
    operator (the file is readable by other users). Other databases: nothing to check here."""
    path = sqlite_path(url)
    if path is None:
        return []
    directory = path.absolute().parent
    if not directory.is_dir():
        raise StartupError(f"cannot use the database {path}: there is no directory {directory}")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise StartupError(f"cannot use the database {path}: cannot write in {directory}, "
                           "where SQLite keeps its -wal and -shm files")  # fmt: skip
    if not path.exists():
        return []
    mode = path.stat().st_mode
    if not stat.S_ISREG(mode):
        raise StartupError(f"cannot use the database {path}: it is not a file")
    # Also for root, who may write anyway: a file nobody may write is meant to stay as it is.
    if not os.access(path, os.R_OK | os.W_OK) or not mode & 0o222:
        raise StartupError(f"cannot use the database {path}: the file is read-only "
                           f"(mode {stat.S_IMODE(mode):04o})")  # fmt: skip
    return _readable_by_others([path, *(Path(f"{path}{side}") for side in SQLITE_SIDE_FILES)])


def _readable_by_others(paths: list[Path]) -> list[str]:
    warnings = []
    for path in paths:
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except FileNotFoundError:
            continue
        if mode & 0o077:
            warnings.append(f"{path} is open to other users of this machine (mode {mode:04o}): "
                            f"it holds password hashes and messages; chmod 600 {path}")  # fmt: skip
    return warnings


@contextmanager
def startup_errors(url: str) -> Iterator[None]:
    """Database errors while the server starts, as one StartupError naming the database."""
    try:
        yield
    except MigrationRefused as refusal:  # e.g. two names equal ignoring case (schema 0003)
        raise StartupError(f"cannot upgrade the database {describe_url(url)}: {refusal}") from None
    except SQLAlchemyError as error:
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        raise StartupError(f"cannot use the database {describe_url(url)}: {reason}") from error


def describe_url(url: str) -> str:
    """The URL fit for a log line: any password masked."""
    return make_url(url).render_as_string(hide_password=True)


# --- where a database stands (for chat-admin) ----------------------------------------------


class Schema(enum.Enum):
    NO_FILE = "no_file"  # a SQLite URL naming a file that does not exist
    EMPTY = "empty"  # reachable, but no Parley schema (never migrated)
    OUTDATED = "outdated"  # migrated, but not to this program's head revision
    CURRENT = "current"  # at head: ready


@dataclass(frozen=True, slots=True)
class DatabaseState:
    schema: Schema
    current: str | None  # Alembic revision in the database
    head: str | None  # the revision this program's migrations end at


class DatabaseUnavailable(Exception):
    """The database cannot be opened or read, as one sentence naming it and the reason."""


def database_state(url: str) -> DatabaseState:
    """Where the database stands, without creating anything (SQLite creates files on open).

    Raises DatabaseUnavailable when no database can be reached there: a SQLite path in a
    directory that does not exist or naming a directory, a file that is no database, a
    PostgreSQL server that does not answer or refuses the login.
    """
    head = head_revision(url)
    cannot = f"cannot open the database at {describe_url(url)}"
    path = sqlite_path(url)
    if path is not None:
        if path.is_dir():
            raise DatabaseUnavailable(f"{cannot}: it is a directory")
        if not path.parent.is_dir():
            raise DatabaseUnavailable(f"{cannot}: there is no directory {path.parent}")
        if not path.exists():
            return DatabaseState(Schema.NO_FILE, None, head)
    try:
        current = current_revision(url)
    except DBAPIError as error:
        reason = " ".join(str(error.orig or error).split())  # drivers' hints span lines
        raise DatabaseUnavailable(f"{cannot}: {reason}") from error
    if current is None:
        return DatabaseState(Schema.EMPTY, None, head)
    return DatabaseState(Schema.CURRENT if current == head else Schema.OUTDATED, current, head)


def sqlite_path(url: str) -> Path | None:
    """The file a SQLite URL names, or None (another database, or SQLite in memory)."""
    if not is_sqlite(url):
        return None
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


BACKENDS = ("sqlite", "postgresql")  # what Parley is built and tested on
USABLE_URLS = "use sqlite:///FILE or postgresql+psycopg://USER@HOST/DATABASE"


def url_problem(text: str) -> str | None:
    """Why `text` cannot name a Parley database, or None when it can. Looks at the URL and the
    installed drivers only; whether a database answers there is `database_state`'s question."""
    try:
        url = make_url(text)
    except (ArgumentError, ValueError):  # ValueError: e.g. a port that is not a number
        if text.startswith("/"):  # sqlite:/// + an absolute path: four slashes, as it must be
            return f"{text!r} is not a database URL; for that SQLite file write sqlite:///{text}"
        return (
            f"{text!r} is not a database URL; for a SQLite file write sqlite:///{text} "
            "(relative to the current directory) or sqlite:////absolute/path.db"
        )
    try:
        dialect = url.get_dialect()
    except NoSuchModuleError:
        return f"unknown database URL scheme {url.drivername!r}; {USABLE_URLS}"
    if url.get_backend_name() not in BACKENDS:
        return f"Parley runs on SQLite and PostgreSQL, not {url.get_backend_name()}; {USABLE_URLS}"
    try:
        dialect.import_dbapi()
    except ImportError:
        return f"the driver {url.get_driver_name()!r} is not installed; {USABLE_URLS}"
    if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
        return f"{text} is a SQLite database in memory, which keeps nothing; use sqlite:///FILE"
    return None
