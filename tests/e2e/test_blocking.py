"""block / unblock / blocklist end to end: the happy path, every refusal, and persistence.

chat/1 "Requests" table and "Rules every server must keep: Blocking".
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.conftest import PASSWORD
from tests.support.client import TestClient
from tests.support.server import RunningServer, restarted

Login = Callable[[str], TestClient]


def test_block_unblock_and_blocklist(login: Login) -> None:
    alice, bob = login("alice"), login("bob")
    empty = alice.request("blocklist")
    assert empty["ok"] is True and empty["users"] == [], empty

    assert alice.request("block", user="carol")["ok"] is True
    assert alice.request("block", user="bob")["ok"] is True
    assert alice.request("blocklist")["users"] == ["bob", "carol"]  # sorted, not block order
    assert bob.request("blocklist")["users"] == []  # a block is one-way

    assert alice.request("unblock", user="bob")["ok"] is True
    assert alice.request("blocklist")["users"] == ["carol"]


@pytest.mark.parametrize(
    ("op", "blocked_first", "target", "code"),
    [
        ("block", False, "nobody", "no_such_user"),
        ("block", False, "alice", "self"),
        ("block", True, "bob", "already_blocked"),
        ("unblock", False, "nobody", "no_such_user"),
        ("unblock", False, "alice", "self"),
        ("unblock", False, "bob", "not_blocked"),
    ],
)
def test_block_and_unblock_refusals(
    login: Login, op: str, blocked_first: bool, target: str, code: str
) -> None:
    alice = login("alice")
    if blocked_first:
        assert alice.request("block", user="bob")["ok"]

    reply = alice.request(op, user=target)

    assert reply["ok"] is False and reply["error"] == code, reply
    assert isinstance(reply["text"], str) and reply["text"], reply
    expected = ["bob"] if blocked_first else []
    assert alice.request("blocklist")["users"] == expected  # a refusal changes nothing


def test_usernames_are_case_sensitive_for_blocking(login: Login) -> None:
    alice = login("alice")
    assert alice.request("block", user="Bob")["error"] == "no_such_user"
    assert alice.request("block", user="ALICE")["error"] == "no_such_user"


def test_blocks_persist_across_a_restart(server: RunningServer, login: Login) -> None:
    alice = login("alice")
    assert alice.request("block", user="bob")["ok"]

    with restarted(server) as connect_again:
        alice = connect_again()
        alice.login("alice", PASSWORD)
        bob = connect_again()
        bob.login("bob", PASSWORD)

        assert alice.request("blocklist")["users"] == ["bob"]
        refused = bob.request("message", to="alice", text="let me in")
        assert refused["ok"] is False and refused["error"] == "blocked", refused
        assert alice.request("block", user="bob")["error"] == "already_blocked"


def test_messages_flow_again_after_unblock(login: Login) -> None:
    alice, bob = login("alice"), login("bob")
    assert alice.request("block", user="bob")["ok"]
    assert bob.request("message", to="alice", text="while blocked")["error"] == "blocked"

    assert alice.request("unblock", user="bob")["ok"]
    reply = bob.request("message", to="alice", text="after unblock")

    assert reply["ok"] is True and reply["delivered"] is True, reply
    event = alice.expect(ev="message")
    assert event["from"] == "bob" and event["text"] == "after unblock"  # not the refused one
    assert event["msg_id"] == reply["msg_id"]


def test_refused_message_is_not_delivered_after_unblock_and_relogin(
    login: Login, connect: Callable[[], TestClient]
) -> None:
    alice, bob = login("alice"), login("bob")
    assert alice.request("block", user="bob")["ok"]
    assert alice.request("logout")["ok"]
    alice.wait_closed()
    assert bob.request("message", to="alice", text="while blocked")["error"] == "blocked"

    alice = connect()
    assert alice.login("alice", PASSWORD)["pending"] == 0
    assert alice.request("unblock", user="bob")["ok"]
    assert alice.request("blocklist")["users"] == []
