"""chat/1 `register` against a real server with sign-up open (PROTOCOL.md, precise point 5)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from service.config import ServerConfig
from tests.conftest import PASSWORD
from tests.support.client import Frame, TestClient

NEW_PASSWORD = "a fine long password"
MIN_PASSWORD_CHARS = 8  # the server's default `weak_password` threshold

Login = Callable[..., TestClient]


@pytest.fixture
def server_config(db_url: str, request: pytest.FixtureRequest) -> ServerConfig:
    """Sign-up open unless a test asks otherwise with an indirect parameter."""
    options: dict[str, Any] = {"allow_signup": True, **getattr(request, "param", {})}
    return ServerConfig(port=0, db_url=db_url, block_duration_s=60, timeout_s=300, **options)


def refused(client: TestClient, user: str, password: str) -> Frame:
    reply = client.request("register", user=user, password=password)
    assert reply["ok"] is False, reply
    assert reply["text"], reply
    return reply


@pytest.mark.parametrize("server_config", [{"allow_signup": False}], indirect=True, ids=["closed"])
def test_register_with_signup_closed_is_refused(connect: Callable[[], TestClient]) -> None:
    client = connect()
    assert client.hello["signup"] is False
    assert refused(client, "dave", NEW_PASSWORD)["error"] == "signup_closed"
    # nothing was created: the name cannot log in
    assert client.request("login", user="dave", password=NEW_PASSWORD)["ok"] is False


def test_hello_announces_open_signup(connect: Callable[[], TestClient]) -> None:
    hello = connect().hello
    assert hello["proto"] == "chat/1" and hello["signup"] is True


def test_register_logs_the_new_user_in(login: Login, connect: Callable[[], TestClient]) -> None:
    bob = login("bob")
    dave = connect()
    reply = dave.request("register", user="dave", password=NEW_PASSWORD)
    assert (reply["ok"], reply["user"]) == (True, "dave")
    assert reply["idle_timeout"] == 300  # whole seconds, as in a login's reply
    presence = bob.expect(ev="presence", user="dave")
    assert presence["state"] == "online"
    assert dave.request("whoelse")["users"] == ["bob"]  # a logged-in request works
    assert "dave" in bob.request("whoelse")["users"]
    assert dave.request("register", user="erin", password=NEW_PASSWORD)["error"] == (
        "already_logged_in"
    )


def test_register_with_a_taken_name_is_refused(connect: Callable[[], TestClient]) -> None:
    client = connect()
    assert refused(client, "alice", NEW_PASSWORD)["error"] == "user_exists"
    # alice's own password still works: the account was not overwritten
    assert client.request("login", user="alice", password=PASSWORD)["ok"] is True


@pytest.mark.parametrize("name", ["", "bad name", "x" * 33, "ünïcode", "semi;colon", "a/b"])
def test_register_with_a_bad_username_is_refused(
    connect: Callable[[], TestClient], name: str
) -> None:
    assert refused(connect(), name, NEW_PASSWORD)["error"] == "bad_username"


def test_usernames_at_the_limits_are_accepted(connect: Callable[[], TestClient]) -> None:
    for name in ("x" * 32, "A.b-c_9"):
        client = connect()
        assert client.request("register", user=name, password=NEW_PASSWORD)["ok"] is True


def test_register_with_a_short_password_is_refused(connect: Callable[[], TestClient]) -> None:
    client = connect()
    short = "s" * (MIN_PASSWORD_CHARS - 1)
    assert refused(client, "dave", short)["error"] == "weak_password"
    ok = client.request("register", user="dave", password="s" * MIN_PASSWORD_CHARS)
    assert ok["ok"] is True  # the account did not exist yet: the refusal created nothing


def test_registered_user_can_log_in_later(connect: Callable[[], TestClient]) -> None:
    first = connect()
    assert first.request("register", user="dave", password=NEW_PASSWORD)["ok"] is True
    assert first.request("logout")["ok"] is True
    first.wait_closed()

    later = connect()
    wrong = later.request("login", user="dave", password="not the password")
    assert (wrong["ok"], wrong["error"]) == (False, "bad_credentials")
    reply = later.request("login", user="dave", password=NEW_PASSWORD)
    assert (reply["ok"], reply["user"], reply["pending"]) == (True, "dave", 0)
