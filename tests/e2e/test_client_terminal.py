"""The real `chat-client` in a pseudo-terminal (pexpect) against a real server.

Each client is its own process, typing goes in as keystrokes, and the tests wait on what
appears on the screen, never on sleeps. NO_COLOR keeps the screen text plain;
PROMPT_TOOLKIT_NO_CPR stops prompt_toolkit asking the (fake) terminal for its cursor position.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pexpect
import pytest

from tests.conftest import PASSWORD
from tests.support.server import RunningServer

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.sqlite_only  # the terminal is under test; any database will do
SCREEN = (40, 120)  # rows, columns: fixed, so line wrapping never splits what we expect
WAIT_S = 10
Spawn = Callable[..., pexpect.spawn]


@pytest.fixture
def spawn(server: RunningServer) -> Iterator[Spawn]:
    """`spawn("alice")`: a chat-client logged in as alice, at its prompt."""
    children: list[pexpect.spawn] = []

    def start(user: str, *, log_in: bool = True, to_prompt: bool = True) -> pexpect.spawn:
        env = {**os.environ, "NO_COLOR": "1", "TERM": "xterm", "PROMPT_TOOLKIT_NO_CPR": "1"}
        argv = ["-m", "cli.client.app", server.host, str(server.port), "--user", user]
        child = pexpect.spawn(
            sys.executable, argv, cwd=str(ROOT), env=env, dimensions=SCREEN,
            encoding="utf-8", timeout=WAIT_S,
        )  # fmt: skip
        children.append(child)
        if log_in:
            child.expect_exact("Password:")
            type_line(child, PASSWORD)
            child.expect_exact(f"Welcome, {user}!")
        if log_in and to_prompt:
            child.expect_exact(f"{user}>")
        return child

    yield start
    for child in children:
        child.close(force=True)


def type_line(child: pexpect.spawn, text: str) -> None:
    """Type a line and press Enter (a carriage return, as a real terminal sends)."""
    child.send(text + "\r")


def exit_code(child: pexpect.spawn) -> int:
    child.expect(pexpect.EOF)
    child.wait()
    assert child.exitstatus is not None, f"killed by signal {child.signalstatus}"
    return int(child.exitstatus)


def open_private_chat(alice: pexpect.spawn, bob: pexpect.spawn) -> None:
    type_line(alice, "startprivate bob")
    alice.expect_exact("Asked bob for a private chat")
    bob.expect_exact("alice wants a private chat with you. Type y to accept or n to decline.")
    bob.expect_exact("alice asks for a private chat. Accept? [y/n]")
    type_line(bob, "y")
    bob.expect_exact("Private chat with alice is open.")
    alice.expect_exact("Private chat with bob is open.")


def test_two_users_exchange_messages(spawn: Spawn) -> None:
    alice, bob = spawn("alice"), spawn("bob")
    alice.expect_exact("* bob is online")
    type_line(alice, "message bob hello bob, how are you?")
    alice.expect_exact("you → bob: hello bob, how are you?")
    bob.expect_exact("alice: hello bob, how are you?")
    type_line(bob, "message alice fine, thanks")
    alice.expect_exact("bob: fine, thanks")
    type_line(bob, "whoelse")
    bob.expect_exact("Online now: alice")
    type_line(bob, "mesage alice typo")
    bob.expect_exact("Unknown command 'mesage'. Did you mean message?")
    type_line(bob, "logout")
    bob.expect_exact("Logged out. Bye!")
    assert exit_code(bob) == 0
    alice.expect_exact("* bob went offline")


def test_offline_message_arrives_at_login_once(spawn: Spawn) -> None:
    alice = spawn("alice")
    type_line(alice, "message bob see you tomorrow")
    alice.expect_exact("bob is offline; they get it at login")
    bob = spawn("bob", to_prompt=False)
    bob.expect_exact("1 message arrived while you were away:")
    bob.expect_exact("alice (while you were away): see you tomorrow")
    bob.sendcontrol("d")  # Ctrl-D on an empty line logs out
    bob.expect_exact("Logged out. Bye!")
    assert exit_code(bob) == 0
    again = spawn("bob", to_prompt=False)  # the message was acknowledged: it is not back
    again.expect_exact("Type help for the commands.")  # what the welcome says when none wait


def test_full_private_chat(spawn: Spawn) -> None:
    alice, bob = spawn("alice"), spawn("bob")
    open_private_chat(alice, bob)
    type_line(alice, "private bob first from alice")
    type_line(alice, "private bob second from alice")
    bob.expect_exact("alice (private): first from alice")
    bob.expect_exact("alice (private): second from alice")
    type_line(bob, "private alice first from bob")
    type_line(bob, "private alice second from bob")
    alice.expect_exact("bob (private): first from bob")
    alice.expect_exact("bob (private): second from bob")
    type_line(alice, "stopprivate bob")
    alice.expect_exact("You ended the private chat with bob.")
    bob.expect_exact("alice ended the private chat.")
    type_line(bob, "private alice anyone there?")
    bob.expect_exact("anyone there? — not sent: no private chat with alice is open")


def test_peer_logout_ends_the_private_chat(spawn: Spawn) -> None:
    alice, bob = spawn("alice"), spawn("bob")
    open_private_chat(alice, bob)
    type_line(bob, "logout")
    assert exit_code(bob) == 0
    alice.expect_exact("bob logged out; the private chat has ended.")
    type_line(alice, "private bob hello?")
    alice.expect_exact("hello? — not sent: no private chat with bob is open")


def test_peer_crash_ends_the_private_chat(spawn: Spawn) -> None:
    alice, bob = spawn("alice"), spawn("bob")
    open_private_chat(alice, bob)
    bob.kill(signal.SIGKILL)
    alice.expect_exact("The private chat with bob was cut off.")
    alice.expect_exact("* bob went offline")


def test_block_ends_the_private_chat_on_both_sides(spawn: Spawn) -> None:
    alice, bob = spawn("alice"), spawn("bob")
    open_private_chat(alice, bob)
    type_line(bob, "block alice")
    bob.expect_exact("The private chat with alice has ended (blocked).")
    alice.expect_exact("The private chat with bob has ended (blocked).")
    type_line(alice, "startprivate bob")
    alice.expect_exact("bob has blocked you.")  # a refusal shows the server's sentence


def test_typing_survives_an_arriving_message(spawn: Spawn) -> None:
    alice, bob = spawn("alice"), spawn("bob")
    alice.send("message bob half")  # no Enter yet
    type_line(bob, "broadcast interruption")
    alice.expect_exact("bob to everyone: interruption")
    type_line(alice, " and the rest")
    bob.expect_exact("alice: half and the rest")


def test_server_shutdown_exits_cleanly(server: RunningServer, spawn: Spawn) -> None:
    alice = spawn("alice")
    server.stop()
    alice.expect_exact("The server is shutting down")
    assert exit_code(alice) == 0


def test_wrong_password_then_lockout_is_explained(spawn: Spawn) -> None:
    carol = spawn("carol", log_in=False)
    carol.expect_exact("Password:")
    for left in ("2 attempts", "1 attempt"):
        type_line(carol, "not the password")
        carol.expect_exact(f"Wrong username or password. {left} left before the account locks.")
        carol.expect_exact("Username [carol]:")  # the name may have been the mistake
        type_line(carol, "")  # Enter keeps it
        carol.expect_exact("Password:")
    type_line(carol, "still wrong")
    carol.expect_exact("carol is locked after too many wrong passwords. Try again in 60 seconds.")
    assert exit_code(carol) == 1
