"""Several sessions of one user (chat/1 "Several sessions", feature `sessions`), end to end:
presence once per user, direct messages and `message_sent`, rooms and `room_read`, broadcasts
counted in users, and `replace` at the most. The server allows two sessions per user here;
tests/e2e/test_sessions_end.py has the default of one, and the operator's kick.

"No event arrived" is checked with a marker, as in tests/e2e/test_presence.py: a direct
message sent afterwards, after which anything the server queued earlier has been read.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from service.config import ServerConfig
from tests.conftest import PASSWORD
from tests.support.client import TestClient
from tests.support.server import TEST_COST

Login = Callable[[str], TestClient]


@pytest.fixture
def server_config(db_url: str) -> ServerConfig:
    return ServerConfig(
        port=0, db_url=db_url, argon2=TEST_COST, allow_weak_hashing=True,
        max_sessions_per_user=2,
    )  # fmt: skip


def settled(connect: Callable[[], TestClient], name: str, **fields: object) -> TestClient:
    """Logged in, with the login's follow-ups (backlog, presence) out: a ping's reply comes
    after them."""
    client = connect()
    reply = client.request("login", user=name, password=PASSWORD, **fields)
    assert reply["ok"], reply
    client.login_reply = reply  # type: ignore[attr-defined]
    assert client.request("ping")["ok"]
    return client


def marker(sender: TestClient, recipient: TestClient, recipient_name: str, text: str) -> None:
    """A direct message sent now; once `recipient` has it, earlier events have arrived too."""
    assert sender.request("message", to=recipient_name, text=text)["ok"]
    recipient.expect(ev="message", text=text)


def test_presence_is_once_per_user_and_lists_name_each_user_once(
    connect: Callable[[], TestClient],
) -> None:
    bob = settled(connect, "bob")
    alice1 = settled(connect, "alice")
    assert alice1.login_reply["sessions"] == 1  # type: ignore[attr-defined]
    bob.expect(ev="presence", user="alice", state="online")
    alice2 = settled(connect, "alice")
    assert alice2.login_reply["sessions"] == 2  # type: ignore[attr-defined]
    assert bob.request("whoelse")["users"] == ["alice"]
    assert alice1.request("whoelse")["users"] == ["bob"]  # never the caller
    assert alice2.request("whoelsesince", seconds=60)["users"] == ["bob"]

    assert alice1.request("logout")["ok"]
    alice1.wait_closed()
    marker(alice2, bob, "bob", "after the first logout")
    assert bob.events(ev="presence") == []  # a second login and a logout: nobody sees either
    assert bob.request("whoelse")["users"] == ["alice"]

    assert alice2.request("logout")["ok"]
    bob.expect(ev="presence", user="alice", state="offline")


def test_direct_messages_reach_every_session_and_the_senders_others_hear_what_it_sent(
    connect: Callable[[], TestClient],
) -> None:
    alice1, alice2, bob = (
        settled(connect, "alice"),
        settled(connect, "alice"),
        settled(connect, "bob"),
    )
    reply = bob.request("message", to="alice", text="to both")
    assert reply["ok"] and reply["delivered"] is True
    for alice in (alice1, alice2):
        alice.expect(ev="message", msg_id=reply["msg_id"], text="to both", stored=False)

    sent = alice1.request("message", to="bob", text="from the laptop")
    bob.expect(ev="message", msg_id=sent["msg_id"], text="from the laptop")
    echo = alice2.expect(ev="message_sent", msg_id=sent["msg_id"])
    assert echo["to"] == "bob" and echo["text"] == "from the laptop" and echo["sent_at"]
    marker(bob, alice1, "alice", "marker")
    assert alice1.events(ev="message_sent") == []  # not to the session that sent it

    alice2.send({"op": "ack", "msg_id": reply["msg_id"]})  # from one session: for all
    assert alice2.request("ping")["ok"]
    for alice in (alice1, alice2):
        assert alice.request("logout")["ok"]
        alice.wait_closed()
    again = settled(connect, "alice")
    assert again.login_reply["pending"] == 1  # type: ignore[attr-defined]  # the marker only
    assert again.expect(ev="message", stored=True)["text"] == "marker"


def test_room_messages_reach_every_session_but_the_one_that_said_it_and_count_users(
    connect: Callable[[], TestClient],
) -> None:
    alice1, alice2, bob = (
        settled(connect, "alice"),
        settled(connect, "alice"),
        settled(connect, "bob"),
    )
    for client in (alice1, bob):
        assert client.request("join", room="#lab")["ok"]

    said = alice1.request("say", room="#lab", text="from alice1")
    assert said["ok"] and said["delivered_to"] == 1  # bob; never alice, on any session
    alice2.expect(ev="room_message", room="#lab", seq=said["seq"], text="from alice1")
    bob.expect(ev="room_message", seq=said["seq"])
    by_bob = bob.request("say", room="#lab", text="from bob")
    assert by_bob["delivered_to"] == 1  # alice, once for her two sessions
    for alice in (alice1, alice2):
        alice.expect(ev="room_message", seq=by_bob["seq"], text="from bob")
    marker(bob, alice1, "alice", "marker 1")
    assert alice1.events(ev="room_message", seq=said["seq"]) == []  # not its own

    alice1.send({"op": "read", "room": "#lab", "seq": by_bob["seq"]})
    assert alice2.expect(ev="room_read", room="#lab") == {
        "ev": "room_read", "room": "#lab", "seq": by_bob["seq"],
    }  # fmt: skip
    alice2.send({"op": "read", "room": "#lab", "seq": by_bob["seq"]})  # moves nothing
    assert alice2.request("ping")["ok"]
    marker(bob, alice1, "alice", "marker 2")
    assert alice1.events(ev="room_read") == []  # to the other sessions, and only on a move
    assert alice2.events(ev="room_read") == []


def test_broadcasts_reach_the_senders_other_sessions_and_count_users(
    connect: Callable[[], TestClient],
) -> None:
    alice1, alice2, bob = (
        settled(connect, "alice"),
        settled(connect, "alice"),
        settled(connect, "bob"),
    )
    reply = alice1.request("broadcast", text="hello all")
    assert reply["ok"] and reply["delivered_to"] == 1  # bob only: users, not the sender
    alice2.expect(ev="broadcast", text="hello all")
    bob.expect(ev="broadcast", text="hello all")
    assert bob.request("broadcast", text="and back")["delivered_to"] == 1  # alice, once
    for alice in (alice1, alice2):
        alice.expect(ev="broadcast", text="and back")
    marker(bob, alice1, "alice", "marker")
    assert alice1.events(ev="broadcast", text="hello all") == []


def test_replace_ends_the_oldest_session_and_nobody_sees_presence(
    connect: Callable[[], TestClient],
) -> None:
    bob = settled(connect, "bob")
    alice1, alice2 = settled(connect, "alice"), settled(connect, "alice")
    bob.expect(ev="presence", user="alice", state="online")

    third = connect()
    refused = third.request("login", user="alice", password=PASSWORD)
    assert (refused["ok"], refused["error"]) == (False, "online_elsewhere")
    assert "replace" in refused["text"]
    bad = third.request("login", user="alice", password=PASSWORD, replace="yes")
    assert (bad["ok"], bad["error"]) == (False, "bad_request")
    took = third.request("login", user="alice", password=PASSWORD, replace=True)
    assert took["ok"] and took["sessions"] == 2

    byes = [f for f in alice1.wait_closed() if f.get("ev") == "bye"]
    assert [(b["reason"], bool(b["text"])) for b in byes] == [("replaced", True)]
    assert alice2.request("ping")["ok"]  # the other one stays
    marker(third, bob, "bob", "marker")
    assert bob.events(ev="presence") == []
    assert bob.request("whoelse")["users"] == ["alice"]
