"""Rooms as a resource to exhaust (issue 17, point 11): a user creates at most
`room_creations_per_hour` rooms an hour; past it, `join` of a new name is `rate_limited` with
`retry_after` (whole seconds, rounded up, at least 1, chat/1 precise point 2). Joining a room
that exists is never limited, other users are not, and the count survives a restart (it is
read from the rooms' creator and creation time in the database).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace

import pytest

from service.config import ServerConfig
from tests.conftest import PASSWORD
from tests.support.client import TestClient
from tests.support.rooms import cheap_server, join, refused
from tests.support.server import RunningServer, restarted

LIMIT = 3


@pytest.fixture
def server(server_config: ServerConfig) -> Iterator[RunningServer]:
    with cheap_server(replace(server_config, room_creations_per_hour=LIMIT)) as running:
        yield running


def churn(client: TestClient, rooms: list[str]) -> None:
    """Join-and-leave: each join makes a room, each leave keeps it."""
    for room in rooms:
        assert join(client, room)["created"] is True
        assert client.request("leave", room=room)["ok"] is True


def test_past_the_limit_a_new_room_is_rate_limited_but_joining_is_not(
    login: Callable[[str], TestClient],
) -> None:
    alice, bob = login("alice"), login("bob")
    churn(alice, ["#a", "#b", "#c"])

    reply = alice.request("join", room="#d")

    refused(reply, "rate_limited")
    assert isinstance(reply["retry_after"], int) and 3590 <= reply["retry_after"] <= 3600, reply
    assert "3 rooms" in reply["text"] and "Try again in 60 minutes;" in reply["text"], reply
    assert join(alice, "#a")["created"] is False  # a room that exists: never limited
    assert join(bob, "#d")["created"] is True  # the limit is per user
    assert join(alice, "#d")["created"] is False
    assert [r["room"] for r in alice.request("rooms")["rooms"] if r["joined"]] == ["#a", "#d"]


def test_the_count_survives_a_restart(
    server: RunningServer, login: Callable[[str], TestClient]
) -> None:
    churn(login("alice"), ["#a", "#b", "#c"])

    with restarted(server) as connect_again:
        alice = connect_again()
        alice.login("alice", PASSWORD)
        refused(alice.request("join", room="#d"), "rate_limited")
