"""Private chats with several sessions (chat/1 "Several sessions", precise point 16): asked on
every session that can take one, decided by the first answer, bound to the two sessions in it,
and `unsupported` when no session of the addressee can take one.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from service.config import ServerConfig
from tests.e2e.test_sessions import marker, settled
from tests.support.client import TestClient
from tests.support.server import TEST_COST, RunningServer

PORT = 40_123  # what the accepting client says it listens on; nothing connects in these tests


@pytest.fixture
def server_config(db_url: str) -> ServerConfig:
    return ServerConfig(
        port=0, db_url=db_url, argon2=TEST_COST, allow_weak_hashing=True,
        max_sessions_per_user=2,
    )  # fmt: skip


def test_the_first_answer_decides_and_the_chat_is_bound_to_its_two_sessions(
    connect: Callable[[], TestClient],
) -> None:
    alice1, alice2, carol = (
        settled(connect, "alice"),
        settled(connect, "alice"),
        settled(connect, "carol"),
    )
    request = carol.request("startprivate", user="alice")["request"]
    for alice in (alice1, alice2):
        assert alice.expect(ev="private_request", request=request)["from"] == "carol"
    assert alice2.request("private_answer", request=request, accept=True, port=PORT)["ok"]
    alice2.expect(ev="private_expect", request=request, user="carol")
    carol.expect(ev="private_ready", request=request, user="alice", port=PORT)
    assert alice1.expect(ev="private_cancelled", request=request) == {
        "ev": "private_cancelled", "request": request, "user": "carol",
        "reason": "answered_elsewhere",
    }  # fmt: skip
    late = alice1.request("private_answer", request=request, accept=True, port=PORT)
    assert late["error"] == "no_such_request"

    assert alice1.request("stopprivate", user="carol")["ok"]  # not in the chat: as if alice2
    alice2.expect(ev="private_stopped", user="carol", reason="stopped")
    carol.expect(ev="private_stopped", user="alice", reason="stopped")

    again = carol.request("startprivate", user="alice")["request"]
    assert alice1.request("private_answer", request=again, accept=True, port=PORT)["ok"]
    carol.expect(ev="private_ready", request=again)
    assert alice2.request("logout")["ok"]  # not in this chat: it goes on
    alice2.wait_closed()
    marker(alice1, carol, "carol", "still chatting")
    assert carol.events(ev="private_stopped") == []
    assert alice1.request("logout")["ok"]  # the session in it: the chat ends
    carol.expect(ev="private_stopped", user="alice", reason="logout")


def test_a_user_none_of_whose_sessions_can_take_a_private_chat_declines_it_unsupported(
    server: RunningServer, connect: Callable[[], TestClient]
) -> None:
    """A TCP session always can; this test makes alice's say it cannot, as a web page's
    session will (the server's own object, from the test: no hook in the server)."""
    alice, bob = settled(connect, "alice"), settled(connect, "bob")
    for connection in list(server.server._connections):  # the reactor's; only read here
        if connection.state.user == "alice":
            connection.state.can_private = False

    reply = bob.request("startprivate", user="alice")
    assert reply["ok"], reply
    assert bob.expect(ev="private_declined", request=reply["request"]) == {
        "ev": "private_declined", "request": reply["request"], "user": "alice",
        "reason": "unsupported",
    }  # fmt: skip
    marker(bob, alice, "alice", "marker")
    assert alice.events(ev="private_request") == []
    assert bob.request("startprivate", user="alice")["ok"]  # nothing was left pending

    other = settled(connect, "alice")  # a session that can: asked alone
    request = bob.request("startprivate", user="alice")["request"]
    other.expect(ev="private_request", request=request)
    marker(bob, alice, "alice", "marker 2")
    assert alice.events(ev="private_request") == []


def test_a_request_withdrawn_from_another_session_tells_the_one_that_asked(
    connect: Callable[[], TestClient],
) -> None:
    """docs/PROTOCOL.md's choice: the asking session must not wait for an answer that
    cannot come; the addressee hears `withdrawn` as from the asker itself."""
    carol1, carol2, alice = (
        settled(connect, "carol"),
        settled(connect, "carol"),
        settled(connect, "alice"),
    )
    request = carol1.request("startprivate", user="alice")["request"]
    alice.expect(ev="private_request", request=request)
    assert carol2.request("stopprivate", user="alice")["ok"]
    alice.expect(ev="private_cancelled", request=request, reason="withdrawn")
    carol1.expect(ev="private_declined", request=request, reason="cancelled")
    marker(alice, carol2, "carol", "marker")
    assert carol2.events(ev="private_declined") == []
