"""For the tests of remembered logins (chat/1 "Staying signed in"): one server shared by a
test module, with accounts and source addresses of each test's own, so that no test's
lockout count or per-address limit reaches another's; and looks into the login_tokens table.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import create_engine, text

from service.config import ServerConfig
from tests.support.client import Frame, TestClient
from tests.support.postgres import fresh_postgres_database
from tests.support.server import RunningServer, create_users, start_server

PASSWORD = "correct horse"
POSTGRES_ENV = "PARLEY_TEST_POSTGRES"  # as tests/conftest.py reads it


@contextmanager
def module_database(directory: str) -> Iterator[str]:
    """A database for a whole module: a SQLite file in `directory`, or a fresh PostgreSQL
    database when the run is against PostgreSQL (conftest's `db_url`, for a module)."""
    server_url = os.environ.get(POSTGRES_ENV)
    if not server_url:
        yield f"sqlite:///{directory}/parley.db"
        return
    with fresh_postgres_database(server_url) as url:
        yield url


@dataclass
class SharedServer:
    """A server a module's tests share; `user()` and `connect()` give each its own."""

    running: RunningServer
    _names: Iterator[int] = field(default_factory=itertools.count)
    _sources: Iterator[int] = field(default_factory=lambda: itertools.count(2))

    @property
    def db_url(self) -> str:
        return self.running.db_url

    def user(self, password: str = PASSWORD) -> str:
        """A new account, of this test only."""
        name = f"user{next(self._names)}"
        create_users(self.db_url, {name: password})
        return name

    def source(self) -> str:
        """A loopback address of this test only: its own per-address login limits."""
        n = next(self._sources)
        return f"127.0.{n // 250}.{n % 250 + 2}"

    def connect(self, source: str | None = None) -> TestClient:
        return TestClient(self.running.host, self.running.port, source=source or self.source())

    def remembered(self, user: str, source: str | None = None) -> Frame:
        """The reply of a login with `remember` on a connection of its own, logged out again
        (the token kept), so that the user may log in anew at once."""
        client = self.connect(source)
        reply = remember(client, user)
        assert client.request("logout")["ok"]
        client.wait_closed()
        return reply


@contextmanager
def shared_server(config: ServerConfig) -> Iterator[SharedServer]:
    running = start_server(config)
    try:
        yield SharedServer(running)
    finally:
        running.stop()


def remember(client: TestClient, user: str, password: str = PASSWORD) -> Frame:
    """A password login with `remember`: its ok reply, which carries the token."""
    reply = client.request("login", user=user, password=password, remember=True)
    assert reply["ok"], reply
    return reply


def server_time(client: TestClient) -> datetime:
    return parse_time(client.request("ping")["time"])


def wait_for_server_time(client: TestClient, moment: datetime, timeout_s: float = 10) -> None:
    """Until the server's clock (`ping`) is past `moment`: a condition, asked every 20 ms, with
    a deadline. `client` is not logged in, so nothing but the pings' replies comes to it."""
    deadline = time.monotonic() + timeout_s
    while server_time(client) <= moment:
        assert time.monotonic() < deadline, f"the server's clock did not pass {moment}"
        assert client.watch(0.02) == []  # a deadline, not a sleep: nothing else may come


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value)  # chat/1 times: RFC 3339, `Z` (Python 3.11+)


def stored_tokens(db_url: str, user: str) -> list[dict[str, object]]:
    """The login_tokens rows of `user`, every column, as the database holds them."""
    engine = create_engine(db_url)
    try:
        with engine.connect() as db:
            rows = db.execute(
                text("SELECT t.* FROM login_tokens t JOIN users u ON u.id = t.user_id "
                     "WHERE u.name = :name ORDER BY t.id"), {"name": user}
            )  # fmt: skip
            return [dict(row._mapping) for row in rows]
    finally:
        engine.dispose()
