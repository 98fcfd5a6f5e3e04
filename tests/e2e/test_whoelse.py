"""chat/1 `whoelse` and `whoelsesince` against a real server (PROTOCOL.md "Blocking", point 2)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from tests.support.client import TestClient

Login = Callable[..., TestClient]


def log_out(client: TestClient) -> None:
    assert client.request("logout")["ok"] is True
    client.wait_closed()


def test_whoelse_lists_the_others_sorted(login: Login, make_user: Callable[..., None]) -> None:
    make_user("dave")
    carol, alice, dave, bob = login("carol"), login("alice"), login("dave"), login("bob")
    assert bob.request("whoelse")["users"] == ["alice", "carol", "dave"]
    assert dave.request("whoelse")["users"] == ["alice", "bob", "carol"]
    log_out(carol)
    alice.expect(ev="presence", user="carol", state="offline")
    assert alice.request("whoelse")["users"] == ["bob", "dave"]


def test_whoelse_alone_is_empty(login: Login) -> None:
    assert login("alice").request("whoelse")["users"] == []


def test_whoelse_hides_users_who_block_you(login: Login) -> None:
    alice, bob, carol = login("alice"), login("bob"), login("carol")
    assert carol.request("block", user="alice")["ok"] is True
    assert alice.request("whoelse")["users"] == ["bob"]
    assert alice.request("whoelsesince", seconds=60)["users"] == ["bob"]
    assert carol.request("whoelse")["users"] == ["alice", "bob"]  # the blocker still sees alice
    assert bob.request("whoelse")["users"] == ["alice", "carol"]


def test_whoelsesince_covers_recent_logouts_only(login: Login) -> None:
    alice, bob = login("alice"), login("bob")
    carol = login("carol")
    log_out(carol)
    left_at = time.monotonic()  # the server closed carol's period before this

    assert alice.request("whoelsesince", seconds=60)["users"] == ["bob", "carol"]
    alice.watch(2.0 - (time.monotonic() - left_at))  # let time pass; alice stays connected

    assert alice.request("whoelsesince", seconds=1)["users"] == ["bob"]  # online counts
    assert alice.request("whoelsesince", seconds=60)["users"] == ["bob", "carol"]
    assert bob.request("whoelsesince", seconds=1)["users"] == ["alice"]


def test_whoelsesince_refuses_seconds_that_are_not_a_positive_integer(login: Login) -> None:
    alice = login("alice")
    bad: list[Any] = [0, -5, "5", 1.5, 10.0, True, None, [5]]
    for seconds in bad:
        reply = alice.request("whoelsesince", seconds=seconds)
        assert (reply["ok"], reply.get("error")) == (False, "bad_request"), (seconds, reply)
        assert reply["text"]
    assert alice.request("whoelsesince", seconds=1)["ok"] is True


def test_whoelsesince_a_window_longer_than_history_covers_everything(login: Login) -> None:
    alice = login("alice")
    login("bob")
    for seconds in (10**11, 10**18):
        reply = alice.request("whoelsesince", seconds=seconds)
        assert (reply["ok"], reply["users"]) == (True, ["bob"]), reply
