"""One chat-server per database (issue 9, defect 3): a second server on the same database,
even on another port, refuses to start and changes nothing, so the first one's online users
stay online in the history."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from service.config import ServerConfig
from tests.e2e.test_end_reasons import history
from tests.support.client import TestClient
from tests.support.server import RunningServer, start_server

Login = Callable[..., TestClient]
ROOT = Path(__file__).resolve().parents[2]


def open_sessions(db_url: str) -> list[str]:
    return sorted(entry["user"] for entry in history(db_url) if entry["online"])


def test_a_second_server_on_the_same_database_refuses_and_changes_nothing(
    server: RunningServer, login: Login, tmp_path: Path
) -> None:
    alice, bob = login("alice"), login("bob")
    assert open_sessions(server.db_url) == ["alice", "bob"]

    second = subprocess.run(
        [sys.executable, "-m", "service.main", "--port", "0", "--db", server.db_url],
        cwd=tmp_path, capture_output=True, text=True, timeout=30,
    )  # fmt: skip

    assert second.returncode == 1
    assert second.stderr.startswith("Error: another chat-server is using the database")
    assert second.stderr.count("\n") == 1, second.stderr
    assert open_sessions(server.db_url) == ["alice", "bob"]  # not closed as left over
    assert alice.request("message", to="bob", text="still here")["ok"]
    assert bob.expect(ev="message")["text"] == "still here"


def test_the_database_is_free_again_once_the_server_stops(server_config: ServerConfig) -> None:
    first = start_server(server_config)
    first.stop()

    again = start_server(replace(server_config, port=0))  # would raise StartupError if held
    again.stop()
