"""chat/1 login, lockout and logout against a real server (PROTOCOL.md "Lockout", points 4, 9)."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from typing import Any

import pytest

from service.config import ServerConfig
from tests.conftest import PASSWORD
from tests.support.client import Frame, TestClient
from tests.support.server import RunningServer, restarted

BLOCK_S = 60  # long enough that no lock in these tests runs out by itself
RFC3339_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")

Login = Callable[..., TestClient]


@pytest.fixture
def server_config(db_url: str, request: pytest.FixtureRequest) -> ServerConfig:
    """A 60 s lock unless a test asks for other options with an indirect parameter."""
    options: dict[str, Any] = {"block_duration_s": BLOCK_S, **getattr(request, "param", {})}
    return ServerConfig(port=0, db_url=db_url, timeout_s=300, **options)


def attempt(client: TestClient, user: str, password: str) -> Frame:
    reply = client.request("login", user=user, password=password)
    assert reply["ok"] is False, reply
    return reply


def without_re(reply: Frame) -> Frame:
    return {key: value for key, value in reply.items() if key != "re"}


# --- success and wrong passwords --------------------------------------------------------------


def test_login_replies_with_the_user_and_no_pending_messages(
    connect: Callable[[], TestClient],
) -> None:
    client = connect()
    reply = client.request("login", user="alice", password=PASSWORD)
    assert (reply["ok"], reply["user"], reply["pending"]) == (True, "alice", 0)


def test_login_reply_states_the_idle_timeout_in_whole_seconds(
    connect: Callable[[], TestClient], server: RunningServer
) -> None:
    """An extra field (chat/1 allows them): a client can warn its user before the timeout."""
    reply = connect().request("login", user="alice", password=PASSWORD)
    assert reply["idle_timeout"] == server.config.timeout_s == 300
    assert type(reply["idle_timeout"]) is int


def test_wrong_password_counts_down_attempts_left(connect: Callable[[], TestClient]) -> None:
    client = connect()
    first = attempt(client, "alice", "wrong one")
    second = attempt(client, "alice", "wrong two")
    assert (first["error"], first["attempts_left"]) == ("bad_credentials", 2)
    assert (second["error"], second["attempts_left"]) == ("bad_credentials", 1)
    assert first["text"] and second["text"]


def test_unknown_user_is_answered_exactly_like_a_wrong_password(
    connect: Callable[[], TestClient],
) -> None:
    client = connect()
    for _ in range(3):  # the 3rd of each is `locked`, with the same retry_after
        known = attempt(client, "alice", "wrong")
        unknown = attempt(client, "mallory", "wrong")
        assert without_re(unknown) == without_re(known)
    assert known["error"] == "locked"


def test_unknown_name_counts_its_case_variants_as_one_like_an_account(
    connect: Callable[[], TestClient],
) -> None:
    """`erin`, `Erin`, `ERIN` are one account (precise point 14), so the third is `locked`; a
    name without one must answer the same, or the 2nd reply tells whether it exists (point 4)."""
    client = connect()
    known = [without_re(attempt(client, name, "wrong")) for name in ("alice", "Alice", "ALICE")]
    unknown = [without_re(attempt(client, name, "wrong")) for name in ("gost", "Gost", "GOST")]
    assert [r["error"] for r in known] == ["bad_credentials", "bad_credentials", "locked"]
    assert unknown == known


def test_third_failure_locks_for_block_duration(connect: Callable[[], TestClient]) -> None:
    client = connect()
    attempt(client, "alice", "wrong")
    attempt(client, "alice", "wrong")
    third = attempt(client, "alice", "wrong")
    assert third["error"] == "locked"
    assert third["retry_after"] == BLOCK_S and isinstance(third["retry_after"], int)
    assert "attempts_left" not in third
    assert third["text"]


def test_locked_account_refuses_even_the_right_password(
    connect: Callable[[], TestClient],
) -> None:
    client = connect()
    for _ in range(3):
        attempt(client, "alice", "wrong")
    reply = attempt(client, "alice", PASSWORD)
    assert reply["error"] == "locked"
    assert 1 <= reply["retry_after"] <= BLOCK_S
    other = connect()  # the lock is the account's, not the connection's
    assert attempt(other, "alice", PASSWORD)["error"] == "locked"


def test_a_lock_leaves_other_accounts_alone(connect: Callable[[], TestClient]) -> None:
    client = connect()
    for _ in range(3):
        attempt(client, "alice", "wrong")
    assert client.request("login", user="bob", password=PASSWORD)["ok"] is True


# These poll with logins until the lock ends: more failed logins than one address may make
# by default before it is rate_limited (docs/OPERATING.md, "Security"), and more refused logins
# than one connection may make before it is closed, so those limits are lifted.
POLLING = {"block_duration_s": 1, "login_failure_burst": 1000, "max_refused_logins": 1000}


@pytest.mark.parametrize("server_config", [POLLING], indirect=True, ids=["1s"])
def test_lock_expires_after_block_duration(connect: Callable[[], TestClient]) -> None:
    client = connect()
    for _ in range(2):
        attempt(client, "alice", "wrong")
    locked = attempt(client, "alice", "wrong")
    assert (locked["error"], locked["retry_after"]) == ("locked", 1)
    assert attempt(client, "alice", PASSWORD)["error"] == "locked"
    deadline = time.monotonic() + 4
    while True:
        reply = client.request("login", user="alice", password=PASSWORD)
        if reply["ok"]:
            break
        assert reply["error"] == "locked", reply
        assert time.monotonic() < deadline, "the 1 s lock never expired"
        assert client.watch(0.05) == []
    assert reply["user"] == "alice"


@pytest.mark.parametrize("server_config", [POLLING], indirect=True, ids=["1s"])
def test_count_starts_again_after_a_lock_expires(connect: Callable[[], TestClient]) -> None:
    client = connect()
    for _ in range(3):
        attempt(client, "alice", "wrong")
    deadline = time.monotonic() + 4
    while (reply := attempt(client, "alice", "wrong"))["error"] == "locked":
        assert time.monotonic() < deadline, "the 1 s lock never expired"
        assert client.watch(0.05) == []
    assert (reply["error"], reply["attempts_left"]) == ("bad_credentials", 2)


def test_successful_login_resets_the_failure_count(connect: Callable[[], TestClient]) -> None:
    client = connect()
    attempt(client, "alice", "wrong")
    assert attempt(client, "alice", "wrong")["attempts_left"] == 1
    client.login("alice", PASSWORD)
    assert client.request("logout")["ok"] is True
    client.wait_closed()

    again = connect()
    first, second = attempt(again, "alice", "wrong"), attempt(again, "alice", "wrong")
    assert (first["error"], first["attempts_left"]) == ("bad_credentials", 2)
    assert (second["error"], second["attempts_left"]) == ("bad_credentials", 1)


def test_unknown_user_is_locked_on_the_third_attempt(connect: Callable[[], TestClient]) -> None:
    client = connect()
    replies = [attempt(client, "nobody", "whatever") for _ in range(4)]
    assert [r["error"] for r in replies] == ["bad_credentials"] * 2 + ["locked"] * 2
    assert [r.get("attempts_left") for r in replies[:2]] == [2, 1]
    assert replies[2]["retry_after"] == BLOCK_S


# --- the lock survives a restart --------------------------------------------------------------


def test_lock_survives_a_restart(server: RunningServer) -> None:
    client = TestClient(server.host, server.port)
    for _ in range(3):
        attempt(client, "alice", "wrong")
    client.close()

    with restarted(server) as connect_again:
        reply = attempt(connect_again(), "alice", PASSWORD)
        assert reply["error"] == "locked"
        assert 1 <= reply["retry_after"] <= BLOCK_S


def test_failure_count_survives_a_restart(server: RunningServer) -> None:
    client = TestClient(server.host, server.port)
    attempt(client, "alice", "wrong")
    attempt(client, "alice", "wrong")
    client.close()

    with restarted(server) as connect_again:
        assert attempt(connect_again(), "alice", "wrong")["error"] == "locked"


# --- one login per user, per connection --------------------------------------------------------


def test_second_login_elsewhere_is_refused(login: Login, connect: Callable[[], TestClient]) -> None:
    first = login("alice")
    reply = attempt(connect(), "alice", PASSWORD)
    assert reply["error"] == "online_elsewhere" and reply["text"]
    assert first.request("whoelse")["ok"] is True  # the first session is untouched


def test_second_login_on_the_same_connection_is_refused(login: Login) -> None:
    client = login("alice")
    assert attempt(client, "alice", PASSWORD)["error"] == "already_logged_in"
    assert attempt(client, "bob", PASSWORD)["error"] == "already_logged_in"


def test_logout_replies_then_says_bye_then_closes(
    login: Login, connect: Callable[[], TestClient]
) -> None:
    client = login("alice")
    reply = client.request("logout")
    assert reply["ok"] is True
    assert client.events(ev="bye") == []  # the reply came before the bye
    frames = client.wait_closed()
    assert [(f.get("ev"), f.get("reason")) for f in frames] == [("bye", "logout")]
    assert frames[0]["text"]
    # chat/1 precise point 9: offline before the close, so an immediate login is fine
    assert connect().request("login", user="alice", password=PASSWORD)["ok"] is True


def test_before_login_only_login_register_and_ping_are_served(
    connect: Callable[[], TestClient],
) -> None:
    client = connect()
    refused = client.request("whoelse")
    assert refused["ok"] is False and refused["error"] == "not_logged_in"
    pong = client.request("ping")
    assert pong["ok"] is True and RFC3339_Z.match(pong["time"])


def test_passwords_never_reach_the_log(
    caplog: pytest.LogCaptureFixture,
    make_user: Callable[[str, str], None],
    connect: Callable[[], TestClient],
) -> None:
    caplog.set_level(logging.INFO)
    right, wrong = "Quartz-Zebra-Right-9137", "Quartz-Zebra-Wrong-5521"
    make_user("dave", right)
    client = connect()
    attempt(client, "dave", wrong)
    attempt(client, "ghost", wrong)
    assert client.request("login", user="dave", password=right)["ok"] is True
    client.request("logout")
    client.wait_closed()
    locker = connect()
    for _ in range(3):
        attempt(locker, "alice", wrong)

    assert "login dave" in caplog.text
    assert "Quartz-Zebra" not in caplog.text


# --- guesses sent in parallel ------------------------------------------------------------------


# One address's logins past the burst of failures are refused before they are judged
# (docs/OPERATING.md, "Security"); this test is about the lockout, so that limit is lifted here.
@pytest.mark.parametrize("server_config", [{"login_failure_burst": 50}], indirect=True)
def test_parallel_guesses_get_no_more_tries_than_sequential_ones(
    connect: Callable[[], TestClient],
) -> None:
    """Guesses sent together are judged one after another: the right password arriving after
    twenty wrong ones is refused, as it would be after them one at a time."""
    guessers = [connect() for _ in range(20)]
    for index, client in enumerate(guessers):
        client.send({"op": "login", "id": index, "user": "alice", "password": f"guess {index}"})
    first = guessers[0].reply_to(0, timeout_s=30)  # one guess is judged: the others are queued
    right = connect().request("login", user="alice", password=PASSWORD)
    assert (right["ok"], right.get("error")) == (False, "locked"), right
    replies = [first] + [c.reply_to(index, timeout_s=30) for index, c in enumerate(guessers[1:], 1)]
    assert sorted(reply["error"] for reply in replies) == ["bad_credentials"] * 2 + ["locked"] * 18


def test_failed_logins_are_logged_with_name_address_and_refusal_but_no_password(
    caplog: pytest.LogCaptureFixture, connect: Callable[[], TestClient]
) -> None:
    """An operator watching for guessing sees who tried, from where, and what they got."""
    caplog.set_level(logging.INFO)
    wrong = "Quartz-Zebra-Wrong-5521"
    client = connect()
    host, port = client.sock.getsockname()[:2]
    for _ in range(4):
        attempt(client, "alice", wrong)
    attempt(client, "ghost", wrong)
    attempt(client, "bad\nname", wrong)

    failed = [r for r in caplog.records if r.getMessage().startswith("failed login")]
    lines = [re.sub(r"locked, retry after \d+ s", "locked, retry after N s", r.getMessage())
             for r in failed]  # fmt: skip
    found = re.search(r"failed login gh\.\.\.#([0-9a-f]{8}) ", lines[4])  # no such account
    assert found is not None, lines[4]
    ghost = found.group(1)
    assert lines == [
        f"failed login alice from {host}:{port}: bad_credentials, 2 attempts left",
        f"failed login alice from {host}:{port}: bad_credentials, 1 attempt left",
        f"failed login alice from {host}:{port}: locked now, retry after 60 s",
        f"failed login alice from {host}:{port}: locked, retry after N s",
        f"failed login gh...#{ghost} from {host}:{port}: bad_credentials, 2 attempts left"
        " (no such account)",
        f"failed login <not a username: 8 chars> from {host}:{port}: bad_credentials,"
        " 2 attempts left (no such account)",
    ]
    assert all(r.levelno == logging.WARNING for r in failed)
    assert "Quartz-Zebra" not in caplog.text
