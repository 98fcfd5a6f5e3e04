"""Staying signed in (chat/1 feature `tokens`), how a token ends: `logout` with `forget`, an
operator's `passwd`, `kick` and `deluser` (through chat-admin, as an operator does), its
lifetime running out (`--token-days`), and a login that was refused after all. Also what is
kept of a token: its digest, never the token. On SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from cli.admin import app
from service.config import ServerConfig
from tests.support.client import Frame, TestClient
from tests.support.server import TEST_COST
from tests.support.tokens import (
    PASSWORD,
    SharedServer,
    module_database,
    parse_time,
    remember,
    shared_server,
    stored_tokens,
    wait_for_server_time,
)


def config(db_url: str, **options: object) -> ServerConfig:
    return ServerConfig(port=0, db_url=db_url, argon2=TEST_COST, allow_weak_hashing=True,
                        max_refused_logins=100, **options)  # type: ignore[arg-type]  # fmt: skip


@pytest.fixture(scope="module")
def chat(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SharedServer]:
    with (
        module_database(str(tmp_path_factory.mktemp("tokens_end"))) as db_url,
        shared_server(config(db_url)) as shared,
    ):
        yield shared


def admin(chat: SharedServer, *args: str, stdin: str | None = None) -> None:
    result = CliRunner().invoke(app, [*args, "--db", chat.db_url], input=stdin)
    assert result.exit_code == 0, result.output


def works(chat: SharedServer, user: str, token: str) -> bool:
    """Whether `token` logs `user` in now (then logged out again, the token kept)."""
    client = chat.connect()
    reply = client.request("login", user=user, token=token)
    if reply["ok"]:
        assert client.request("logout")["ok"]
        client.wait_closed()
        return True
    assert reply["error"] == "bad_credentials", reply
    return False


def bye_of(client: TestClient) -> Frame:
    frames = client.wait_closed()
    assert frames and frames[-1].get("ev") == "bye", frames
    return frames[-1]


def test_logout_with_forget_revokes_the_sessions_token_only(chat: SharedServer) -> None:
    name = chat.user()
    kept = chat.remembered(name)["token"]  # another device's
    client = chat.connect()
    forgotten = remember(client, name)["token"]
    assert client.request("logout", forget=True)["ok"]
    assert bye_of(client)["reason"] == "logout"
    assert not works(chat, name, forgotten)
    assert works(chat, name, kept)


def test_forget_revokes_the_token_a_session_logged_in_with(chat: SharedServer) -> None:
    name = chat.user()
    token = chat.remembered(name)["token"]
    client = chat.connect()
    assert client.request("login", user=name, token=token)["ok"]
    assert client.request("logout", forget=True)["ok"]
    assert not works(chat, name, token)


def test_logout_without_forget_keeps_the_token(chat: SharedServer) -> None:
    name = chat.user()
    client = chat.connect()
    token = remember(client, name)["token"]
    assert client.request("logout")["ok"]
    assert works(chat, name, token)
    plain = chat.connect()
    assert plain.request("login", user=name, password=PASSWORD)["ok"]
    assert plain.request("logout", forget=True)["ok"]  # a session without a token: nothing
    assert works(chat, name, token)


@pytest.mark.parametrize(
    "command", [("passwd", "--password-stdin"), ("kick",)], ids=["passwd", "kick"]
)
def test_passwd_and_kick_revoke_every_token_of_the_user(
    chat: SharedServer, command: tuple[str, ...]
) -> None:
    name, other = chat.user(), chat.user()
    online = chat.connect()
    tokens = [chat.remembered(name)["token"], remember(online, name)["token"]]
    others = chat.remembered(other)["token"]
    admin(chat, command[0], name, *command[1:], stdin="a brand new password\n")
    assert bye_of(online)["reason"] == "kicked"
    assert not any(works(chat, name, token) for token in tokens)
    assert stored_tokens(chat.db_url, name) == []
    assert works(chat, other, others)


def test_deluser_takes_the_tokens_with_the_account(chat: SharedServer) -> None:
    name = chat.user()
    token = chat.remembered(name)["token"]
    admin(chat, "deluser", name, "--yes")
    assert not works(chat, name, token)
    chat.user()  # the ids go on: a new account never inherits the old one's tokens
    assert stored_tokens(chat.db_url, name) == []


def test_a_remembered_login_refused_online_elsewhere_keeps_no_token(chat: SharedServer) -> None:
    name = chat.user()
    online = chat.connect()
    remember(online, name)
    again = chat.connect().request("login", user=name, password=PASSWORD, remember=True)
    assert again["error"] == "online_elsewhere" and "token" not in again
    assert len(stored_tokens(chat.db_url, name)) == 1  # the first login's only


def test_only_a_digest_of_the_token_is_stored(chat: SharedServer) -> None:
    name = chat.user()
    token = remember(chat.connect(), name)["token"]
    [row] = stored_tokens(chat.db_url, name)
    assert row["token_hash"] == hashlib.sha256(token.encode()).hexdigest()
    assert not any(token in str(value) for value in row.values())


TINY_DAYS = 0.00003  # 2.6 s: time for a login and a token login, then it runs out


@pytest.fixture
def short_lived(db_url: str) -> Iterator[SharedServer]:
    with shared_server(config(db_url, token_days=TINY_DAYS)) as shared:
        yield shared


def test_a_token_expires_after_token_days_unused_and_is_then_forgotten(
    short_lived: SharedServer,
) -> None:
    chat = short_lived
    name = chat.user()
    given = chat.remembered(name)
    client = chat.connect()
    renewed = client.request("login", user=name, token=given["token"])
    assert renewed["ok"], renewed  # in time, and renewed: runs out TINY_DAYS from now
    assert client.request("logout")["ok"]
    wait_for_server_time(chat.connect(), parse_time(renewed["token_expires"]))

    late = chat.connect().request("login", user=name, token=given["token"])

    assert (late["error"], late["attempts_left"]) == ("bad_credentials", 3), late
    assert len(stored_tokens(chat.db_url, name)) == 1  # expired, still there until...
    fresh = chat.remembered(name)  # ...the user's next remembered login
    assert [row["token_hash"] for row in stored_tokens(chat.db_url, name)] == [
        hashlib.sha256(fresh["token"].encode()).hexdigest()
    ]
