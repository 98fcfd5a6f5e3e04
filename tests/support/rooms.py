"""Shared by the rooms' end-to-end tests: accounts that log in fast, and request helpers.

The accounts get one argon2id hash made with minimal cost (as scripts/bench does): the server
verifies with the parameters stored in the hash, so a login costs microseconds, not 64 MiB and
tens of milliseconds. These tests are about rooms; tests/e2e/test_login.py covers real hashes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from service.config import ServerConfig
from tests.conftest import PASSWORD, USERS
from tests.support.client import TestClient
from tests.support.server import RunningServer, create_users, start_server

Frame = dict[str, Any]


def cheap_users(db_url: str, names: Iterable[str]) -> None:
    """Accounts with PASSWORD, straight into the database (cheap hashes, as every test's)."""
    create_users(db_url, dict.fromkeys(names, PASSWORD))


@contextmanager
def cheap_server(config: ServerConfig, names: Iterable[str] = USERS) -> Iterator[RunningServer]:
    """The `server` fixture's server, with accounts that log in fast."""
    cheap_users(config.db_url, names)
    running = start_server(config)
    try:
        yield running
    finally:
        running.stop()


def join(client: TestClient, room: str) -> Frame:
    reply = client.request("join", room=room)
    assert reply["ok"] is True, reply
    return reply


def say(client: TestClient, room: str, text: str, **fields: Any) -> Frame:
    reply = client.request("say", room=room, text=text, **fields)
    assert reply["ok"] is True, reply
    return reply


def refused(reply: Frame, code: str) -> None:
    assert reply["ok"] is False and reply["error"] == code, reply
    assert isinstance(reply["text"], str) and reply["text"], reply


def room_events(client: TestClient, **match: Any) -> list[Frame]:
    """The room events `client` got so far: a ping is answered after anything queued for
    `client` before it, so once its reply is in, those events have been read."""
    assert client.request("ping")["ok"]
    return [e for e in client.events(**match) if str(e.get("ev", "")).startswith("room_")]
