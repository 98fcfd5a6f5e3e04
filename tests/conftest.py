"""Shared fixtures: a real server per test on an ephemeral port, a SQLite file in tmp_path."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from service.config import ServerConfig
from tests.support.browser import why_no_browser
from tests.support.client import TestClient
from tests.support.postgres import fresh_postgres_database
from tests.support.reused_postgres import ReusedDatabase
from tests.support.server import (
    TEST_COST,
    RunningServer,
    create_users,
    start_server,
)

PASSWORD = "correct horse"  # every test account's password unless a test says otherwise
USERS = ("alice", "bob", "carol")


# Set to a PostgreSQL URL (postgresql+psycopg://postgres@127.0.0.1:5432/postgres, say; any database
# that exists there will do) to run the fixtures' tests against PostgreSQL instead of a SQLite
# file (see db_url). scripts/test does this for tests/e2e when the server answers.
POSTGRES_ENV = "PARLEY_TEST_POSTGRES"
_E2E = Path(__file__).parent / "e2e"
_BROWSER = Path(__file__).parent / "browser"
_NO_BROWSER = why_no_browser()


def pytest_ignore_collect(collection_path: Path) -> bool | None:
    """Without Chromium (or Playwright) tests/browser is left out, and said once at the end."""
    if _NO_BROWSER is not None and collection_path.is_relative_to(_BROWSER):
        return True
    return None


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _NO_BROWSER is None:
        return
    asked = [Path(arg.partition("::")[0]).resolve() for arg in terminalreporter.config.args]
    if any(_BROWSER.is_relative_to(path) or path.is_relative_to(_BROWSER) for path in asked):
        terminalreporter.write_line(f"tests/browser skipped: {_NO_BROWSER}")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the end-to-end tests `e2e`, so that one marker expression picks scripts/test's
    PostgreSQL run: tests/e2e plus the few tests elsewhere marked `postgres_only`."""
    for item in items:
        if item.path.is_relative_to(_E2E):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(autouse=True)
def _no_event_loop_left_by_the_browser(request: pytest.FixtureRequest) -> Iterator[None]:
    """Playwright's sync API leaves its event loop marked running on the main thread between
    calls, for the rest of the session of the worker that ran a browser test: any later test
    of that worker calling asyncio.run() would fail ("cannot be called from a running event
    loop"). Outside tests/browser it is unmarked for the test, and marked again after it."""
    browser_loop = asyncio._get_running_loop()
    if browser_loop is None or request.node.path.is_relative_to(_BROWSER):
        yield
        return
    asyncio._set_running_loop(None)
    try:
        yield
    finally:
        asyncio._set_running_loop(browser_loop)


@pytest.fixture(scope="session")
def reused_postgres() -> Iterator[ReusedDatabase]:
    """This process's database on POSTGRES_ENV's server for tests that want one at head (each
    xdist worker has its own), dropped at the end of the session."""
    server_url = os.environ.get(POSTGRES_ENV)
    assert server_url, f"{POSTGRES_ENV} names no PostgreSQL server"
    reused = ReusedDatabase(server_url)
    yield reused
    reused.close()


@pytest.fixture
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of the test's own, empty: a SQLite file in tmp_path that does not exist yet
    (its first user makes it: create_users copies a migrated one there), or a new PostgreSQL
    database. A test with a `server`, whose fixture makes the schema and the accounts before
    anything else, gets the reused PostgreSQL database instead, at head and emptied: the
    state the migrations would leave, without making and dropping a database per test."""
    server_url = os.environ.get(POSTGRES_ENV)
    if not server_url:
        yield f"sqlite:///{tmp_path / 'parley.db'}"
        return
    if "server" not in request.fixturenames:
        with fresh_postgres_database(server_url) as url:
            yield url
        return
    reused: ReusedDatabase = request.getfixturevalue("reused_postgres")
    yield reused.lend()
    reused.give_back()


@pytest.fixture
def server_config(db_url: str) -> ServerConfig:
    """Override in a test module to change options (timeout, block duration, signup...).
    Hashing costs what the test accounts' hashes cost (TEST_COST), so logins stay cheap and
    are not made anew at the first login."""
    return ServerConfig(
        port=0, db_url=db_url, block_duration_s=60, timeout_s=300,
        argon2=TEST_COST, allow_weak_hashing=True,
    )  # fmt: skip


@pytest.fixture
def server(server_config: ServerConfig) -> Iterator[RunningServer]:
    create_users(server_config.db_url, {name: PASSWORD for name in USERS})
    running = start_server(server_config)
    yield running
    running.stop()


@pytest.fixture
def make_user(server_config: ServerConfig) -> Callable[[str, str], None]:
    def make(name: str, password: str = PASSWORD) -> None:
        create_users(server_config.db_url, {name: password})

    return make


@pytest.fixture
def connect(server: RunningServer) -> Iterator[Callable[[], TestClient]]:
    clients: list[TestClient] = []

    def open_client() -> TestClient:
        client = TestClient(server.host, server.port)
        clients.append(client)
        return client

    yield open_client
    for client in clients:
        client.close()


@pytest.fixture
def login(connect: Callable[[], TestClient]) -> Callable[[str], TestClient]:
    """`login("alice")`: a connected client logged in as a test account."""

    def log_in(name: str, password: str = PASSWORD) -> TestClient:
        client = connect()
        client.login(name, password)
        return client

    return log_in
