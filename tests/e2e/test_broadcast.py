"""Broadcasts end to end: who gets them, the counts in the reply, blocking, and the limit.

chat/1 "Rules every server must keep: Broadcasts" and "Blocking", precise point 6.
"No event arrived" is checked with a marker: a later frame on the same connection, after which
anything the server queued earlier must already have been read.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from tests.conftest import PASSWORD
from tests.support.client import TestClient

Login = Callable[[str], TestClient]

RFC3339_Z = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z")  # chat/1 "Times"
TEXT_LIMIT_CHARS = 4_000  # chat/1 default, in code points


def marker(sender: TestClient, recipient: TestClient, recipient_name: str, text: str) -> None:
    """A direct message sent now; once `recipient` has it, earlier events have arrived too."""
    assert sender.request("message", to=recipient_name, text=text)["ok"]
    recipient.expect(ev="message", text=text)


def test_broadcast_reaches_every_other_online_user_and_is_not_echoed(login: Login) -> None:
    alice, bob, carol = login("alice"), login("bob"), login("carol")

    reply = alice.request("broadcast", text="hello everyone")

    assert reply["ok"] is True, reply
    assert reply["delivered_to"] == 2 and reply["blocked_by"] == 0, reply
    for recipient in (bob, carol):
        event = recipient.expect(ev="broadcast")
        assert event["from"] == "alice" and event["text"] == "hello everyone"
        assert RFC3339_Z.fullmatch(event["sent_at"]), event
    marker(bob, alice, "alice", "after the broadcast")
    assert alice.events(ev="broadcast") == []  # precise point 6: not echoed to the sender


def test_broadcast_with_nobody_else_online_reaches_no_one(login: Login) -> None:
    alice = login("alice")

    reply = alice.request("broadcast", text="anyone?")

    assert reply["ok"] is True and reply["delivered_to"] == 0 and reply["blocked_by"] == 0
    assert alice.request("ping")["ok"]
    assert alice.events(ev="broadcast") == []


def test_broadcast_skips_online_users_who_block_the_sender(
    login: Login, make_user: Callable[[str], None]
) -> None:
    make_user("dave")
    dave = login("dave")
    assert dave.request("block", user="alice")["ok"]
    assert dave.request("logout")["ok"]  # an offline blocker is not counted in blocked_by
    dave.wait_closed()
    alice, bob, carol = login("alice"), login("bob"), login("carol")
    assert carol.request("block", user="alice")["ok"]

    reply = alice.request("broadcast", text="not for carol")

    assert reply["ok"] is True, reply
    assert reply["delivered_to"] == 1 and reply["blocked_by"] == 1, reply
    assert bob.expect(ev="broadcast")["text"] == "not for carol"
    marker(bob, carol, "carol", "after the broadcast")
    assert carol.events(ev="broadcast") == []


def test_blocking_is_one_way_for_broadcasts(login: Login) -> None:
    alice, bob = login("alice"), login("bob")
    assert alice.request("block", user="bob")["ok"]

    reply = alice.request("broadcast", text="bob still hears me")

    assert reply["delivered_to"] == 1 and reply["blocked_by"] == 0, reply
    assert bob.expect(ev="broadcast")["text"] == "bob still hears me"


def test_broadcast_is_not_stored_for_offline_users(
    login: Login, connect: Callable[[], TestClient]
) -> None:
    alice, bob = login("alice"), login("bob")

    reply = alice.request("broadcast", text="only for who is here")
    assert reply["delivered_to"] == 1

    carol = connect()
    assert carol.login("carol", PASSWORD)["pending"] == 0
    marker(bob, carol, "carol", "you missed it")
    assert carol.events(ev="broadcast") == []


def test_broadcast_too_long_is_refused_and_not_truncated(login: Login) -> None:
    alice, bob = login("alice"), login("bob")
    longest = "\N{GRINNING FACE}" * TEXT_LIMIT_CHARS  # code points, not bytes

    refused = alice.request("broadcast", text="z" * (TEXT_LIMIT_CHARS + 1))
    accepted = alice.request("broadcast", text=longest)

    assert refused["ok"] is False and refused["error"] == "too_long", refused
    assert isinstance(refused["text"], str) and refused["text"]
    assert accepted["ok"] is True and accepted["delivered_to"] == 1, accepted
    assert bob.expect(ev="broadcast")["text"] == longest
    marker(alice, bob, "bob", "after both broadcasts")
    assert bob.events(ev="broadcast") == []  # no truncated copy of the refused one
