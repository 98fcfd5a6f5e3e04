"""Staying signed in (chat/1 feature `tokens`), the login itself: `remember` gives a token, a
`login` with it logs in as a password would and renews it, and every token that is not a
live one of that user is `bad_credentials` that counts toward the address's limits but never
toward the account's lockout. One server for the module; each test has its own accounts and
source address (tests/support/tokens.py), on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from service.config import ServerConfig
from tests.support.client import Frame, TestClient
from tests.support.server import TEST_COST
from tests.support.tokens import (
    PASSWORD,
    SharedServer,
    module_database,
    parse_time,
    remember,
    server_time,
    shared_server,
    wait_for_server_time,
)

RFC3339_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
BURST = 8  # failed logins one address may make at once on this module's server


@pytest.fixture(scope="module")
def chat(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SharedServer]:
    with module_database(str(tmp_path_factory.mktemp("tokens"))) as db_url:
        config = ServerConfig(
            port=0, db_url=db_url, argon2=TEST_COST, allow_weak_hashing=True,
            allow_signup=True, block_duration_s=60, login_failure_burst=BURST,
            login_failures_per_minute=1, max_refused_logins=100,
        )  # fmt: skip
        with shared_server(config) as shared:
            yield shared


def token_login(client: TestClient, user: str, token: str, **fields: Any) -> Frame:
    return client.request("login", user=user, token=token, **fields)


def without_re(reply: Frame) -> Frame:
    return {key: value for key, value in reply.items() if key != "re"}


def test_hello_lists_tokens(chat: SharedServer) -> None:
    assert "tokens" in chat.connect().hello["features"]


def test_remember_gives_a_token_that_lives_thirty_days(chat: SharedServer) -> None:
    name = chat.user()
    client = chat.connect()
    now = server_time(client)
    reply = remember(client, name)
    token, expires = reply["token"], reply["token_expires"]
    assert isinstance(token, str) and len(token) >= 32  # 256 bits in base64url: 43
    assert RFC3339_Z.match(expires), expires
    assert timedelta(days=30) <= parse_time(expires) - now < timedelta(days=30, seconds=30)
    other = remember(chat.connect(), chat.user())
    assert other["token"] != token


def test_without_remember_there_is_no_token(chat: SharedServer) -> None:
    reply = chat.connect().request("login", user=chat.user(), password=PASSWORD)
    assert reply["ok"] and "token" not in reply and "token_expires" not in reply


def test_register_with_remember_gives_a_token_that_logs_in(chat: SharedServer) -> None:
    client = chat.connect()
    reply = client.request("register", user="newcomer", password=PASSWORD, remember=True)
    assert reply["ok"] and reply["user"] == "newcomer", reply
    assert client.request("logout")["ok"]
    again = token_login(chat.connect(), "newcomer", reply["token"])
    assert again["ok"] and again["user"] == "newcomer", again


def test_a_token_login_is_a_login_and_renews_the_same_token(chat: SharedServer) -> None:
    """Presence, the backlog, the rooms, sessions: as a password login; the same token, its
    expiry moved on."""
    alice, bob = chat.user(), chat.user()
    first = chat.connect()
    given = remember(first, alice)
    assert first.request("join", room="#tokens-a")["ok"]
    assert first.request("logout")["ok"]
    first.wait_closed()
    watcher = chat.connect()
    assert watcher.request("login", user=bob, password=PASSWORD)["ok"]
    assert watcher.request("message", to=alice, text="while you were away")["ok"]
    # the server's clock past the first login's millisecond: the expiry must move on
    wait_for_server_time(chat.connect(), parse_time(given["token_expires"]) - timedelta(days=30))

    client = chat.connect()
    reply = token_login(client, alice, given["token"])

    assert reply["ok"], reply
    assert (reply["user"], reply["pending"], reply["sessions"]) == (alice, 1, 1)
    assert reply["rooms"] == [{"room": "#tokens-a", "unread": 0}]
    assert reply["token"] == given["token"]
    assert parse_time(reply["token_expires"]) > parse_time(given["token_expires"])
    client.expect(ev="message", text="while you were away", stored=True)
    watcher.expect(ev="presence", user=alice, state="online")
    assert alice in watcher.request("whoelse")["users"]


def test_a_token_login_may_replace_the_oldest_session(chat: SharedServer) -> None:
    name = chat.user()
    first = chat.connect()
    token = remember(first, name)["token"]
    assert token_login(chat.connect(), name, token)["error"] == "online_elsewhere"
    second = chat.connect()
    assert token_login(second, name, token, replace=True)["ok"]
    bye = first.wait_closed()[-1]
    assert (bye["ev"], bye["reason"]) == ("bye", "replaced")


def test_refused_tokens_are_bad_credentials_and_leave_the_lockout_count(
    chat: SharedServer,
) -> None:
    """Unknown, another user's, revoked: each `bad_credentials` with the unchanged count of
    wrong passwords; after them the right password still logs in."""
    alice, bob = chat.user(), chat.user()
    bobs = remember(chat.connect(), bob)["token"]
    forgotten_client = chat.connect()
    forgotten = remember(forgotten_client, alice)["token"]
    assert forgotten_client.request("logout", forget=True)["ok"]
    client = chat.connect()
    assert client.request("login", user=alice, password="wrong")["attempts_left"] == 2
    for token in ("made-up", bobs, forgotten, "", "x" * 5_000):
        reply = token_login(client, alice, token)
        assert (reply["error"], reply["attempts_left"]) == ("bad_credentials", 2), reply
        assert "token" in reply["text"]
    assert client.request("login", user=alice, password=PASSWORD)["ok"]


def test_a_token_for_a_name_without_an_account_is_answered_like_one_with(
    chat: SharedServer,
) -> None:
    client = chat.connect()
    known = token_login(client, chat.user(), "made-up")
    unknown = token_login(client, "nobody-here", "made-up")
    assert without_re(unknown) == without_re(known)
    assert known["attempts_left"] == 3


def test_refused_tokens_count_toward_the_address_limit(chat: SharedServer) -> None:
    """Every refused token spends a failure of the address; a token login that works spends
    none."""
    name = chat.user()
    source = chat.source()
    token = chat.remembered(name, source)["token"]
    client = chat.connect(source)
    for _ in range(3):  # logins that work are free
        assert token_login(client, name, token)["ok"]
        assert client.request("logout")["ok"]
        client = chat.connect(source)
    for _ in range(BURST):
        assert token_login(client, name, "made-up")["error"] == "bad_credentials"
    refused = token_login(client, name, token)
    assert refused["error"] == "rate_limited" and refused["retry_after"] >= 1, refused
    assert chat.connect().request("login", user=name, token=token)["ok"]  # elsewhere: fine


def test_a_locked_account_stays_locked_for_its_tokens(chat: SharedServer) -> None:
    name = chat.user()
    token = chat.remembered(name)["token"]
    client = chat.connect()
    replies = [client.request("login", user=name, password="wrong") for _ in range(3)]
    assert replies[-1]["error"] == "locked"
    reply = token_login(client, name, token)
    assert reply["error"] == "locked" and 1 <= reply["retry_after"] <= 60, reply


def test_a_token_login_resets_the_count_of_wrong_passwords(chat: SharedServer) -> None:
    name = chat.user()
    first = chat.connect()
    token = remember(first, name)["token"]
    assert first.request("logout")["ok"]
    client = chat.connect()
    for left in (2, 1):
        assert client.request("login", user=name, password="wrong")["attempts_left"] == left
    assert token_login(client, name, token)["ok"]
    assert client.request("logout")["ok"]
    again = chat.connect().request("login", user=name, password="wrong")
    assert again["attempts_left"] == 2  # counted from zero again


@pytest.mark.parametrize(
    "fields",
    [
        {"password": PASSWORD, "token": "t"},
        {"token": 42},
        {"token": ["t"]},
        {},
        {"password": PASSWORD, "remember": "yes"},
        {"token": "t", "remember": 1},
    ],
    ids=["both", "int-token", "list-token", "neither", "string-remember", "int-remember"],
)
def test_bad_fields_are_bad_request(chat: SharedServer, fields: dict[str, Any]) -> None:
    name = chat.user()
    client = chat.connect()
    reply = client.request("login", user=name, **fields)
    assert reply["error"] == "bad_request" and reply["text"], reply
    assert client.request("login", user=name, password="wrong")["attempts_left"] == 2


def test_forget_must_be_a_boolean(chat: SharedServer) -> None:
    client = chat.connect()
    remember(client, chat.user())
    assert client.request("logout", forget="yes")["error"] == "bad_request"
    assert client.request("whoelse")["ok"]  # still logged in
    assert client.request("logout", forget=None)["ok"]  # null is absent, as for every field
