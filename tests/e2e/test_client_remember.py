"""The real `chat-client` staying signed in (`--remember`, chat/1 "Staying signed in") in a
pseudo-terminal against a real server: the token kept in a private file, the next start and a
reconnect logging in with it, `forget`, and a token the server no longer takes or a file that
others can read, both answered with the password prompt.

As in test_client_terminal.py (whose fixtures these are): keystrokes in, the screen read,
conditions waited on, never sleeps. Each test's state directory is tmp_path/state.
"""

from __future__ import annotations

import stat
from collections.abc import Callable
from pathlib import Path

import pexpect
import pytest
from typer.testing import CliRunner

from cli.admin import app
from tests.conftest import PASSWORD
from tests.e2e import test_client_life as life
from tests.e2e import test_client_terminal as terminal
from tests.e2e.test_client_terminal import Spawn, exit_code, type_line
from tests.support.client import TestClient
from tests.support.server import RunningServer

pytestmark = pytest.mark.sqlite_only  # the terminal is under test; any database will do
spawn_at, spawn, restart = terminal.spawn_at, terminal.spawn, life.restart  # the fixtures


def remembered(spawn: Spawn, user: str = "alice") -> pexpect.spawn:
    """A client started with --remember, logged in with the password, at its prompt."""
    child = spawn(user, log_in=False, args=("--remember",))
    child.expect_exact("Password:")
    type_line(child, PASSWORD)
    child.expect_exact("This login is remembered here")
    child.expect_exact(f"{user}>")
    return child


def token_file(tmp_path: Path, server: RunningServer, user: str = "alice") -> Path:
    return tmp_path / "state" / "parley" / "tokens" / f"127.0.0.1_{server.port}_{user}"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def logged_out(child: pexpect.spawn) -> None:
    type_line(child, "logout")
    assert exit_code(child) == 0


def test_remember_keeps_a_private_token_the_next_start_logs_in_with_until_forget(
    spawn: Spawn, server: RunningServer, tmp_path: Path
) -> None:
    logged_out(remembered(spawn))
    path = token_file(tmp_path, server)
    assert (mode(path), mode(path.parent), mode(path.parent.parent)) == (0o600, 0o700, 0o700)
    token = path.read_text().strip()

    again = spawn("alice", log_in=False)  # no --remember: a kept login is used all the same
    again.expect_exact("Welcome, alice!")
    assert "Password" not in again.before and token not in again.before
    again.expect_exact("alice>")
    type_line(again, "forget")
    again.expect_exact("This login is no longer remembered")
    assert exit_code(again) == 0
    assert not path.exists()
    client = TestClient(server.host, server.port)
    try:  # revoked on the server too, not only deleted here
        assert client.request("login", user="alice", token=token)["error"] == "bad_credentials"
    finally:
        client.close()


def test_a_reconnect_logs_in_with_the_token(
    spawn: Spawn, restart: Callable[[], RunningServer]
) -> None:
    logged_out(remembered(spawn))
    alice = spawn("alice", log_in=False)  # logged in with the token: no password in memory
    alice.expect_exact("alice>")
    restart()
    alice.expect_exact("Reconnecting… Ctrl-C stops.")
    alice.expect_exact("Reconnected as alice.")
    assert "Password:" not in alice.before
    logged_out(alice)


def test_a_token_an_operator_revoked_is_forgotten_and_the_password_asked(
    spawn: Spawn, server: RunningServer, tmp_path: Path
) -> None:
    logged_out(remembered(spawn))
    result = CliRunner().invoke(app, ["kick", "alice", "--db", server.db_url])
    assert result.exit_code == 0, result.output
    again = spawn("alice", log_in=False)
    again.expect_exact("The remembered login no longer works")
    again.expect_exact("Password:")
    assert not token_file(tmp_path, server).exists()
    type_line(again, PASSWORD)
    again.expect_exact("alice>")
    logged_out(again)


def test_a_token_file_others_can_read_is_not_used(
    spawn: Spawn, server: RunningServer, tmp_path: Path
) -> None:
    logged_out(remembered(spawn))
    path = token_file(tmp_path, server)
    path.chmod(0o644)
    again = spawn("alice", log_in=False)
    again.expect(r"can\s+be\s+read\s+by\s+other\s+users\s+\(mode\s+0644\)")  # wrapped anywhere
    again.expect_exact("Password:")
    assert path.exists()  # the user's to delete, as the line says
    again.sendcontrol("c")
    assert exit_code(again) == 130
