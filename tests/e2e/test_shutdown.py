"""Graceful shutdown: SIGTERM to a real `chat-server` process (STYLE.md convention 8).

Every session gets `bye shutdown` before its socket closes, the process exits 0, and no active
period is left open in the database (whoelsesince would otherwise count ghosts as online).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import PASSWORD, USERS
from tests.support.client import Frame, TestClient
from tests.support.server import RunningServer, ServerProcess, create_users, spawn_server

PROJECT_ROOT = Path(__file__).resolve().parents[2]

Login = Callable[..., TestClient]


@pytest.fixture
def process(db_url: str) -> Iterator[ServerProcess]:
    create_users(db_url, {name: PASSWORD for name in USERS})
    running = spawn_server(db_url, PROJECT_ROOT)
    yield running
    if running.process.poll() is None:  # the test failed before it stopped the server
        running.kill()


def open_periods(db_url: str) -> tuple[int, int]:
    """(all active periods, those still open) straight from the database, not via the server."""
    engine = create_engine(db_url)
    try:
        with engine.connect() as db:
            total, still_open = db.execute(
                text("SELECT COUNT(*), COUNT(*) - COUNT(logout_at) FROM active_periods")
            ).one()
    finally:
        engine.dispose()
    return int(total), int(still_open)


def assert_ends_with_bye_shutdown(frames: list[Frame]) -> None:
    assert frames, "closed without a bye"
    assert (frames[-1].get("ev"), frames[-1].get("reason")) == ("bye", "shutdown"), frames
    assert frames[-1]["text"]


def test_sigterm_says_bye_to_everyone_and_exits_zero(process: ServerProcess, db_url: str) -> None:
    alice = TestClient(process.host, process.port)
    bob = TestClient(process.host, process.port)
    idle = TestClient(process.host, process.port)  # connected, never logged in
    try:
        alice.login("alice", PASSWORD)
        bob.login("bob", PASSWORD)
        alice.expect(ev="presence", user="bob", state="online")
        assert open_periods(db_url) == (2, 2)

        assert process.terminate() == 0
        for client in (alice, bob, idle):
            assert_ends_with_bye_shutdown(client.wait_closed(timeout_s=3))
    finally:
        for client in (alice, bob, idle):
            client.close()
    assert open_periods(db_url) == (2, 0)


def test_stop_says_bye_shutdown_to_in_process_sessions(server: RunningServer, login: Login) -> None:
    alice, bob = login("alice"), login("bob")
    server.stop()
    assert_ends_with_bye_shutdown(alice.wait_closed(timeout_s=3))
    assert_ends_with_bye_shutdown(bob.wait_closed(timeout_s=3))
    assert open_periods(server.db_url) == (2, 0)
