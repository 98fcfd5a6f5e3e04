"""Peer-to-peer brokering by the server: requests, answers, tokens, refusals and endings.

chat/1 "Peer-to-peer private messaging", precise points 1, 12, 13 and 16. Only the server's
side is tested here: the clients' direct connection is tested with the client.
"""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Callable
from typing import Any

import pytest

from service.config import ServerConfig
from tests.conftest import PASSWORD
from tests.support.client import TestClient
from tests.support.server import RunningServer

Frame = dict[str, Any]
RequestId = int | str  # the `request` of startprivate's reply: an id, its type not fixed
Login = Callable[[str], TestClient]

TOKEN = re.compile(r"[0-9a-fA-F]{32,}")  # precise point 12: at least 128 random bits, in hex
OTHER_LOOPBACK = "127.0.0.2"  # Linux routes all of 127/8 to lo: a second client address
LISTEN_PORT = 40_123  # what bob says he listens on; nothing connects to it in these tests


@pytest.fixture
def private_request_ttl_s() -> float:
    """How long a request may stay unanswered; a test parametrizes it to see expiry fast."""
    return 60.0


@pytest.fixture
def timeout_s() -> float:
    """The inactivity timeout; a test parametrizes it to see a timeout fast."""
    return 300.0


@pytest.fixture
def server_config(db_url: str, private_request_ttl_s: float, timeout_s: float) -> ServerConfig:
    return ServerConfig(
        port=0,
        db_url=db_url,
        block_duration_s=60,
        timeout_s=timeout_s,
        private_request_ttl_s=private_request_ttl_s,
    )


def ask(requester: TestClient, target: TestClient, target_name: str) -> RequestId:
    """`startprivate`; returns the request id once the target has the private_request."""
    reply = requester.request("startprivate", user=target_name)
    assert reply["ok"] is True, reply
    request_id: RequestId = reply["request"]
    assert isinstance(request_id, str | int) and not isinstance(request_id, bool), reply
    target.expect(ev="private_request", request=request_id)
    return request_id


def open_session(requester: TestClient, target: TestClient, target_name: str) -> str:
    """A private session from `requester` to `target`, accepted; returns its token."""
    request_id = ask(requester, target, target_name)
    answer = target.request("private_answer", request=request_id, accept=True, port=LISTEN_PORT)
    assert answer["ok"] is True, answer
    token: str = target.expect(ev="private_expect", request=request_id)["token"]
    requester.expect(ev="private_ready", request=request_id)
    return token


def error_of(reply: Frame) -> str:
    assert reply["ok"] is False and isinstance(reply["text"], str) and reply["text"], reply
    code: str = reply["error"]
    return code


# --- the request and its answers -------------------------------------------------------------


def test_startprivate_reaches_the_target_with_who_asks(login: Login) -> None:
    alice, bob = login("alice"), login("bob")

    reply = alice.request("startprivate", user="bob")

    assert reply["ok"] is True and "request" in reply, reply
    event = bob.expect(ev="private_request")
    assert event["request"] == reply["request"] and event["from"] == "alice"


def test_accept_sends_expect_to_the_target_and_ready_to_the_requester(login: Login) -> None:
    alice, bob = login("alice"), login("bob")
    request_id = ask(alice, bob, "bob")

    answer = bob.request("private_answer", request=request_id, accept=True, port=LISTEN_PORT)

    assert answer["ok"] is True, answer
    expect = bob.expect(ev="private_expect")
    ready = alice.expect(ev="private_ready")
    assert expect["request"] == request_id and expect["user"] == "alice"
    assert ready["request"] == request_id and ready["user"] == "bob"
    assert ready["port"] == LISTEN_PORT
    assert ready["host"] == bob.sock.getsockname()[0]  # the address the server sees for bob
    assert ready["token"] == expect["token"]
    assert TOKEN.fullmatch(ready["token"]), ready


