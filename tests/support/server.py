"""Real servers for tests: in-process on an ephemeral port, or as a `chat-server` process."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from sqlalchemy import Connection, create_engine, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from service.config import ServerConfig
from service.credentials.hash_cost import HashCost
from service.server import ChatServer
from service.store.db import migrate_to_head
from service.store.store import Store
from service.wire.timeutil import utc_now
from tests.support.client import TestClient

_LISTENING = re.compile(rb"listening on (\S+):(\d+)")


@dataclass
class RunningServer:
    server: ChatServer
    config: ServerConfig

    @property
    def host(self) -> str:
        return self.server.address[0]

    @property
    def port(self) -> int:
        return self.server.address[1]

    @property
    def db_url(self) -> str:
        return self.config.db_url

    def stop(self) -> None:
        self.server.stop()


def start_server(config: ServerConfig) -> RunningServer:
    server = ChatServer(replace(config, port=0))
    server.start()
    return RunningServer(server, config)


# Real argon2id at its lowest cost: the server verifies with the parameters stored in the hash,
# so a test login costs microseconds instead of megabytes and tens of milliseconds, and the
# suite measures Parley rather than argon2. The `server_config` fixture hashes at this cost too
# (unknown names' decoys, register, and no rehash at the first login); servers made otherwise
# hash at the real cost, and make these hashes anew at their first login.
# `chat-admin adduser` (tested on its own) hashes at the real cost.
TEST_COST = HashCost(memory_kib=1024, time_cost=1, parallelism=1)
_test_hasher = PasswordHasher(
    time_cost=TEST_COST.time_cost, memory_cost=TEST_COST.memory_kib, parallelism=1
)


def cheap_hash(password: str) -> str:
    """An argon2id hash of `password` at the tests' minimal cost."""
    return _test_hasher.hash(password)


def create_users(db_url: str, users: dict[str, str]) -> None:
    """Accounts as an operator makes them, straight into the database (with cheap hashes)."""
    migrate_to_head(db_url)
    store = Store.open(db_url, group_commit=False)
    try:
        for name, password in users.items():
            store.create_user(name, _test_hasher.hash(password), utc_now())
    finally:
        store.close()


# A test database's name carries its creation time (unix seconds) and a random part: unique when
# xdist workers or two whole runs share one server, and recognisable as left behind by a killed
# run once it is far older than any test may last (pytest-timeout is 60 s).
_TEST_DATABASE = re.compile(r"parley_test_(\d+)_[0-9a-f]{12}")
_LEFTOVER_AFTER_S = 3600


@contextmanager
def fresh_postgres_database(server_url: str) -> Iterator[str]:
    """A new, empty PostgreSQL database on the server at `server_url`, dropped afterwards.

    `server_url` names an existing database to connect to for CREATE DATABASE (`postgres`, say).
    Databases that killed runs left behind are dropped on the way.
    """
    now_s = int(time.time())
    name = f"parley_test_{now_s}_{uuid.uuid4().hex[:12]}"
    # NullPool: no connection to the maintenance database stays open while the test runs.
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with admin.connect() as connection:
            _drop_leftover_databases(connection, now_s)
            # template0, not the default template1: nobody may connect to template0, so concurrent
            # CREATEs never fail with "source database is being accessed by other users".
            connection.exec_driver_sql(f"CREATE DATABASE {name} TEMPLATE template0")
        try:
            yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                # FORCE: a killed chat-server process may still hold connections.
                connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    finally:
        admin.dispose()


def _drop_leftover_databases(connection: Connection, now_s: int) -> None:
    names = connection.exec_driver_sql("SELECT datname FROM pg_database").scalars().all()
    for name in names:
        match = _TEST_DATABASE.fullmatch(name)
        if match and now_s - int(match.group(1)) > _LEFTOVER_AFTER_S:
            try:
                connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            except DBAPIError:
                pass  # another worker is dropping it right now; it goes all the same


@dataclass
class ServerProcess:
    process: subprocess.Popen[bytes]
    host: str
    port: int

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)

    def terminate(self) -> int:
        self.process.terminate()
        return self.process.wait(timeout=15)


def spawn_server(db_url: str, cwd: Path, *args: str, timeout_s: float = 20) -> ServerProcess:
    """`chat-server` as its own process (for kill -9 and signal tests); waits until it listens."""
    command = [sys.executable, "-m", "service.main", "--port", "0", "--db", db_url, *args]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(command, cwd=cwd, stderr=subprocess.PIPE, env=env)
    assert process.stderr is not None
    deadline = time.monotonic() + timeout_s
    seen = b""
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line:
            break
        seen += line
        match = _LISTENING.search(line)
        if match:
            _drain_in_background(process)
            return ServerProcess(process, match.group(1).decode(), int(match.group(2)))
    process.kill()
    raise RuntimeError(f"chat-server did not start:\n{seen.decode(errors='replace')}")


def _drain_in_background(process: subprocess.Popen[Any]) -> None:
    """Keep reading the server's log so a full pipe never blocks it."""
    import threading

    def drain() -> None:
        assert process.stderr is not None
        with process.stderr:
            for _line in process.stderr:
                pass

    threading.Thread(target=drain, daemon=True).start()


@contextmanager
def restarted(server: RunningServer) -> Iterator[Callable[[], TestClient]]:
    """Stop the test's server, start a new one on the same database; yields a connect()."""
    server.stop()
    again = start_server(server.config)
    clients: list[TestClient] = []

    def connect_again() -> TestClient:
        client = TestClient(again.host, again.port)
        clients.append(client)
        return client

    try:
        yield connect_again
    finally:
        for client in clients:
            client.close()
        again.stop()
