"""chat-client's login flow with scripted answers and a scripted server."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from concurrent.futures import Future
from typing import Any

import pytest

from cli.client import render as r
from cli.client.login import LoggedIn, ask_username, log_in


class ScriptedLink:
    def __init__(self, replies: list[dict[str, Any]]) -> None:
        self.replies = replies
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def request(self, op: str, **fields: Any) -> Future[dict[str, Any]]:
        self.sent.append((op, fields))
        future: Future[dict[str, Any]] = Future()
        future.set_result(self.replies.pop(0))
        return future

    def send_nowait(self, frame: dict[str, Any]) -> None:
        raise AssertionError("login sends no unanswered frames")

    def close(self) -> None:
        pass


class ScriptedUser:
    def __init__(self, answers: list[str]) -> None:
        self.answers = answers
        self.asked: list[tuple[str, bool]] = []

    def __call__(self, prompt: str, *, password: bool = False) -> Awaitable[str]:
        self.asked.append((prompt, password))

        async def answer() -> str:
            if not self.answers:
                raise EOFError
            return self.answers.pop(0)

        return answer()


def run_login(
    replies: list[dict[str, Any]], answers: list[str], signup: bool = False
) -> tuple[LoggedIn | None, ScriptedLink, ScriptedUser, list[str]]:
    link, user, lines = ScriptedLink(replies), ScriptedUser(answers), []

    def out(line: r.Line) -> None:
        lines.append(r.to_plain(line))

    result = asyncio.run(log_in(link, user, out, "alice", signup))
    return result, link, user, lines


BAD: dict[str, Any] = {"ok": False, "error": "bad_credentials", "attempts_left": 2, "text": "No."}


def test_login_first_time_with_a_hidden_password() -> None:
    result, link, user, lines = run_login([{"ok": True, "user": "alice", "pending": 3}], ["pw"])
    assert result == LoggedIn("alice", 3)
    assert link.sent == [("login", {"user": "alice", "password": "pw"})]
    assert user.asked == [("Password: ", True)]
    assert lines == []


def test_a_name_from_the_server_that_is_no_username_is_not_shown() -> None:
    """The name goes into the prompt: escape codes from the wire must not reach it."""
    result, _, _, _ = run_login([{"ok": True, "user": "\x1b[2Jmallory", "pending": 0}], ["pw"])
    assert result == LoggedIn("alice", 0)


def test_wrong_passwords_reprompt_until_locked() -> None:
    replies = [
        BAD,
        {**BAD, "attempts_left": 1},
        {"ok": False, "error": "locked", "retry_after": 60},
    ]
    result, link, _, lines = run_login(replies, ["a", "b", "c", "never asked"])
    assert result is None
    assert len(link.sent) == 3
    assert lines == [
        "Wrong username or password. 2 attempts left before the account locks.",
        "Wrong username or password. 1 attempt left before the account locks.",
        "alice is locked after too many wrong passwords. Try again in 60 seconds.",
    ]


def test_online_elsewhere_ends_the_attempt() -> None:
    result, _, _, lines = run_login([{"ok": False, "error": "online_elsewhere"}], ["pw"])
    assert result is None
    assert lines == ["alice is already logged in somewhere else. Log out there first."]


def test_signup_offered_once_and_register_logs_in() -> None:
    answers = ["pw", "y", "secret123", "nope", "secret123", "secret123"]
    result, link, user, lines = run_login([BAD, {"ok": True, "user": "alice"}], answers, True)
    assert result == LoggedIn("alice", 0)
    assert link.sent[-1] == ("register", {"user": "alice", "password": "secret123"})
    assert "The two passwords differ; try again." in lines
    assert lines[-1] == "Account alice created."
    assert [password for _, password in user.asked] == [True, True, True, True, True, True]


def test_signup_for_an_existing_name_says_the_password_was_wrong() -> None:
    replies = [BAD, {"ok": False, "error": "user_exists"}, {"ok": True, "pending": 0}]
    answers = ["pw", "yes", "pw2", "pw2", "right"]
    result, link, _, lines = run_login(replies, answers, True)
    assert result == LoggedIn("alice", 0)
    assert "alice already exists, so it was the password that was wrong." in lines
    assert [op for op, _ in link.sent] == ["login", "register", "login"]


def test_declining_signup_goes_back_to_the_password() -> None:
    replies = [BAD, {**BAD, "attempts_left": 1}, {"ok": True, "pending": 0}]
    result, link, user, _ = run_login(replies, ["pw", "n", "pw2", "pw3"], True)
    assert result == LoggedIn("alice", 0)
    assert [op for op, _ in link.sent] == ["login", "login", "login"]
    assert len(user.asked) == 4  # sign-up is offered once, not after every wrong password


def test_giving_up_raises_eof() -> None:
    with pytest.raises(EOFError):
        run_login([], [])


def test_username_prompt_rejects_bad_names() -> None:
    user, lines = ScriptedUser(["", "bad name!", "bob"]), []
    name = asyncio.run(ask_username(user, lambda line: lines.append(r.to_plain(line))))
    assert name == "bob"
    assert lines == ["A username is 1 to 32 letters, digits, _ . or -."]
