"""chat-client's login flow with scripted answers and a scripted server."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from concurrent.futures import Future
from typing import Any

import pytest

from cli.client import render as r
from cli.client.login import LoggedIn, LoginNotYet, LoginRefused, ask_username, log_in, log_in_again
from cli.client.rooms import RoomUnread


class ScriptedLink:
    def __init__(self, replies: Sequence[dict[str, Any] | Exception]) -> None:
        self.replies = list(replies)
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def request(self, op: str, **fields: Any) -> Future[dict[str, Any]]:
        self.sent.append((op, fields))
        future: Future[dict[str, Any]] = Future()
        reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            future.set_exception(reply)
        else:
            future.set_result(reply)
        return future

    def send_nowait(self, frame: dict[str, Any]) -> None:
        raise AssertionError("login sends no unanswered frames")

    def close(self) -> None:
        pass


class ScriptedServer:
    """The Connection: notes when the login first connected."""

    def __init__(self, link: ScriptedLink, user: ScriptedUser, signup: bool = False) -> None:
        self._link, self._user, self.signup = link, user, signup
        self.connected_after: list[int] = []  # how many prompts had been answered then

    async def link(self) -> ScriptedLink:
        if not self.connected_after:
            self.connected_after.append(len(self._user.asked))
        return self._link


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
    replies: Sequence[dict[str, Any] | Exception], answers: list[str], signup: bool = False
) -> tuple[LoggedIn | None, ScriptedLink, ScriptedUser, list[str]]:
    result, link, user, lines, _ = run_login_on(replies, answers, signup)
    return result, link, user, lines


def run_login_as(
    name: str,
    replies: Sequence[dict[str, Any] | Exception],
    answers: list[str],
    signup: bool = False,
) -> tuple[LoggedIn | None, ScriptedLink, ScriptedUser, list[str]]:
    result, link, user, lines, _ = run_login_on(replies, answers, signup, name)
    return result, link, user, lines


def run_login_on(
    replies: Sequence[dict[str, Any] | Exception],
    answers: list[str],
    signup: bool = False,
    name: str = "alice",
) -> tuple[LoggedIn | None, ScriptedLink, ScriptedUser, list[str], ScriptedServer]:
    link, user, lines = ScriptedLink(replies), ScriptedUser(answers), []
    server = ScriptedServer(link, user, signup)

    def out(line: r.Line) -> None:
        lines.append(r.to_plain(line))

    result = asyncio.run(log_in(server, user, out, name))
    return result, link, user, lines, server


BAD: dict[str, Any] = {"ok": False, "error": "bad_credentials", "attempts_left": 2, "text": "No."}


def test_login_first_time_with_a_hidden_password() -> None:
    ok = {"ok": True, "user": "alice", "pending": 3, "idle_timeout": 300}
    result, link, user, lines = run_login([ok], ["pw"])
    assert result == LoggedIn("alice", 3, 300, "pw")
    assert "pw" not in repr(result)  # kept for a reconnect, never shown
    assert link.sent == [("login", {"user": "alice", "password": "pw"})]
    assert user.asked == [("Password: ", True)]
    assert lines == []


def test_the_login_reply_brings_our_rooms_and_their_unread_counts() -> None:
    rooms = [{"room": "#general", "unread": 12}, {"room": "#quiet", "unread": 0}]
    result, _, _, _ = run_login([{"ok": True, "pending": 0, "rooms": rooms}], ["pw"])
    assert result is not None
    assert result.rooms == (RoomUnread("#general", 12), RoomUnread("#quiet", 0))


@pytest.mark.parametrize("value", [None, "300", 0, -5, True, 12.5])
def test_an_idle_timeout_that_is_no_whole_number_is_unknown(value: object) -> None:
    result, _, _, _ = run_login([{"ok": True, "pending": 0, "idle_timeout": value}], ["pw"])
    assert result is not None and result.idle_timeout_s is None


def test_a_name_from_the_server_that_is_no_username_is_not_shown() -> None:
    """The name goes into the prompt: escape codes from the wire must not reach it."""
    result, _, _, _ = run_login([{"ok": True, "user": "\x1b[2Jmallory", "pending": 0}], ["pw"])
    assert result is not None and result.user == "alice"


def test_the_connection_opens_before_the_password_is_asked() -> None:
    """A server that cannot be reached is said before anyone types a password (and one that
    closed the connection during a slow prompt is reconnected: the test below)."""
    result, _, _, _, server = run_login_on([{"ok": True, "pending": 0}], ["pw"])
    assert result is not None
    assert server.connected_after == [0]  # before the first prompt


def test_an_unreachable_server_is_said_before_the_password_is_asked() -> None:
    class Unreachable(ScriptedServer):
        async def link(self) -> ScriptedLink:
            raise ConnectionError("Could not connect to nowhere port 1: Connection refused.")

    user = ScriptedUser(["pw"])
    with pytest.raises(ConnectionError):
        asyncio.run(log_in(Unreachable(ScriptedLink([]), user), user, lambda line: None, "alice"))
    assert user.asked == []


def test_a_connection_closed_under_the_login_is_opened_again_once() -> None:
    """The server's idle timeout also ends a connection that has not logged in; a request
    that met the closed connection was never carried out, so it goes again on a new one."""
    lost = ConnectionError("the connection to the server was lost")
    result, link, _, _, _ = run_login_on([lost, {"ok": True, "pending": 0}], ["pw"])
    assert result is not None
    assert [op for op, _ in link.sent] == ["login", "login"]


def test_an_empty_password_is_refused_without_spending_an_attempt() -> None:
    result, link, _, lines = run_login([{"ok": True, "pending": 0}], ["", "", "pw"])
    assert result is not None
    assert link.sent == [("login", {"user": "alice", "password": "pw"})]
    assert lines == ["The password is empty: type it, or press Ctrl-D to give up."] * 2


AGAIN = "Type the password again, or press Enter alone to change the username."


def test_wrong_passwords_reprompt_for_the_password_until_locked() -> None:
    """A refusal asks the password again first, hidden: a password retyped at the username
    prompt would be echoed."""
    replies = [
        BAD,
        {**BAD, "attempts_left": 1},
        {"ok": False, "error": "locked", "retry_after": 60},
    ]
    result, link, user, lines = run_login(replies, ["a", "b", "c", "never asked"])
    assert result is None
    assert [fields["password"] for _, fields in link.sent] == ["a", "b", "c"]
    assert lines == [
        "Wrong username or password. 2 attempts left before the account locks.",
        AGAIN,
        "Wrong username or password. 1 attempt left before the account locks.",
        AGAIN,
        "alice is locked after too many wrong passwords. Try again in 60 seconds.",
    ]
    assert user.asked == [("Password: ", True)] * 3


def test_a_mistyped_username_can_be_fixed_after_a_refusal() -> None:
    """Enter alone at the password asked again is the second thought: the name was wrong."""
    replies = [BAD, {"ok": True, "pending": 0}]
    result, link, user, _ = run_login(replies, ["pw", "", "alicia", "pw"])
    assert result is not None and result.user == "alicia"
    assert [fields["user"] for _, fields in link.sent] == ["alice", "alicia"]
    assert user.asked == [
        ("Password: ", True), ("Password: ", True), ("Username [alice]: ", False),
        ("Password: ", True),
    ]  # fmt: skip


ELSEWHERE = {"ok": False, "error": "online_elsewhere"}


def test_online_elsewhere_asks_to_take_over_and_no_ends_the_attempt() -> None:
    result, link, user, lines = run_login([ELSEWHERE], ["pw", "n"])
    assert result is None and len(link.sent) == 1
    assert user.asked[-1] == ("Take over the other session? [y/N] ", False)
    assert lines == ["alice is already logged in somewhere else."]


def test_taking_over_logs_in_with_replace() -> None:
    """chat/1 "Several sessions": the oldest session ends (`bye replaced`), this one goes on."""
    ok = {"ok": True, "user": "alice", "pending": 2, "sessions": 1}
    result, link, _, lines = run_login([ELSEWHERE, ok], ["pw", "y"])
    assert result is not None and (result.user, result.pending) == ("alice", 2)
    assert link.sent[-1] == ("login", {"user": "alice", "password": "pw", "replace": True})
    assert lines[-1] == "Took over: the other session has been logged out."


def test_a_take_over_the_server_refuses_says_why() -> None:
    refused = {"ok": False, "error": "bad_request", "text": "replace must be true or false."}
    result, _, _, lines = run_login([ELSEWHERE, refused], ["pw", "yes"])
    assert result is None and lines[-1] == "replace must be true or false."


def test_signup_offered_once_and_register_logs_in() -> None:
    answers = ["pw", "", "y", "secret123", "nope", "secret123", "secret123"]
    result, link, user, lines = run_login([BAD, {"ok": True, "user": "alice"}], answers, True)
    assert result == LoggedIn("alice", 0, None, "secret123")
    assert link.sent[-1] == ("register", {"user": "alice", "password": "secret123"})
    assert AGAIN[:-1] + " or to create the account alice." in lines
    assert "The two passwords differ; try again." in lines
    assert lines[-1] == "Account alice created."
    # The y/N answer is shown as typed: only passwords are hidden.
    assert user.asked[2] == ("Create a new account called alice? [y/N] ", False)
    assert [hidden for _, hidden in user.asked] == [True, True, False, True, True, True, True]


def test_a_new_password_too_short_is_refused_before_it_is_typed_twice() -> None:
    answers = ["pw", "", "y", "short", "secret123", "secret123"]
    result, link, user, lines = run_login([BAD, {"ok": True, "user": "alice"}], answers, True)
    assert result == LoggedIn("alice", 0, None, "secret123")
    assert "A password needs at least 8 characters; choose a longer one." in lines
    assert [prompt for prompt, _ in user.asked][3:] == [
        "Choose a password: ", "Choose a password: ", "Type it again: "
    ]  # fmt: skip
    assert [op for op, _ in link.sent] == ["login", "register"]


def test_signup_for_an_existing_name_says_the_password_was_wrong() -> None:
    replies = [BAD, {"ok": False, "error": "user_exists"}, {"ok": True, "pending": 0}]
    answers = ["pw", "", "yes", "password2", "password2", "", "right"]
    result, link, _, lines = run_login(replies, answers, True)
    assert result == LoggedIn("alice", 0, None, "right")
    assert (
        "The name alice is taken. If it is your account, check the password and the name's "
        "capitals." in lines
    )
    assert [op for op, _ in link.sent] == ["login", "register", "login"]


def test_signup_for_a_name_taken_in_other_capitals_does_not_claim_it_exists() -> None:
    """chat/1 precise point 14: `Alice` is refused because `alice` exists; the user must not
    read that an account `Alice` exists (the server's sentence names the holder)."""
    text = "The name Alice is taken: alice exists, and names must differ by more than case."
    replies = [BAD, {"ok": False, "error": "user_exists", "text": text}, {"ok": True}]
    answers = ["pw", "", "y", "password2", "password2", "alice", "pw"]  # fixes the name
    result, _, _, lines = run_login_as("Alice", replies, answers, True)
    assert result is not None and result.user == "alice"
    assert lines[-1] == f"{text} If it is your account, check the password and the name's capitals."
    assert not any("Alice already exists" in line for line in lines)


def test_signup_is_offered_again_for_another_name() -> None:
    """A mistyped first name must not use up the offer for the name the user meant."""
    created = {"ok": True, "user": "frank"}
    answers = ["pw", "", "n", "frank", "pw", "", "y", "secret123", "secret123"]
    result, link, user, _ = run_login_as("frnak", [BAD, BAD, created], answers, True)
    assert result == LoggedIn("frank", 0, None, "secret123")
    assert [op for op, _ in link.sent] == ["login", "login", "register"]
    offers = [prompt for prompt, _ in user.asked if prompt.startswith("Create")]
    assert offers == [
        "Create a new account called frnak? [y/N] ",
        "Create a new account called frank? [y/N] ",
    ]


def test_declining_signup_goes_back_to_the_login() -> None:
    replies = [BAD, {**BAD, "attempts_left": 1}, {"ok": True, "pending": 0}]
    answers = ["pw", "", "n", "", "pw2", "", "", "pw3"]
    result, link, user, lines = run_login(replies, answers, True)
    assert result is not None
    assert [op for op, _ in link.sent] == ["login", "login", "login"]
    # sign-up is offered once, not after every wrong password
    assert [prompt for prompt, _ in user.asked] == [
        "Password: ", "Password: ", "Create a new account called alice? [y/N] ",
        "Username [alice]: ", "Password: ", "Password: ", "Username [alice]: ", "Password: ",
    ]  # fmt: skip
    assert lines.count(AGAIN) == 1  # the second time, no offer is made


def test_giving_up_raises_eof() -> None:
    with pytest.raises(EOFError):
        run_login([], [])


def test_username_prompt_rejects_bad_names() -> None:
    user, lines = ScriptedUser(["", "bad name!", "bob"]), []
    name = asyncio.run(ask_username(user, lambda line: lines.append(r.to_plain(line))))
    assert name == "bob"
    assert lines == ["A username is 1 to 32 letters, digits, _ . or -."]


def test_logging_in_again_after_a_reconnect_asks_nothing() -> None:
    before = LoggedIn("alice", 0, 300, "pw")
    link, user = ScriptedLink([{"ok": True, "pending": 2}]), ScriptedUser([])
    lines: list[r.Line] = []
    again = asyncio.run(log_in_again(ScriptedServer(link, user), user, lines.append, before))
    assert again == LoggedIn("alice", 2, None, "pw")
    assert link.sent == [("login", {"user": "alice", "password": "pw"})] and user.asked == []


def test_logging_in_again_while_the_server_still_has_us_is_tried_again_later() -> None:
    """The server may not have seen the old connection end yet: None, another attempt."""
    before = LoggedIn("alice", 0, 300, "pw")
    link, user = ScriptedLink([{"ok": False, "error": "online_elsewhere"}]), ScriptedUser([])
    lines: list[r.Line] = []
    with pytest.raises(LoginNotYet, match="already logged in somewhere else"):
        asyncio.run(log_in_again(ScriptedServer(link, user), user, lines.append, before))
    assert lines == [] and user.asked == []  # the reconnect says why if it lasts


def test_logging_in_again_while_the_servers_writes_fail_is_tried_again_later() -> None:
    """Writes that fail for a moment (`internal`) recover by themselves (issue 17 item 10)."""
    before = LoggedIn("alice", 0, 300, "pw")
    link = ScriptedLink([{"ok": False, "error": "internal", "text": "Try again."}])
    user, lines = ScriptedUser([]), list[r.Line]()
    with pytest.raises(LoginNotYet):
        asyncio.run(log_in_again(ScriptedServer(link, user), user, lines.append, before))
    assert lines == [] and user.asked == []


def test_a_password_changed_meanwhile_is_asked_without_the_newcomers_hint() -> None:
    """The account exists: Enter alone at that prompt must not offer to create it."""
    before = LoggedIn("alice", 0, 300, "old password")
    link = ScriptedLink([BAD, {"ok": True, "pending": 0}])
    user, lines = ScriptedUser(["new password"]), list[str]()
    server = ScriptedServer(link, user, signup=True)
    again = asyncio.run(log_in_again(server, user, lambda line: lines.append(r.to_plain(line)),
                                     before))  # fmt: skip
    assert again.password == "new password"
    assert not any("No account yet" in line for line in lines), lines


def test_logging_in_again_with_a_changed_password_asks_for_it() -> None:
    before = LoggedIn("alice", 0, 300, "old password")
    link = ScriptedLink([BAD, {"ok": True, "pending": 0}])
    user, lines = ScriptedUser(["new password"]), list[r.Line]()
    again = asyncio.run(log_in_again(ScriptedServer(link, user), user, lines.append, before))
    assert again == LoggedIn("alice", 0, None, "new password")
    assert user.asked == [("Password: ", True)]


def test_logging_in_again_refused_for_good_says_why_and_raises() -> None:
    before = LoggedIn("alice", 0, 300, "pw")
    link, user = (
        ScriptedLink([{"ok": False, "error": "locked", "retry_after": 60}]),
        ScriptedUser([]),
    )
    lines: list[str] = []
    with pytest.raises(LoginRefused):
        asyncio.run(log_in_again(ScriptedServer(link, user), user,
                                 lambda line: lines.append(r.to_plain(line)), before))  # fmt: skip
    assert lines == ["alice is locked after too many wrong passwords. Try again in 60 seconds."]


RATE_LIMITED: dict[str, Any] = {
    "ok": False, "error": "rate_limited", "retry_after": 2, "text": "Too many logins.",
}  # fmt: skip


def test_a_rate_limited_login_is_sent_again_after_the_wait_the_server_names() -> None:
    ok = {"ok": True, "user": "alice", "pending": 0}
    link, user, lines = ScriptedLink([RATE_LIMITED, RATE_LIMITED, ok]), ScriptedUser(["pw"]), []
    waited: list[float] = []

    async def wait(seconds: float) -> None:
        waited.append(seconds)

    server = ScriptedServer(link, user)
    result = asyncio.run(log_in(server, user, lambda line: lines.append(r.to_plain(line)),
                                "alice", wait))  # fmt: skip
    assert result is not None and result.user == "alice"
    # at least what the server names, and at most half as long again (the clients it sent
    # away at once must not all come back in the same second)
    assert all(2 <= w <= 3 for w in waited) and len(waited) == 2 and len(link.sent) == 3
    assert waited[0] != waited[1]
    assert user.asked == [("Password: ", True)]  # the password is not asked again
    assert (
        lines
        == [
            "The server is busy with logins from your address; trying again in 2 seconds. "
            "Ctrl-C stops."
        ]
        * 2
    )


def test_a_rate_limited_login_keeps_trying_as_long_as_the_server_says_so() -> None:
    """No give-up after a few tries: a class behind one address all log in at 9:00."""
    ok = {"ok": True, "user": "alice", "pending": 0}
    long_wait = {**RATE_LIMITED, "retry_after": 300}
    odd = {**RATE_LIMITED, "retry_after": "soon"}  # not chat/1: taken as 1 second
    link = ScriptedLink([RATE_LIMITED] * 10 + [long_wait, odd, ok])
    user, lines, waited = ScriptedUser(["pw"]), [], []

    async def wait(seconds: float) -> None:
        waited.append(seconds)

    server = ScriptedServer(link, user)
    result = asyncio.run(log_in(server, user, lambda line: lines.append(r.to_plain(line)),
                                "alice", wait))  # fmt: skip
    assert result is not None and len(link.sent) == 13
    named = [2] * 10 + [300, 1]  # each wait: at least that, at most half as long again
    assert all(n <= w <= 1.5 * n for w, n in zip(waited, named, strict=True)), waited
    assert "trying again in 5 minutes. Ctrl-C stops." in lines[-2]


def test_ctrl_c_during_a_rate_limit_wait_stops_the_login() -> None:
    link, user = ScriptedLink([RATE_LIMITED] * 3), ScriptedUser(["pw"])
    waits = 0

    async def wait(seconds: float) -> None:
        nonlocal waits
        waits += 1
        if waits == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        asyncio.run(log_in(ScriptedServer(link, user), user, lambda line: None, "alice", wait))
    assert len(link.sent) == 2


def test_where_sign_up_is_open_enter_alone_at_the_first_password_creates_the_account() -> None:
    """A newcomer is told the way in before spending a login attempt on a guess."""
    answers = ["", "y", "secret123", "secret123"]
    result, link, user, lines = run_login([{"ok": True, "user": "alice"}], answers, True)
    assert result == LoggedIn("alice", 0, None, "secret123")
    assert [op for op, _ in link.sent] == ["register"]  # no login attempt spent
    assert lines[0] == (
        "No account yet? Press Enter alone at the password prompt to create one as alice."
    )
    assert user.asked[:2] == [
        ("Password: ", True),
        ("Create a new account called alice? [y/N] ", False),
    ]


def test_without_sign_up_the_first_password_prompt_says_nothing_of_it() -> None:
    result, _, _, lines = run_login([{"ok": True, "user": "alice", "pending": 0}], ["pw"])
    assert result is not None and not any("No account yet" in line for line in lines)
