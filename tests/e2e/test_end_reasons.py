"""Why each session ended, as `chat-admin history` shows it (the active period's end reason).

Every way a session ends leaves its reason: the `bye` reason (`logout`, `timeout`,
`protocol_error`, `shutdown`; `slow_consumer` is checked in test_slow_consumer.py),
`disconnected` when the client went away, and `server_restart` for a period the server found
open when it started (left by a crash).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from typer.testing import CliRunner

from cli.admin import app
from service.config import ServerConfig
from service.store import Store
from service.wire.timeutil import utc_now
from tests.support.client import TestClient
from tests.support.server import RunningServer, start_server

Login = Callable[..., TestClient]
MAX_FRAME_BYTES = 65_536  # chat/1: one frame, newline included


@pytest.fixture
def timeout_s() -> float:
    return 300.0


@pytest.fixture
def server_config(db_url: str, timeout_s: float) -> ServerConfig:
    return ServerConfig(port=0, db_url=db_url, block_duration_s=60, timeout_s=timeout_s)


def history(db_url: str) -> list[dict[str, Any]]:
    """What an operator reads: `chat-admin history --json`."""
    result = CliRunner().invoke(app, ["history", "--json", "--db", db_url])
    assert result.exit_code == 0, result.output
    entries: list[dict[str, Any]] = json.loads(result.stdout)
    return entries


def end_reasons(db_url: str) -> list[tuple[str, str | None]]:
    return [(entry["user"], entry["end_reason"]) for entry in history(db_url)]


def test_each_end_of_a_session_is_recorded_with_its_reason(
    server: RunningServer, login: Login, connect: Callable[[], TestClient]
) -> None:
    watcher = login("carol")
    alice = login("alice")
    assert alice.request("logout")["ok"] is True
    alice.wait_closed()  # chat/1 point 9: the period is closed before the socket
    bob = login("bob")
    bob.close()
    watcher.expect(ev="presence", user="bob", state="offline")  # after his period closed
    rude = connect()
    rude.send_raw(b"x" * (MAX_FRAME_BYTES + 1))
    assert rude.wait_closed()[-1]["reason"] == "protocol_error"  # never logged in: no period
    alice = login("alice")
    alice.send_raw(b'{"op":"ping","pad":"' + b"x" * MAX_FRAME_BYTES + b'"}\n')
    assert alice.wait_closed()[-1]["reason"] == "protocol_error"

    assert [reason for _, reason in end_reasons(server.db_url)] == [
        None,  # carol: still online
        "logout",
        "disconnected",
        "protocol_error",
    ]
    assert [entry["online"] for entry in history(server.db_url)] == [True, False, False, False]

    server.stop()

    assert watcher.wait_closed()[-1]["reason"] == "shutdown"
    assert end_reasons(server.db_url)[0] == ("carol", "shutdown")


def test_a_period_left_open_by_a_crash_is_closed_as_server_restart(
    server: RunningServer,
) -> None:
    server.stop()
    store = Store.open(server.db_url, group_commit=False)  # as a crash would have left it:
    try:  # the row of a session that was open when the server died
        store.periods.start_period("alice", "10.0.0.7:50312", utc_now())
    finally:
        store.close()
    assert end_reasons(server.db_url) == [("alice", None)]

    again = start_server(server.config)
    again.stop()

    assert end_reasons(server.db_url) == [("alice", "server_restart")]


@pytest.mark.parametrize("timeout_s", [1.0])
def test_an_idle_timeout_is_recorded_as_timeout(server: RunningServer, login: Login) -> None:
    alice = login("alice")
    assert alice.wait_closed(timeout_s=5)[-1]["reason"] == "timeout"

    assert end_reasons(server.db_url) == [("alice", "timeout")]
