"""The real `chat-client` in a pseudo-terminal through its connection's life: a server that
restarts, a connection that drops, the login's refusals and waits, Ctrl-C.

As in test_client_terminal.py (whose fixtures these are): keystrokes in, the screen read,
conditions waited on, never sleeps.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pexpect
import pytest

from tests.conftest import PASSWORD
from tests.e2e import test_client_terminal as terminal
from tests.e2e.test_client_terminal import (
    Cutter,
    ScriptedServer,
    Spawn,
    exit_code,
    logged_in,
    type_line,
    typed_password,
)
from tests.support.client import TestClient
from tests.support.server import RunningServer, start_on

pytestmark = pytest.mark.sqlite_only  # the terminal is under test; any database will do
spawn_at, spawn = terminal.spawn_at, terminal.spawn  # the fixtures, shared


@pytest.fixture
def restart(server: RunningServer) -> Iterator[Callable[[], RunningServer]]:
    """`restart()`: stop the test's server gracefully (Ctrl-C and SIGTERM take this path)
    and start a new one on the same port and database, as after a certificate renewal."""
    started: list[RunningServer] = []

    def again() -> RunningServer:
        port = server.port
        server.stop()
        started.append(start_on(server.config, port))
        return started[-1]

    yield again
    for new in started:
        new.stop()


def test_a_server_restart_is_reconnected_on_its_own(
    spawn: Spawn, restart: Callable[[], RunningServer]
) -> None:
    alice = spawn("alice")
    alice.expect_exact("Nobody else is online.")
    type_line(alice, "message bob sent before the restart")
    alice.expect_exact("bob is offline; they get it at login")
    alice.send("message bob half")  # typed, not sent
    alice.expect_exact("message bob half")
    again = restart()
    alice.expect_exact("The server is shutting down")
    alice.expect_exact("Reconnecting… Ctrl-C stops.")  # says so, and asks nothing
    alice.expect_exact("Reconnected as alice.")  # the password it kept: no prompt
    alice.expect_exact("message bob half")  # the half-typed line is back in the prompt
    assert "Password:" not in alice.before and "[Y/n]" not in alice.before
    # The whole restart cost a few lines: the server's word, the reconnect, the return.
    assert len([row for row in alice.before.splitlines() if row.strip()]) <= 4, alice.before
    type_line(alice, " and the rest")
    alice.expect_exact("you → bob: half and the rest")

    bob = TestClient(again.host, again.port)
    try:
        assert bob.login("bob", PASSWORD)["pending"] == 2
        texts = [bob.expect(ev="message")["text"] for _ in range(2)]
        assert texts == ["sent before the restart", "half and the rest"]  # each once
    finally:
        bob.close()


def test_those_online_before_a_restart_coming_back_are_no_news(
    spawn: Spawn, login: Callable[[str], TestClient], restart: Callable[[], RunningServer]
) -> None:
    bob = login("bob")
    alice = spawn("alice")
    alice.expect_exact("Online now: bob")
    again = restart()
    alice.expect_exact("Reconnected as alice.")
    bob.wait_closed()
    back = TestClient(again.host, again.port)
    try:
        back.login("bob", PASSWORD)
        back.request("message", to="alice", text="back too")
        alice.expect_exact("bob: back too")  # after bob's presence, which was not shown
        assert "bob is online" not in alice.before, alice.before
        type_line(alice, "whoelse")
        alice.expect_exact("Online now: bob")
        back.request("logout")
        alice.expect_exact("* bob went offline")  # news again
    finally:
        back.close()


def test_ctrl_c_stops_the_reconnecting(spawn: Spawn, server: RunningServer) -> None:
    alice = spawn("alice")
    alice.expect_exact("Nobody else is online.")
    alice.send("message bob half")
    alice.expect_exact("message bob half")
    server.stop()  # and not started again
    alice.expect_exact("Reconnecting… Ctrl-C stops.")
    alice.send(" and more\r/msg carol while away\r")  # typed on meanwhile, not echoed
    alice.send("and a start")
    alice.sendintr()  # Ctrl-C at the terminal, which must not flush what was typed
    alice.expect_exact("Stopped reconnecting.")
    alice.expect_exact("You were typing, not sent: message bob half and more")
    alice.expect_exact("You were typing, not sent: /msg carol while away")
    alice.expect_exact("You were typing, not sent: and a start")
    assert exit_code(alice) == 130


def test_a_dropped_connection_is_reconnected_on_its_own(
    spawn: Spawn, server: RunningServer
) -> None:
    cutter = Cutter(server.host, server.port)
    try:
        alice = spawn("alice", port=cutter.port)
        alice.expect_exact("Nobody else is online.")
        cutter.cut()
        alice.expect_exact("Lost the connection to the server")
        alice.expect_exact("Reconnecting… Ctrl-C stops.")
        alice.expect_exact("Reconnected as alice.")
        type_line(alice, "whoelse")
        alice.expect_exact("Nobody else is online.")
    finally:
        cutter.close()


@pytest.mark.parametrize(
    ("reason", "words"),
    [
        ("kicked", "The server's operator ended your session"),
        ("replaced", "that session took this one's place"),
        ("account_deleted", "Your account has been deleted"),
    ],
)
def test_an_operators_end_is_said_and_not_reconnected(
    spawn_at: Callable[..., pexpect.spawn], reason: str, words: str
) -> None:
    """chat/1 precise point 17: no reconnect on its own after these."""
    scripted = ScriptedServer()
    try:
        alice = logged_in(scripted, spawn_at)
        scripted.send({"ev": "bye", "reason": reason, "text": "Bye."})
        scripted.close()
        alice.expect_exact(words)
        assert exit_code(alice) == 1
        assert "Reconnecting" not in alice.before and "[Y/n]" not in alice.before
    finally:
        scripted.close()


def test_ctrl_c_at_the_password_prompt_exits_130(spawn: Spawn) -> None:
    carol = spawn("carol", log_in=False)
    carol.expect_exact("Password:")
    carol.sendcontrol("c")
    carol.expect_exact("Login cancelled.")
    assert exit_code(carol) == 130
    assert "Traceback" not in carol.before


def test_a_rate_limited_login_waits_and_keys_typed_meanwhile_are_not_shown(
    spawn_at: Callable[..., pexpect.spawn],
) -> None:
    scripted = ScriptedServer()
    try:
        alice = typed_password(scripted, spawn_at)
        for _ in range(4):  # more than the three tries the client used to give up after
            request = scripted.take("login")
            scripted.send({"re": request["id"], "ok": False, "error": "rate_limited",
                           "retry_after": 1, "text": "Too many logins."})  # fmt: skip
            alice.expect_exact("trying again in 1 second. Ctrl-C stops.")
        alice.send("my password again\r")  # typed while it waits: not echoed, not kept
        scripted.answer("login", user="alice", pending=0)
        scripted.answer("whoelse", users=[])
        alice.expect_exact("alice>")
        type_line(alice, "whoelse")
        scripted.answer("whoelse", users=[])
        alice.expect_exact("Nobody else is online.")
        assert "my password" not in alice.before
    finally:
        scripted.close()


def test_typing_tells_the_server_the_user_is_there(
    spawn_at: Callable[..., pexpect.spawn],
) -> None:
    """chat/1 precise point 15: a long line being typed is activity the server cannot see.
    (`active` goes at most every 10 s; the idle warning, due 10.5 s after the last request
    with this 14 s timeout, marks the moment when one is due.)"""
    scripted = ScriptedServer()
    try:
        alice = typed_password(scripted, spawn_at)
        scripted.answer("login", user="alice", pending=0, idle_timeout=14)
        scripted.answer("whoelse", users=[])
        alice.expect_exact("the server logs you out in 4 seconds unless you send a command.",
                           timeout=20)  # fmt: skip
        alice.send("a long line in the mak")  # no Enter
        assert scripted.take("active") == {"op": "active"}  # no id: no reply wanted
    finally:
        scripted.close()


def test_a_message_unconfirmed_when_the_connection_dropped_is_resent_with_its_nonce(
    spawn_at: Callable[..., pexpect.spawn],
) -> None:
    """The reply was lost with the connection: after the reconnect it goes again, with the
    same nonce, so the server stores it once (chat/1 precise point 11)."""
    scripted = ScriptedServer()
    try:
        alice = typed_password(scripted, spawn_at)
        scripted.answer("login", user="alice", pending=0)
        scripted.answer("whoelse", users=[])
        type_line(alice, "message bob are you there?")
        first = scripted.take("message")  # and never answered: the connection drops
        scripted.drop()
        alice.expect_exact("Reconnecting… Ctrl-C stops.")
        scripted.accept()
        scripted.answer("login", user="alice", pending=0)
        again = scripted.answer("message", msg_id=7, delivered=True)
        assert again["nonce"] == first["nonce"] and again["text"] == "are you there?"
        alice.expect_exact("you → bob: are you there?")
    finally:
        scripted.close()


def test_a_password_changed_meanwhile_is_asked_and_ctrl_c_there_stops(
    spawn_at: Callable[..., pexpect.spawn],
) -> None:
    scripted = ScriptedServer()
    try:
        alice = logged_in(scripted, spawn_at)
        scripted.drop()
        alice.expect_exact("Reconnecting… Ctrl-C stops.")
        scripted.accept()
        request = scripted.take("login")
        scripted.send({"re": request["id"], "ok": False, "error": "bad_credentials",
                       "attempts_left": 2, "text": "No."})  # fmt: skip
        alice.expect_exact("Wrong username or password. 2 attempts left")
        alice.expect_exact("Password:")  # the kept one no longer works: asked, hidden
        alice.sendcontrol("c")
        alice.expect_exact("Stopped reconnecting.")
        assert exit_code(alice) == 130
        assert "Traceback" not in alice.before
    finally:
        scripted.close()
