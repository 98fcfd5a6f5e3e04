"""Shared by the rooms' end-to-end tests: accounts that log in fast, and request helpers.

The accounts get one argon2id hash made with minimal cost (as scripts/bench does): the server
verifies with the parameters stored in the hash, so a login costs microseconds, not 64 MiB and
tens of milliseconds. These tests are about rooms; tests/e2e/test_login.py covers real hashes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from argon2 import PasswordHasher

from service.config import ServerConfig
from service.db import migrate_to_head
from service.store import Store
from service.timeutil import utc_now
from tests.conftest import PASSWORD, USERS
from tests.support.client import TestClient
from tests.support.server import RunningServer, start_server

Frame = dict[str, Any]
CHEAP_HASH = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(PASSWORD)


def cheap_users(db_url: str, names: Iterable[str]) -> None:
    """Accounts with PASSWORD and a cheap hash, straight into the database."""
    migrate_to_head(db_url)
    store = Store.open(db_url, group_commit=False)
    try:
        for name in names:
            store.create_user(name, CHEAP_HASH, utc_now())
    finally:
        store.close()


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
