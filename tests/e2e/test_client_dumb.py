"""The real `chat-client` on a dumb terminal (TERM=dumb, as in Emacs's shell), where
prompt_toolkit gives up drawing and only echoes the keys typed: the prompt must still end
when the session does, so that a restart is reconnected on its own, and a line half typed
when it ended must be seen at the next prompt, not carried on unseen.

As in test_client_terminal.py (whose fixtures these are): keystrokes in, the screen read,
conditions waited on, never sleeps.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from service.config import ServerConfig
from tests.conftest import PASSWORD
from tests.e2e import test_client_terminal as terminal
from tests.e2e.test_client_terminal import Spawn, type_line
from tests.support.client import TestClient
from tests.support.server import RunningServer, start_on

pytestmark = pytest.mark.sqlite_only  # the terminal is under test; any database will do
spawn_at, spawn = terminal.spawn_at, terminal.spawn  # the fixtures, shared


@pytest.fixture
def start_again(server: RunningServer) -> Iterator[Callable[[], RunningServer]]:
    """`start_again()`: a new server on the (stopped) test server's port and database, as
    after a restart that took a while."""
    started: list[RunningServer] = []
    port = server.port  # a stopped server no longer knows it

    def again() -> RunningServer:
        started.append(start_on(server.config, port))
        return started[-1]

    yield again
    for new in started:
        new.stop()


def test_a_restart_is_reconnected_on_its_own_with_the_half_typed_line_shown(
    spawn: Spawn, server: RunningServer, start_again: Callable[[], RunningServer]
) -> None:
    alice = spawn("alice", term="dumb")
    alice.expect_exact("Nobody else is online.")
    alice.send("message bob hal")  # typed, not sent
    alice.expect_exact("message bob hal")
    server.stop()
    alice.expect_exact("The server is shutting down")
    alice.expect_exact("Reconnecting… Ctrl-C stops.")  # without a key pressed
    alice.send("f")  # typed on while it reconnects: goes on into the line
    again = start_again()
    alice.expect_exact("Reconnected as alice.")
    alice.expect_exact("alice> message bob hal")  # the line it goes on with, shown
    type_line(alice, " and the rest")
    alice.expect_exact("you → bob: half and the rest")

    bob = TestClient(again.host, again.port)
    try:
        assert bob.login("bob", PASSWORD)["pending"] == 1
        assert bob.expect(ev="message")["text"] == "half and the rest"
    finally:
        bob.close()


def test_a_line_typed_while_reconnecting_runs_after_it_alone(
    spawn: Spawn, server: RunningServer, start_again: Callable[[], RunningServer]
) -> None:
    alice = spawn("alice", term="dumb")
    alice.expect_exact("Nobody else is online.")
    server.stop()
    alice.expect_exact("Reconnecting… Ctrl-C stops.")
    type_line(alice, "whoelse")  # Enter pressed while no prompt is up
    start_again()
    alice.expect_exact("Reconnected as alice.")
    alice.expect_exact("Nobody else is online.")  # the whoelse, run once it was back
    type_line(alice, "whoelse")
    alice.expect_exact("Nobody else is online.")  # a line of its own, not glued to the last
    assert "Unknown command" not in alice.before, alice.before


class TestIdleLogout:
    """With a server that logs idle users out after IDLE_S."""

    IDLE_S = 2

    @pytest.fixture
    def server_config(self, db_url: str) -> ServerConfig:
        return ServerConfig(port=0, db_url=db_url, block_duration_s=60, timeout_s=self.IDLE_S)

    def test_the_half_typed_line_is_shown_at_each_prompt_it_goes_on_in(self, spawn: Spawn) -> None:
        alice = spawn("alice", term="dumb", to_prompt=False)
        alice.expect_exact("Nobody else is online.")
        alice.send("message bob hal")
        alice.expect_exact("message bob hal")
        alice.expect_exact("You were logged out for being idle too long.")
        alice.expect_exact("[logged out: Enter logs in again, Ctrl-C quits] message bob hal")
        type_line(alice, "f")  # typed on, then Enter: log in again with the line
        alice.expect_exact("Reconnected as alice.")
        alice.expect_exact("alice> message bob half")
        type_line(alice, " done")
        alice.expect_exact("you → bob: half done")
