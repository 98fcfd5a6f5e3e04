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

from sqlalchemy import create_engine, make_url

from service.auth import hash_password
from service.config import ServerConfig
from service.db import migrate_to_head
from service.server import ChatServer
from service.store import Store
from service.timeutil import utc_now
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


def create_users(db_url: str, users: dict[str, str]) -> None:
    """Accounts the way an operator makes them, straight into the database."""
    migrate_to_head(db_url)
    store = Store.open(db_url, group_commit=False)
    try:
        for name, password in users.items():
            store.create_user(name, hash_password(password), utc_now())
    finally:
        store.close()


@contextmanager
def fresh_postgres_database(server_url: str) -> Iterator[str]:
    """A new, empty PostgreSQL database on the server at `server_url`, dropped afterwards."""
    name = f"parley_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f"CREATE DATABASE {name}")
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
        with admin.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    finally:
        admin.dispose()


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
