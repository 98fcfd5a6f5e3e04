"""The record of direct messages end to end (chat/1 "Direct-message history", feature
`dm_history`): `dm_history` both ways and paged, its refusals, what an `ack` and an account's
deletion leave in it, blocks, restarts, and `conversations` with its unread counts.

An `ack` has no reply: a serial request sent after it is answered only once it is committed
(the session engine holds serial requests until no pipelined one is in flight), so the next
`dm_history` or `conversations` sees it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.conftest import PASSWORD
from tests.e2e.test_account_deleted import deluser
from tests.support.client import Frame, TestClient
from tests.support.server import RunningServer, restarted

Login = Callable[[str], TestClient]


def dm_history(client: TestClient, partner: str, **fields: Any) -> Frame:
    return client.request("dm_history", **{"with": partner}, **fields)


def page_of(client: TestClient, partner: str, **fields: Any) -> tuple[list[tuple[str, str]], bool]:
    """(from, text) of a dm_history page, oldest first, and its `more`."""
    reply = dm_history(client, partner, **fields)
    assert reply["ok"], reply
    return [(m["from"], m["text"]) for m in reply["messages"]], reply["more"]


def send(client: TestClient, to: str, text: str) -> int:
    reply = client.request("message", to=to, text=text)
    assert reply["ok"], reply
    msg_id: int = reply["msg_id"]
    return msg_id


def conversations(client: TestClient) -> list[tuple[str, int, int]]:
    """(with, last_msg_id, unread) per conversation, as listed."""
    reply = client.request("conversations")
    assert reply["ok"], reply
    return [(c["with"], c["last_msg_id"], c["unread"]) for c in reply["conversations"]]


def test_hello_lists_dm_history(connect: Callable[[], TestClient]) -> None:
    assert "dm_history" in connect().hello["features"]


def test_both_directions_oldest_first_with_every_field(login: Login) -> None:
    alice, bob = login("alice"), login("bob")
    first = send(alice, "bob", "hi bob")
    second = send(bob, "alice", "hi alice")
    send(alice, "carol", "not between them")

    reply = dm_history(alice, "bob")

    assert reply["ok"] and reply["more"] is False, reply
    assert [m["msg_id"] for m in reply["messages"]] == [first, second]
    one, two = reply["messages"]
    assert (one["from"], one["to"], one["text"]) == ("alice", "bob", "hi bob")
    assert (two["from"], two["to"], two["text"]) == ("bob", "alice", "hi alice")
    assert one["sent_at"].endswith("Z")
    assert page_of(bob, "alice")[0] == [("alice", "hi bob"), ("bob", "hi alice")]


def test_pages_backwards_with_before_and_more(login: Login) -> None:
    alice, bob = login("alice"), login("bob")
    for n in range(7):
        send(alice if n % 2 else bob, "bob" if n % 2 else "alice", f"m{n}")

    newest = dm_history(alice, "bob", limit=3)
    older = dm_history(alice, "bob", limit=3, before=newest["messages"][0]["msg_id"])
    oldest = dm_history(alice, "bob", limit=3, before=older["messages"][0]["msg_id"])

    assert [m["text"] for m in newest["messages"]] == ["m4", "m5", "m6"] and newest["more"]
    assert [m["text"] for m in older["messages"]] == ["m1", "m2", "m3"] and older["more"]
    assert [m["text"] for m in oldest["messages"]] == ["m0"] and oldest["more"] is False
    everything = [("alice" if n % 2 else "bob", f"m{n}") for n in range(7)]
    assert page_of(alice, "bob", limit=7) == (everything, False)


def test_errors_in_order_bad_request_then_self_and_no_such_user(login: Login) -> None:
    alice = login("alice")
    send(alice, "bob", "so bob is in the record")
    for fields in ({"limit": 0}, {"limit": 101}, {"limit": "5"}, {"before": "9"}):
        reply = dm_history(alice, "alice", **fields)  # self, but bad_request comes first
        assert (reply["ok"], reply["error"]) == (False, "bad_request"), (fields, reply)
    missing = alice.request("dm_history")
    assert (missing["ok"], missing["error"]) == (False, "bad_request")

    assert dm_history(alice, "alice")["error"] == "self"
    nobody = dm_history(alice, "nobody")
    assert (nobody["ok"], nobody["error"]) == (False, "no_such_user") and nobody["text"]
    assert dm_history(alice, "bob", limit=100)["ok"] and dm_history(alice, "bob", limit=1)["ok"]


def test_a_deleted_partner_stays_in_the_record_and_a_new_account_of_the_name_sees_none(
    login: Login, server: RunningServer, make_user: Callable[[str], None]
) -> None:
    alice, bob = login("alice"), login("bob")
    send(bob, "alice", "from the first bob")
    send(alice, "bob", "to the first bob, shown")
    bob.expect(ev="message", text="to the first bob, shown")
    bob.close()
    send(alice, "bob", "to the first bob, never delivered")
    deluser(server, "bob")

    expected = [
        ("bob", "from the first bob"), ("alice", "to the first bob, shown"),
        ("alice", "to the first bob, never delivered"),
    ]  # fmt: skip
    assert page_of(alice, "bob") == (expected, False)  # no account, but in alice's record
    assert conversations(alice)[0][0] == "bob"
    assert dm_history(login("carol"), "bob")["error"] == "no_such_user"  # not in carol's

    make_user("bob")
    new_bob = TestClient(server.host, server.port)
    try:
        assert new_bob.login("bob", PASSWORD)["pending"] == 0  # never delivered to anyone
        assert page_of(new_bob, "alice") == ([], False)
        assert conversations(new_bob) == []
        send(new_bob, "alice", "from the new bob")
    finally:
        new_bob.close()
    assert page_of(alice, "bob") == ([*expected, ("bob", "from the new bob")], False)


def test_a_block_hides_nothing_said_before_it(login: Login) -> None:
    alice, bob = login("alice"), login("bob")
    send(bob, "alice", "before the block")
    assert alice.request("block", user="bob")["ok"]
    refused = bob.request("message", to="alice", text="after the block")
    assert refused["error"] == "blocked"

    assert page_of(alice, "bob") == ([("bob", "before the block")], False)
    assert page_of(bob, "alice") == ([("bob", "before the block")], False)


def test_an_ack_keeps_the_message_in_the_record_but_not_in_the_next_backlog(
    login: Login, connect: Callable[[], TestClient]
) -> None:
    alice, bob = login("alice"), login("bob")
    shown = send(alice, "bob", "shown and acked")
    event = bob.expect(ev="message", msg_id=shown)
    bob.send({"op": "ack", "msg_id": event["msg_id"]})
    assert page_of(bob, "alice") == ([("alice", "shown and acked")], False)  # after the ack
    bob.request("logout")
    bob.wait_closed()

    again = connect()
    assert again.login("bob", PASSWORD)["pending"] == 0
    assert page_of(again, "alice") == ([("alice", "shown and acked")], False)


def test_a_message_shown_live_and_not_acked_comes_again_stored_and_is_in_the_record_once(
    login: Login, connect: Callable[[], TestClient]
) -> None:
    alice, bob = login("alice"), login("bob")
    msg_id = send(alice, "bob", "not acked")
    assert bob.expect(ev="message", msg_id=msg_id)["stored"] is False
    bob.request("logout")
    bob.wait_closed()

    again = connect()
    assert again.login("bob", PASSWORD)["pending"] == 1
    event = again.expect(ev="message")
    assert (event["msg_id"], event["stored"]) == (msg_id, True)
    assert [m["msg_id"] for m in dm_history(again, "alice")["messages"]] == [msg_id]


def test_conversations_newest_first_with_unread_following_acks(login: Login) -> None:
    alice, bob, carol = login("alice"), login("bob"), login("carol")
    from_bob = [send(bob, "alice", f"b{n}") for n in range(3)]
    from_carol = send(carol, "alice", "c0")
    to_bob = send(alice, "bob", "a0")

    assert conversations(alice) == [("bob", to_bob, 3), ("carol", from_carol, 1)]
    assert conversations(bob) == [("alice", to_bob, 1)]
    for msg_id in from_bob[:2]:
        alice.send({"op": "ack", "msg_id": msg_id})
    assert conversations(alice) == [("bob", to_bob, 1), ("carol", from_carol, 1)]

    newer = send(carol, "alice", "c1")
    listed = alice.request("conversations")["conversations"]
    assert [(c["with"], c["last_msg_id"], c["unread"]) for c in listed] == [
        ("carol", newer, 2), ("bob", to_bob, 1),
    ]  # fmt: skip
    assert listed[0]["last_at"].endswith("Z")
    assert conversations(carol) == [("alice", newer, 0)]


def test_the_record_survives_a_restart(login: Login, server: RunningServer) -> None:
    alice, bob = login("alice"), login("bob")
    msg_id = send(alice, "bob", "before the restart")
    bob.send({"op": "ack", "msg_id": bob.expect(ev="message", msg_id=msg_id)["msg_id"]})
    assert page_of(bob, "alice")[0] == [("alice", "before the restart")]  # the ack committed

    with restarted(server) as connect_again:
        again = connect_again()
        assert again.login("bob", PASSWORD)["pending"] == 0
        assert page_of(again, "alice") == ([("alice", "before the restart")], False)
        assert conversations(again) == [("alice", msg_id, 0)]
