"""The real `chat-client` with several sessions of one user (chat/1 "Several sessions"): taking
over a session at the login, the other one told in words and not reconnected, and what one
session sends shown on the other. Keystrokes in, the screen read, conditions waited on.
"""

from __future__ import annotations

import pexpect
import pytest

from service.config import ServerConfig
from tests.conftest import PASSWORD
from tests.e2e import test_client_terminal as terminal
from tests.e2e.test_client_terminal import Spawn, exit_code, type_line
from tests.support.server import TEST_COST

pytestmark = pytest.mark.sqlite_only  # the terminal is under test; any database will do
spawn_at, spawn = terminal.spawn_at, terminal.spawn  # the fixtures, shared


def test_a_second_login_may_take_over_and_the_first_is_told_and_stays_out(
    spawn: Spawn,
) -> None:
    laptop = spawn("alice")
    phone = spawn("alice", log_in=False)
    phone.expect_exact("Password:")
    type_line(phone, PASSWORD)
    phone.expect_exact("alice is already logged in somewhere else.")
    phone.expect_exact("Take over the other session? [y/N]")
    type_line(phone, "y")
    phone.expect_exact("Took over: the other session has been logged out.")
    phone.expect_exact("Welcome, alice!")
    laptop.expect_exact("You logged in again elsewhere, and that session took this one's place")
    assert exit_code(laptop) == 1
    assert "Reconnecting" not in laptop.before
    type_line(phone, "whoelse")
    phone.expect_exact("Nobody else is online.")


def test_declining_to_take_over_ends_the_login(spawn: Spawn) -> None:
    spawn("alice")
    again = spawn("alice", log_in=False)
    again.expect_exact("Password:")
    type_line(again, PASSWORD)
    again.expect_exact("Take over the other session? [y/N]")
    type_line(again, "")
    assert exit_code(again) == 1


class TestTwoSessions:
    """With a server that lets a user have two sessions."""

    @pytest.fixture
    def server_config(self, db_url: str) -> ServerConfig:
        return ServerConfig(
            port=0, db_url=db_url, argon2=TEST_COST, allow_weak_hashing=True,
            max_sessions_per_user=2,
        )  # fmt: skip

    def test_what_one_session_sends_shows_on_the_other_as_ours(self, spawn: Spawn) -> None:
        laptop, phone, bob = spawn("alice"), spawn("alice"), spawn("bob")
        type_line(phone, "message bob from the phone")
        phone.expect_exact("you → bob: from the phone")
        laptop.expect_exact("you → bob: from the phone")
        bob.expect_exact("alice: from the phone")
        type_line(bob, "message alice back to both")
        for alice in (laptop, phone):
            alice.expect_exact("bob: back to both")
        for child in (laptop, phone, bob):
            type_line(child, "logout")
            child.expect(pexpect.EOF)
