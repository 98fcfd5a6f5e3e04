"""How sessions end for the sessions feature: chat/1's one-login rule at the default of one
session per user (unchanged, and `replace`), and an operator's `kick`, `passwd` and `deluser`,
which the server learns from the database (chat/1 precise point 17: `bye kicked`,
`account_deleted`).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable

import pytest
from typer.testing import CliRunner

from cli.admin import app
from service.config import ServerConfig
from tests.conftest import PASSWORD
from tests.e2e.test_sessions import marker, settled
from tests.support.client import Frame, TestClient
from tests.support.server import TEST_COST, RunningServer


@pytest.fixture
def max_sessions() -> int:
    return 1  # a test parametrizes it


@pytest.fixture
def server_config(db_url: str, max_sessions: int) -> ServerConfig:
    return ServerConfig(
        port=0, db_url=db_url, argon2=TEST_COST, allow_weak_hashing=True,
        max_sessions_per_user=max_sessions,
    )  # fmt: skip


def admin(server: RunningServer, *args: str, stdin: str | None = None) -> str:
    result = CliRunner().invoke(app, [*args, "--db", server.db_url], input=stdin)
    assert result.exit_code == 0, result.output
    return result.stdout


def bye_of(client: TestClient) -> Frame:
    """The connection's last frame before the close, a `bye`."""
    frames = client.wait_closed()
    assert frames and frames[-1].get("ev") == "bye", frames
    return frames[-1]


def test_hello_lists_the_sessions_feature(connect: Callable[[], TestClient]) -> None:
    assert "sessions" in connect().hello["features"]


def test_one_session_per_user_by_default_as_chat1_says(
    connect: Callable[[], TestClient],
) -> None:
    first = settled(connect, "alice")
    assert first.login_reply["sessions"] == 1  # type: ignore[attr-defined]
    refused = connect().request("login", user="alice", password=PASSWORD)
    assert refused == {
        "re": 1, "ok": False, "error": "online_elsewhere",
        "text": "alice is already logged in elsewhere.",
    }  # fmt: skip
    assert first.request("ping")["ok"]


def test_replace_at_one_session_takes_its_place_without_presence(
    connect: Callable[[], TestClient],
) -> None:
    bob = settled(connect, "bob")
    old = settled(connect, "alice")
    bob.expect(ev="presence", user="alice", state="online")
    new = connect()
    reply = new.request("login", user="alice", password=PASSWORD, replace=True)
    assert reply["ok"] and reply["sessions"] == 1
    assert bye_of(old)["reason"] == "replaced"
    marker(new, bob, "bob", "marker")
    assert bob.events(ev="presence") == []
    assert bob.request("message", to="alice", text="live")["delivered"] is True
    new.expect(ev="message", text="live")


@pytest.mark.parametrize("max_sessions", [2])
def test_kick_ends_every_session_of_the_user_with_bye_kicked(
    server: RunningServer, connect: Callable[[], TestClient]
) -> None:
    bob = settled(connect, "bob")
    alice1, alice2 = settled(connect, "alice"), settled(connect, "alice")
    said = admin(server, "kick", "alice")
    assert said == "Asked the server to end alice's sessions; they end within seconds.\n"
    for alice in (alice1, alice2):
        bye = bye_of(alice)
        assert bye["reason"] == "kicked" and bye["text"]
    bob.expect(ev="presence", user="alice", state="offline")
    assert admin(server, "kick", "alice") == "alice is not online; no session to end.\n"
    again = settled(connect, "alice")  # a kick keeps nobody out
    assert again.request("ping")["ok"]


def test_passwd_ends_the_users_session_with_bye_kicked(
    server: RunningServer, connect: Callable[[], TestClient]
) -> None:
    alice = settled(connect, "alice")
    said = admin(server, "passwd", "alice", stdin="a new secret\na new secret\n")
    assert "open sessions end" in said
    assert bye_of(alice)["reason"] == "kicked"
    fresh = connect().request("login", user="alice", password="a new secret")
    assert fresh["ok"], fresh


@pytest.mark.parametrize("max_sessions", [2])
def test_deluser_ends_every_session_with_bye_account_deleted(
    server: RunningServer, connect: Callable[[], TestClient]
) -> None:
    alice1, alice2 = settled(connect, "alice"), settled(connect, "alice")
    admin(server, "deluser", "alice", "--yes")
    for alice in (alice1, alice2):
        assert bye_of(alice)["reason"] == "account_deleted"


class TestIdlePerSession:
    """Inactivity is judged per session (chat/1 "Several sessions")."""

    @pytest.fixture
    def server_config(self, db_url: str) -> ServerConfig:
        return ServerConfig(
            port=0, db_url=db_url, argon2=TEST_COST, allow_weak_hashing=True,
            max_sessions_per_user=2, timeout_s=1.5,
        )  # fmt: skip

    def test_an_idle_session_ends_while_a_busy_one_of_the_same_user_goes_on(
        self, connect: Callable[[], TestClient]
    ) -> None:
        bob = settled(connect, "bob")
        idle, busy = settled(connect, "alice"), settled(connect, "alice")
        bob.expect(ev="presence", user="alice", state="online")
        deadline, bye = time.monotonic() + 10, None
        while bye is None and time.monotonic() < deadline:  # the others stay active meanwhile
            assert busy.request("active")["ok"] and bob.request("active")["ok"]
            with contextlib.suppress(TimeoutError):  # a read with a deadline, not a sleep
                frame = idle.read_frame(timeout_s=0.2)
                if frame is not None and frame.get("ev") == "bye":
                    bye = frame
        assert bye is not None and bye["reason"] == "timeout"
        marker(busy, bob, "bob", "still here")
        assert bob.events(ev="presence") == []
