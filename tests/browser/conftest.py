"""The web page in a real Chromium (Debian's, through Playwright), against a real chat-server.

One browser per xdist worker; a new context (its own storage, so its own sign-in) per page; one
server per test module, with its web port, on a SQLite file (the page speaks chat/1, which the
e2e tests check on PostgreSQL too). A test names its users with `users(...)`, made afresh, so
the tests of one module share a server without meeting each other. A page that throws an
uncaught error fails its test.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    expect,
    sync_playwright,
)

from tests.conftest import PASSWORD
from tests.support.browser import CHROMIUM_ARGS, chromium_path
from tests.support.client import TestClient
from tests.support.page import ChatPage
from tests.support.server import RunningServer, create_users, start_web_server

_names = itertools.count(1)
# Playwright's waits (expect, auto-wait) give up after this: a deadline, not a pause. Twice
# its default, for a CI machine running the rest of the suite beside the browser.
expect.set_options(timeout=10_000)


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    path = chromium_path()
    assert path is not None  # tests/conftest.py leaves tests/browser out otherwise
    chromium = playwright.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)
    yield chromium
    chromium.close()


@pytest.fixture(scope="module")
def server_options() -> dict[str, Any]:
    """Override in a module for other server options (timeouts, sessions, limits...)."""
    return {}


@pytest.fixture(scope="module")
def web_server(
    tmp_path_factory: pytest.TempPathFactory, server_options: dict[str, Any]
) -> Iterator[RunningServer]:
    running = start_web_server(tmp_path_factory.mktemp("browser"), server_options)
    yield running
    running.stop()


@pytest.fixture
def users(web_server: RunningServer) -> Callable[..., list[str]]:
    """`users("alice", "bob")`: fresh accounts (alice7, bob8...) with PASSWORD."""

    def make(*stems: str) -> list[str]:
        names = [f"{stem}{next(_names)}" for stem in stems]
        create_users(web_server.db_url, dict.fromkeys(names, PASSWORD))
        return names

    return make


@pytest.fixture
def open_page(browser: Browser, web_server: RunningServer) -> Iterator[Callable[..., ChatPage]]:
    """`open_page()`: the web client in a context of its own; `width` for a phone."""
    contexts: list[BrowserContext] = []
    errors: list[str] = []

    def open_one(width: int = 1100, height: int = 760, server: RunningServer | None = None
                 ) -> ChatPage:  # fmt: skip
        context = browser.new_context(viewport={"width": width, "height": height})
        contexts.append(context)
        page: Page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        target = server or web_server
        return ChatPage(page, f"http://{target.host}:{target.web_port}/").load()

    yield open_one
    for context in contexts:
        context.close()
    assert errors == [], f"the page threw: {errors}"


@pytest.fixture
def connect(web_server: RunningServer) -> Iterator[Callable[[], TestClient]]:
    """A raw chat/1 client over TCP: the terminal user beside the page."""
    clients: list[TestClient] = []

    def open_client() -> TestClient:
        client = TestClient(web_server.host, web_server.port)
        clients.append(client)
        return client

    yield open_client
    for client in clients:
        client.close()