def test_default_host_is_the_accepting_clients_address_as_the_server_sees_it(
    server: RunningServer, login: Login, monkeypatch: pytest.MonkeyPatch
) -> None:
    """bob dials in from another loopback address, so the server's own address, or the
    requester's, would not pass for his (precise point 12)."""
    alice = login("alice")
    real_create_connection = socket.create_connection

    def from_other_loopback(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        return real_create_connection(
            address, *args, **{**kwargs, "source_address": (OTHER_LOOPBACK, 0)}
        )

    with monkeypatch.context() as patch:
        patch.setattr(socket, "create_connection", from_other_loopback)
        bob = TestClient(server.host, server.port)
    try:
        bob.login("bob", PASSWORD)
        request_id = ask(alice, bob, "bob")
        answer = bob.request("private_answer", request=request_id, accept=True, port=LISTEN_PORT)
        assert answer["ok"] is True, answer
        ready = alice.expect(ev="private_ready", request=request_id)
    finally:
        bob.close()

    assert ready["host"] == OTHER_LOOPBACK and ready["port"] == LISTEN_PORT, ready


def test_every_session_gets_a_fresh_token(login: Login) -> None:
    alice, bob = login("alice"), login("bob")
    first = open_session(alice, bob, "bob")
    assert bob.request("stopprivate", user="alice")["ok"]
    alice.expect(ev="private_stopped")

    second = open_session(alice, bob, "bob")

    assert first != second


def test_host_given_by_the_accepting_client_is_honoured(login: Login) -> None:
    alice, bob = login("alice"), login("bob")
    request_id = ask(alice, bob, "bob")

    answer = bob.request(
        "private_answer", request=request_id, accept=True, host="203.0.113.7", port=5555
    )

    assert answer["ok"] is True, answer
    ready = alice.expect(ev="private_ready", request=request_id)
    assert ready["host"] == "203.0.113.7" and ready["port"] == 5555


def test_decline_tells_the_requester(login: Login) -> None:
    alice, bob = login("alice"), login("bob")
    request_id = ask(alice, bob, "bob")

    assert bob.request("private_answer", request=request_id, accept=False)["ok"] is True

    declined = alice.expect(ev="private_declined")
    assert declined == {"ev": "private_declined", "request": request_id, "user": "bob",
                        "reason": "declined"}  # fmt: skip
    again = alice.request("startprivate", user="bob")  # nothing is pending any more
    assert again["ok"] is True, again


@pytest.mark.parametrize("private_request_ttl_s", [1.0])
def test_unanswered_request_expires_for_both_sides(login: Login) -> None:
    alice, bob = login("alice"), login("bob")
    request_id = ask(alice, bob, "bob")

    declined = alice.expect(ev="private_declined", timeout_s=5)
    cancelled = bob.expect(ev="private_cancelled", timeout_s=5)

    assert (declined["request"], declined["user"], declined["reason"]) == (
        request_id, "bob", "expired"
    )  # fmt: skip
    assert cancelled == {"ev": "private_cancelled", "request": request_id, "user": "alice",
                         "reason": "expired"}  # fmt: skip
    late = bob.request("private_answer", request=request_id, accept=True, port=LISTEN_PORT)
    assert error_of(late) == "no_such_request"


def test_only_the_addressee_may_answer(login: Login) -> None:
    alice, bob, carol = login("alice"), login("bob"), login("carol")
    request_id = ask(alice, bob, "bob")

    by_carol = carol.request("private_answer", request=request_id, accept=True, port=LISTEN_PORT)
    by_alice = alice.request("private_answer", request=request_id, accept=True, port=LISTEN_PORT)

    assert error_of(by_carol) == "no_such_request"
    assert error_of(by_alice) == "no_such_request"
    answer = bob.request("private_answer", request=request_id, accept=True, port=LISTEN_PORT)
    assert answer["ok"] is True, answer  # the failed attempts did not consume the request
    assert alice.expect(ev="private_ready")["user"] == "bob"


def test_answer_to_an_unknown_request(login: Login) -> None:
    bob = login("bob")
    reply = bob.request("private_answer", request="no-such-id", accept=False)
    assert error_of(reply) == "no_such_request"


# --- refusals of startprivate ----------------------------------------------------------------


def test_startprivate_refusals(login: Login) -> None:
    alice, bob = login("alice"), login("bob")
    assert bob.request("block", user="alice")["ok"]

    assert error_of(alice.request("startprivate", user="nobody")) == "no_such_user"
    assert error_of(alice.request("startprivate", user="alice")) == "self"
    assert error_of(alice.request("startprivate", user="bob")) == "blocked"
    assert error_of(alice.request("startprivate", user="carol")) == "offline"
    assert bob.events(ev="private_request") == []


def test_blocked_comes_before_offline(login: Login) -> None:
    """Precise point 1: a blocked user cannot learn whether the blocker is online."""
    alice, bob = login("alice"), login("bob")
    assert bob.request("block", user="alice")["ok"]
    assert bob.request("logout")["ok"]
    bob.wait_closed()

    assert error_of(alice.request("startprivate", user="bob")) == "blocked"


def test_pending_request_counts_as_already_private_in_both_directions(login: Login) -> None:
    alice, bob = login("alice"), login("bob")
    ask(alice, bob, "bob")

    assert error_of(alice.request("startprivate", user="bob")) == "already_private"
    assert error_of(bob.request("startprivate", user="alice")) == "already_private"


def test_open_session_counts_as_already_private(login: Login) -> None:
    alice, bob, carol = login("alice"), login("bob"), login("carol")
    open_session(alice, bob, "bob")

    assert error_of(alice.request("startprivate", user="bob")) == "already_private"
    assert error_of(bob.request("startprivate", user="alice")) == "already_private"
    other = carol.request("startprivate", user="bob")  # only that pair is busy
    assert other["ok"] is True, other


# --- how a session ends ----------------------------------------------------------------------


def test_stopprivate_tells_the_other_side_once(login: Login) -> None:
    alice, bob = login("alice"), login("bob")
    open_session(alice, bob, "bob")

    assert alice.request("stopprivate", user="bob")["ok"] is True

    stopped = bob.expect(ev="private_stopped")
    assert stopped["user"] == "alice" and stopped["reason"] == "stopped"
    assert error_of(alice.request("stopprivate", user="bob")) == "no_private_session"
    assert error_of(bob.request("stopprivate", user="alice")) == "no_private_session"


def test_stopprivate_without_a_session(login: Login) -> None:
    alice, bob = login("alice"), login("bob")
    assert error_of(alice.request("stopprivate", user="bob")) == "no_private_session"
    ask(alice, bob, "bob")  # the addressee answers a pending request; it cannot stop it
    assert error_of(bob.request("stopprivate", user="alice")) == "no_private_session"


def test_the_requester_withdraws_a_pending_request_with_stopprivate(login: Login) -> None:
    alice, bob = login("alice"), login("bob")
    request_id = ask(alice, bob, "bob")

    reply = alice.request("stopprivate", user="bob")

    assert reply["ok"] is True, reply
    cancelled = bob.expect(ev="private_cancelled")
    assert cancelled == {"ev": "private_cancelled", "request": request_id, "user": "alice",
                         "reason": "withdrawn"}  # fmt: skip
    late = bob.request("private_answer", request=request_id, accept=True, port=LISTEN_PORT)
    assert error_of(late) == "no_such_request"
    assert alice.request("startprivate", user="bob")["ok"] is True  # nothing pending
    assert alice.events(ev="private_declined") == []  # withdrawn, not declined


def test_peer_logout_stops_the_session(login: Login) -> None:
    alice, bob = login("alice"), login("bob")
    open_session(alice, bob, "bob")

    assert alice.request("logout")["ok"]
    alice.wait_closed()

    stopped = bob.expect(ev="private_stopped")
    assert stopped["user"] == "alice" and stopped["reason"] == "logout"


def test_peer_disconnect_stops_the_session(login: Login) -> None:
    alice, bob = login("alice"), login("bob")
    open_session(alice, bob, "bob")

    bob.close()  # the connection drops without a logout

    stopped = alice.expect(ev="private_stopped")
    assert stopped["user"] == "bob" and stopped["reason"] == "disconnected"


@pytest.mark.parametrize("blocker_name", ["alice", "bob"])
def test_blocking_during_a_session_stops_it_for_both(login: Login, blocker_name: str) -> None:
    alice, bob = login("alice"), login("bob")
    open_session(alice, bob, "bob")
    blocker, blocked, blocked_name = (
        (alice, bob, "bob") if blocker_name == "alice" else (bob, alice, "alice")
    )

    assert blocker.request("block", user=blocked_name)["ok"] is True

    to_blocker = blocker.expect(ev="private_stopped")
    to_blocked = blocked.expect(ev="private_stopped")
    assert to_blocker["user"] == blocked_name and to_blocker["reason"] == "blocked"
    assert to_blocked["user"] == blocker_name and to_blocked["reason"] == "blocked"
    assert error_of(blocked.request("startprivate", user=blocker_name)) == "blocked"


def test_target_blocking_a_pending_request_declines_it(login: Login) -> None:
    alice, bob = login("alice"), login("bob")
    request_id = ask(alice, bob, "bob")

    assert bob.request("block", user="alice")["ok"] is True

    declined = alice.expect(ev="private_declined")
    cancelled = bob.expect(ev="private_cancelled")
    assert (declined["request"], declined["user"], declined["reason"]) == (
        request_id, "bob", "blocked"
    )  # fmt: skip
    assert (cancelled["request"], cancelled["user"], cancelled["reason"]) == (
        request_id, "alice", "blocked"
    )  # fmt: skip
    late = bob.request("private_answer", request=request_id, accept=True, port=LISTEN_PORT)
    assert error_of(late) == "no_such_request"  # withdrawn


def test_requester_blocking_its_pending_request_withdraws_it(login: Login) -> None:
    alice, bob = login("alice"), login("bob")
    request_id = ask(alice, bob, "bob")

    assert alice.request("block", user="bob")["ok"] is True

    declined = alice.expect(ev="private_declined")  # precise point 13: the requester hears
    cancelled = bob.expect(ev="private_cancelled")  # precise point 16: so does the addressee
    assert (declined["request"], declined["user"], declined["reason"]) == (
        request_id, "bob", "blocked"
    )  # fmt: skip
    assert (cancelled["request"], cancelled["user"], cancelled["reason"]) == (
        request_id, "alice", "blocked"
    )  # fmt: skip
    late = bob.request("private_answer", request=request_id, accept=True, port=LISTEN_PORT)
    assert error_of(late) == "no_such_request"


# --- a pending request whose side's session ends (precise point 16) --------------------------


def test_the_addressee_leaving_cancels_the_request_for_the_requester(login: Login) -> None:
    alice, bob = login("alice"), login("bob")
    request_id = ask(alice, bob, "bob")

    assert bob.request("logout")["ok"] is True
    bob.wait_closed()

    declined = alice.expect(ev="private_declined")
    assert (declined["request"], declined["user"], declined["reason"]) == (
        request_id, "bob", "cancelled"
    )  # fmt: skip


@pytest.mark.parametrize("how", ["logout", "disconnected"])
def test_the_requester_leaving_cancels_the_question_for_the_addressee(
    login: Login, how: str
) -> None:
    alice, bob = login("alice"), login("bob")
    request_id = ask(alice, bob, "bob")

    if how == "logout":
        assert alice.request("logout")["ok"] is True
    else:
        alice.close()

    cancelled = bob.expect(ev="private_cancelled")
    assert cancelled == {"ev": "private_cancelled", "request": request_id, "user": "alice",
                         "reason": how}  # fmt: skip


@pytest.mark.parametrize("timeout_s", [1.0])
def test_the_requester_timing_out_cancels_the_question_for_the_addressee(login: Login) -> None:
    alice, bob = login("alice"), login("bob")
    request_id = ask(alice, bob, "bob")
    deadline = time.monotonic() + 5
    cancelled: Frame | None = None
    while cancelled is None:  # bob stays active, alice does nothing
        assert time.monotonic() < deadline, "bob never heard that alice timed out"
        assert bob.request("active")["ok"] is True
        try:
            cancelled = bob.expect(ev="private_cancelled", timeout_s=0.2)
        except TimeoutError:
            pass

    assert cancelled == {"ev": "private_cancelled", "request": request_id, "user": "alice",
                         "reason": "timeout"}  # fmt: skip
    assert alice.wait_closed()[-1]["reason"] == "timeout"


# --- a server shutdown (precise point 16) ----------------------------------------------------


def test_shutdown_stops_private_sessions_for_both_sides_before_bye(
    server: RunningServer, login: Login
) -> None:
    alice, bob, carol = login("alice"), login("bob"), login("carol")
    open_session(alice, bob, "bob")
    ask(carol, alice, "alice")  # pending while the server stops

    server.stop()

    def last_private_then_bye(client: TestClient) -> list[tuple[Any, ...]]:
        frames = client.wait_closed(timeout_s=5)
        wanted = ("private_stopped", "private_declined", "private_cancelled", "bye")
        return [(f["ev"], f.get("user"), f.get("reason")) for f in frames if f.get("ev") in wanted]

    assert last_private_then_bye(alice) == [
        ("private_stopped", "bob", "shutdown"),
        ("private_cancelled", "carol", "disconnected"),
        ("bye", None, "shutdown"),
    ]
    assert last_private_then_bye(bob) == [
        ("private_stopped", "alice", "shutdown"),
        ("bye", None, "shutdown"),
    ]
    assert last_private_then_bye(carol) == [
        ("private_declined", "alice", "cancelled"),
        ("bye", None, "shutdown"),
    ]
