"""Presence end to end: online at login, offline however a session ends, and blocking.

chat/1 "Connection lifecycle" step 3, "Rules every server must keep: Blocking", precise point 9.
"No event arrived" is checked with a marker: a later frame on the same connection, after which
anything the server queued earlier must already have been read.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from tests.conftest import PASSWORD
from tests.support.client import TestClient

Login = Callable[[str], TestClient]

RFC3339_Z = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z")  # chat/1 "Times"


def assert_recent_rfc3339_z(value: object) -> None:
    assert isinstance(value, str) and RFC3339_Z.fullmatch(value), value
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    assert abs(datetime.now(UTC) - moment) < timedelta(minutes=1), value


def marker(sender: TestClient, recipient: TestClient, recipient_name: str, text: str) -> None:
    """A direct message sent now; once `recipient` has it, earlier events have arrived too."""
    assert sender.request("message", to=recipient_name, text=text)["ok"]
    recipient.expect(ev="message", text=text)


def settled_login(connect: Callable[[], TestClient], name: str) -> TestClient:
    """Log in and wait until the login's follow-ups (backlog, presence) have gone out: a
    connection's requests are answered in order, so a ping reply comes after them."""
    client = connect()
    client.login(name, PASSWORD)
    assert client.request("ping")["ok"]
    return client


def test_login_is_announced_to_others_online(login: Login) -> None:
    alice, carol = login("alice"), login("carol")

    bob = login("bob")

    for watcher in (alice, carol):
        event = watcher.expect(ev="presence", user="bob")
        assert event["state"] == "online"
        assert_recent_rfc3339_z(event["at"])
    assert bob.request("ping")["ok"]  # answered after the login's announcements went out
    assert bob.events(ev="presence", user="bob") == []  # nobody hears about themself


def test_logout_is_announced_as_offline(login: Login) -> None:
    alice, bob = login("alice"), login("bob")
    alice.expect(ev="presence", user="bob", state="online")

    assert bob.request("logout")["ok"]
    frames = bob.wait_closed()

    assert {"ev": "bye", "reason": "logout"}.items() <= frames[-1].items(), frames
    event = alice.expect(ev="presence", user="bob")
    assert event["state"] == "offline"
    assert_recent_rfc3339_z(event["at"])


def test_dropped_connection_is_announced_as_offline(login: Login) -> None:
    alice, bob = login("alice"), login("bob")
    alice.expect(ev="presence", user="bob", state="online")

    bob.close()  # no logout: the socket just goes away

    event = alice.expect(ev="presence", user="bob")
    assert event["state"] == "offline"
    assert_recent_rfc3339_z(event["at"])


def test_offline_is_immediate_so_a_new_login_succeeds(
    login: Login, connect: Callable[[], TestClient]
) -> None:
    """Precise point 9: once the server closed the session, logging in again just works."""
    bob = login("bob")
    assert bob.request("logout")["ok"]
    bob.wait_closed()

    again = connect()
    assert again.request("login", user="bob", password=PASSWORD)["ok"]


def test_user_blocked_gets_no_presence_about_the_blocker(
    login: Login, connect: Callable[[], TestClient]
) -> None:
    bob = settled_login(connect, "bob")  # announced before alice is there to hear it
    carol, alice = login("carol"), login("alice")
    assert bob.request("block", user="alice")["ok"]

    assert bob.request("logout")["ok"]
    bob.wait_closed()
    bob = settled_login(connect, "bob")

    carol.expect(ev="presence", user="bob", state="offline")  # it did go out, to carol
    carol.expect(ev="presence", user="bob", state="online")
    marker(carol, alice, "alice", "after bob came back")
    assert alice.events(ev="presence", user="bob") == []


def test_blocker_still_sees_the_blocked_users_presence(
    login: Login, connect: Callable[[], TestClient]
) -> None:
    bob, alice = login("bob"), login("alice")
    assert bob.request("block", user="alice")["ok"]
    bob.expect(ev="presence", user="alice", state="online")

    assert alice.request("logout")["ok"]
    alice.wait_closed()
    assert bob.expect(ev="presence", user="alice")["state"] == "offline"
    settled_login(connect, "alice")
    assert bob.expect(ev="presence", user="alice")["state"] == "online"


def test_presence_flows_again_after_unblock(
    login: Login, connect: Callable[[], TestClient]
) -> None:
    bob = settled_login(connect, "bob")  # announced before alice is online to hear it
    alice = login("alice")
    assert bob.request("block", user="alice")["ok"]
    assert bob.request("unblock", user="alice")["ok"]
    assert alice.expect(ev="presence", user="bob")["state"] == "online"  # shown again

    assert bob.request("logout")["ok"]
    bob.wait_closed()

    assert alice.expect(ev="presence", user="bob")["state"] == "offline"


def test_unblock_tells_the_unblocked_user_that_the_blocker_is_online(login: Login) -> None:
    """While bob blocked alice she could not see him; his unblock shows him to her again, so
    she gets `presence` `online` for him then (and nothing at the block: chat/1 says the
    blocked user gets no presence events about the blocker)."""
    alice, carol = login("alice"), login("carol")
    bob = login("bob")
    alice.expect(ev="presence", user="bob", state="online")
    carol.expect(ev="presence", user="bob", state="online")
    assert bob.request("block", user="alice")["ok"]
    marker(carol, alice, "alice", "after the block")
    assert alice.events(ev="presence", user="bob") == []

    assert bob.request("unblock", user="alice")["ok"]

    event = alice.expect(ev="presence", user="bob")
    assert event["state"] == "online"
    assert_recent_rfc3339_z(event["at"])
    marker(bob, carol, "carol", "after the unblock")
    assert carol.events(ev="presence", user="bob") == []  # nobody else hears of it
    assert bob.events(ev="presence", user="bob") == []  # nor the blocker himself


def test_unblock_of_an_offline_user_sends_nothing(
    login: Login, connect: Callable[[], TestClient]
) -> None:
    bob = login("bob")
    assert bob.request("block", user="alice")["ok"]
    assert bob.request("unblock", user="alice")["ok"]
    alice = settled_login(connect, "alice")
    marker(bob, alice, "alice", "after alice came")
    assert alice.events(ev="presence", user="bob") == []  # she logged in after him
