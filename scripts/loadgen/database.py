"""A fresh database per workload, with its accounts already in it.

Accounts go straight into the `users` table with plain SQLAlchemy Core, in one transaction,
after `service.store.db.migrate_to_head` has made the schema: the benchmark depends only on the
table's columns, not on the server's store API (which is free to change). The server is not
running yet, so nothing else writes.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from argon2 import PasswordHasher
from sqlalchemy import (
    DateTime,
    Integer,
    String,
    column,
    create_engine,
    insert,
    make_url,
    select,
    table,
)

from service.credentials.hash_cost import DEFAULT_COST
from service.store.db import migrate_to_head
from tests.support.postgres import fresh_postgres_database

from .settings import PASSWORD

_USERS = table(
    "users",
    column("name", String),
    column("password_hash", String),
    column("created_at", DateTime),
    column("failed_attempts", Integer),
    column("locked_until", DateTime),
)
_USER_IDS = table("users", column("id", Integer), column("name", String))
_ROOMS = table(
    "rooms",
    column("id", Integer),
    column("name", String),
    column("created_at", DateTime),
    column("creator", String),
    column("last_seq", Integer),
)
_ROOM_MEMBERS = table(
    "room_members",
    column("room_id", Integer),
    column("user_id", Integer),
    column("read_seq", Integer),
    column("joined_at", DateTime),
)


CHEAP_HASH = "cheap argon2id (t=1, m=1 MiB, p=1), shared"  # what cheap_hash() makes, in words


def cheap_hash() -> str:
    """argon2id with minimal cost: the server verifies with the parameters in the hash, so
    logins with it cost microseconds, and a benchmark of messages is not one of argon2."""
    return PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(PASSWORD)


def real_hash() -> str:
    """argon2id at chat-server's default cost, as its accounts have once they logged in: the
    cost a login storm meets (the server verifies with the parameters stored in the hash)."""
    cost = DEFAULT_COST
    hasher = PasswordHasher(cost.time_cost, cost.memory_kib, cost.parallelism)
    return hasher.hash(PASSWORD)


def describe(db_server_url: str | None) -> str:
    if db_server_url is None:
        return "sqlite (a new temporary file per workload)"
    shown = make_url(db_server_url).render_as_string(hide_password=True)
    return f"postgresql (a new database per workload on {shown})"


@contextmanager
def fresh_database(db_server_url: str | None) -> Iterator[str]:
    """The URL of a new, empty database, removed afterwards."""
    if db_server_url is None:
        with tempfile.TemporaryDirectory(prefix="parley-bench-") as directory:
            yield f"sqlite:///{Path(directory) / 'bench.db'}"
        return
    with fresh_postgres_database(db_server_url, purpose="bench") as url:
        yield url


def create_users(url: str, hashes: Mapping[str, str]) -> None:
    """The schema, then one row per account (name -> argon2 hash), in one transaction."""
    migrate_to_head(url)
    created_at = datetime.now(UTC).replace(tzinfo=None)  # the schema stores naive UTC
    rows = [
        {
            "name": name,
            "password_hash": password_hash,
            "created_at": created_at,
            "failed_attempts": 0,
            "locked_until": None,
        }
        for name, password_hash in hashes.items()
    ]
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(insert(_USERS), rows)
    finally:
        engine.dispose()


def create_room(url: str, room: str, members: Sequence[str]) -> None:
    """A room with `members` (accounts made by create_users) in it, in one transaction, as
    if each had joined: the first one made it, nothing said yet."""
    now = datetime.now(UTC).replace(tzinfo=None)
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            ids = dict(connection.execute(select(_USER_IDS.c.name, _USER_IDS.c.id)).all())
            connection.execute(
                insert(_ROOMS),
                [{"name": room, "created_at": now, "creator": members[0], "last_seq": 0}],
            )
            room_id = connection.execute(
                select(_ROOMS.c.id).where(_ROOMS.c.name == room)
            ).scalar_one()
            rows = [
                {"room_id": room_id, "user_id": ids[name], "read_seq": 0, "joined_at": now}
                for name in members
            ]
            connection.execute(insert(_ROOM_MEMBERS), rows)
    finally:
        engine.dispose()
