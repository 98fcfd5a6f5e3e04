"""Direct messages end to end: live and stored delivery, acks, nonces, errors and order.

chat/1 "Rules every server must keep: Messages are never lost" and precise points 3, 10, 11.
"No event arrived" is checked with a marker: a later frame on the same connection, after which
anything the server queued earlier must already have been read.
"""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.conftest import PASSWORD
from tests.support.client import TestClient
from tests.support.server import RunningServer, restarted

Frame = dict[str, Any]
Login = Callable[[str], TestClient]

RFC3339_Z = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z")  # chat/1 "Times"
TEXT_LIMIT_CHARS = 4_000  # chat/1 default, in code points (precise point 3)


def assert_recent_rfc3339_z(value: object) -> None:
    assert isinstance(value, str) and RFC3339_Z.fullmatch(value), value
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    assert abs(datetime.now(UTC) - moment) < timedelta(minutes=1), value


def log_out(client: TestClient) -> None:
    """Log out and wait for the close: the server has then finished with the session."""
    assert client.request("logout")["ok"]
    client.wait_closed()


def marker(sender: TestClient, recipient: TestClient, recipient_name: str, text: str) -> None:
    """A direct message sent now; once `recipient` has it, earlier events have arrived too."""
    assert sender.request("message", to=recipient_name, text=text)["ok"]
    recipient.expect(ev="message", text=text)


def messages_after_reply(client: TestClient, count: int) -> list[Frame]:
    """The next `count` frames on the wire, which must all be `message` events."""
    frames = [client.read_frame() for _ in range(count)]
    assert all(frame is not None and frame.get("ev") == "message" for frame in frames), frames
    return [frame for frame in frames if frame is not None]


# --- live and stored delivery ----------------------------------------------------------------


def test_message_to_an_online_user_is_delivered_live(login: Login) -> None:
    alice, bob = login("alice"), login("bob")

    reply = alice.request("message", to="bob", text="hi bob")

    assert reply["ok"] is True and reply["delivered"] is True, reply
    assert isinstance(reply["msg_id"], int | str) and not isinstance(reply["msg_id"], bool)
    event = bob.expect(ev="message")
    assert event["msg_id"] == reply["msg_id"]
    assert event["from"] == "alice" and event["text"] == "hi bob"
    assert event["stored"] is False
    assert_recent_rfc3339_z(event["sent_at"])


def test_message_to_an_offline_user_is_stored_and_delivered_oldest_first_at_login(
    login: Login, connect: Callable[[], TestClient]
) -> None:
    alice, carol = login("alice"), login("carol")
    sent = []
    for text in ("first", "second", "third"):
        reply = alice.request("message", to="bob", text=text)
        assert reply["ok"] is True and reply["delivered"] is False, reply
        sent.append((reply["msg_id"], text))

    bob = connect()
    reply = bob.login("bob", PASSWORD)
    # Carol hears bob is online and writes at once: her live message must not overtake the
    # backlog (chat/1 lifecycle step 3: reply, stored messages, then presence).
    carol.expect(ev="presence", user="bob", state="online")
    assert carol.request("message", to="bob", text="welcome back")["ok"]

    assert reply["pending"] == 3
    backlog = messages_after_reply(bob, 4)  # nothing may come between the reply and these
    assert [(event["msg_id"], event["text"]) for event in backlog[:3]] == sent
    assert all(event["stored"] is True and event["from"] == "alice" for event in backlog[:3])
    for event in backlog[:3]:
        assert_recent_rfc3339_z(event["sent_at"])
    live = backlog[3]
    assert live["from"] == "carol" and live["text"] == "welcome back" and live["stored"] is False


def test_whole_backlog_goes_out_before_others_hear_of_the_login(
    login: Login, connect: Callable[[], TestClient]
) -> None:
    """Lifecycle step 3: reply, stored messages, then presence. A broadcast carol sends the
    moment she hears bob is online is causally after that presence, so it must reach bob
    after his whole backlog; a long backlog leaves a wide window for a wrong order to show."""
    alice, carol = login("alice"), login("carol")
    count = 1000
    burst = b"".join(
        json.dumps({"op": "message", "id": n, "to": "bob", "text": f"stored {n}"}).encode() + b"\n"
        for n in range(count)
    )
    alice.send_raw(burst)
    assert all(alice.reply_to(n)["ok"] for n in range(count))

    bob = connect()
    assert bob.login("bob", PASSWORD)["pending"] == count
    carol.expect(ev="presence", user="bob", state="online")
    assert carol.request("broadcast", text="hi bob")["delivered_to"] >= 1

    frames = [bob.read_frame() for _ in range(count + 1)]
    kinds = [frame.get("ev") if frame else None for frame in frames]
    assert kinds == ["message"] * count + ["broadcast"], kinds
    assert [frame["text"] for frame in frames[:count] if frame] == [
        f"stored {n}" for n in range(count)
    ]


def test_message_shown_live_but_not_acked_is_redelivered_as_stored_after_logout(
    login: Login, connect: Callable[[], TestClient]
) -> None:
    alice, bob = login("alice"), login("bob")
    reply = alice.request("message", to="bob", text="did you see this?")
    live = bob.expect(ev="message")
    assert live["stored"] is False
    log_out(bob)  # never acked

    again = connect()
    assert again.login("bob", PASSWORD)["pending"] == 1
    [event] = messages_after_reply(again, 1)

    assert event["msg_id"] == reply["msg_id"] == live["msg_id"]
    assert event["text"] == "did you see this?" and event["from"] == "alice"
    assert event["sent_at"] == live["sent_at"]
    assert event["stored"] is True  # precise point 10


def test_unacked_message_is_redelivered_after_a_dropped_connection(
    login: Login, connect: Callable[[], TestClient]
) -> None:
    alice, bob = login("alice"), login("bob")
    reply = alice.request("message", to="bob", text="still there?")
    bob.expect(ev="message", msg_id=reply["msg_id"])
    bob.close()  # the connection drops: no logout, no ack
    alice.expect(ev="presence", user="bob", state="offline")

    again = connect()
    assert again.login("bob", PASSWORD)["pending"] == 1
    [event] = messages_after_reply(again, 1)
    assert event["msg_id"] == reply["msg_id"] and event["stored"] is True


def test_stored_message_not_acked_is_delivered_again_at_every_login(
    login: Login, connect: Callable[[], TestClient]
) -> None:
    alice = login("alice")
    reply = alice.request("message", to="bob", text="read me")
    assert reply["delivered"] is False
    for _ in range(2):
        bob = connect()
        assert bob.login("bob", PASSWORD)["pending"] == 1
        [event] = messages_after_reply(bob, 1)
        assert event["msg_id"] == reply["msg_id"] and event["stored"] is True
        log_out(bob)


def test_acked_message_is_not_redelivered(login: Login, connect: Callable[[], TestClient]) -> None:
    alice, bob = login("alice"), login("bob")
    kept = alice.request("message", to="bob", text="keep me")["msg_id"]
    gone = alice.request("message", to="bob", text="ack me")["msg_id"]
    bob.expect(ev="message", msg_id=kept)
    bob.expect(ev="message", msg_id=gone)
    bob.send({"op": "ack", "msg_id": gone})  # chat/1: ack is sent without an id
    log_out(bob)

    again = connect()
    assert again.login("bob", PASSWORD)["pending"] == 1
    [event] = messages_after_reply(again, 1)
    assert event["msg_id"] == kept


def test_ack_by_someone_other_than_the_recipient_does_not_delete(
    login: Login, connect: Callable[[], TestClient]
) -> None:
    alice, carol = login("alice"), login("carol")
    msg_id = alice.request("message", to="bob", text="for bob only")["msg_id"]
    alice.send({"op": "ack", "msg_id": msg_id})  # the sender
    carol.send({"op": "ack", "msg_id": msg_id})  # a bystander
    log_out(alice)
    log_out(carol)

    bob = connect()
    assert bob.login("bob", PASSWORD)["pending"] == 1
    [event] = messages_after_reply(bob, 1)
    assert event["msg_id"] == msg_id and event["text"] == "for bob only"


# --- nonces: the idempotency key of a retry --------------------------------------------------


def test_same_nonce_returns_the_original_msg_id_and_stores_once(
    login: Login, connect: Callable[[], TestClient]
) -> None:
    alice = login("alice")
    first = alice.request("message", to="bob", text="once", nonce="n-1")
    retry = alice.request("message", to="bob", text="once", nonce="n-1")
    other = alice.request("message", to="carol", text="something else", nonce="n-1")
    nobody = alice.request("message", to="nobody", text="to no one", nonce="n-1")
    too_long = alice.request("message", to="bob", text="x" * 4_001, nonce="n-1")

    retries = [retry, other, nobody, too_long]  # precise point 11: whatever its to and text
    assert first["ok"] and all(reply["ok"] for reply in retries), (first, retries)
    assert all(reply["msg_id"] == first["msg_id"] for reply in retries), (first, retries)
    fresh = alice.request("message", to="bob", text="twice", nonce="n-2")
    assert fresh["msg_id"] != first["msg_id"]  # a different nonce is a different message

    bob = connect()
    assert bob.login("bob", PASSWORD)["pending"] == 2
    backlog = messages_after_reply(bob, 2)
    assert [event["text"] for event in backlog] == ["once", "twice"]
    carol = connect()
    assert carol.login("carol", PASSWORD)["pending"] == 0


def test_nonces_are_per_sender(login: Login, connect: Callable[[], TestClient]) -> None:
    alice, carol = login("alice"), login("carol")
    from_alice = alice.request("message", to="bob", text="from alice", nonce="shared")
    from_carol = carol.request("message", to="bob", text="from carol", nonce="shared")
    assert from_alice["msg_id"] != from_carol["msg_id"]

    bob = connect()
    assert bob.login("bob", PASSWORD)["pending"] == 2
    assert {event["from"] for event in messages_after_reply(bob, 2)} == {"alice", "carol"}


def test_nonce_retry_to_an_online_user_is_not_shown_twice(login: Login) -> None:
    alice, bob = login("alice"), login("bob")
    first = alice.request("message", to="bob", text="hello", nonce="k")
    retry = alice.request("message", to="bob", text="hello again", nonce="k")
    assert retry["ok"] and retry["msg_id"] == first["msg_id"]

    marker(alice, bob, "bob", "after the retry")
    shown = bob.events(ev="message")  # everything before the marker
    assert [(event["msg_id"], event["text"]) for event in shown] == [(first["msg_id"], "hello")]


def test_nonce_is_remembered_across_a_restart(server: RunningServer, login: Login) -> None:
    alice = login("alice")
    first = alice.request("message", to="bob", text="before restart", nonce="restart-1")
    assert first["ok"] and first["delivered"] is False

    with restarted(server) as connect_again:
        alice = connect_again()
        alice.login("alice", PASSWORD)
        retry = alice.request("message", to="bob", text="after restart", nonce="restart-1")
        assert retry["ok"] and retry["msg_id"] == first["msg_id"]
        bob = connect_again()
        assert bob.login("bob", PASSWORD)["pending"] == 1
        [event] = messages_after_reply(bob, 1)
        assert event["msg_id"] == first["msg_id"] and event["text"] == "before restart"


# --- refusals --------------------------------------------------------------------------------


def test_message_errors(login: Login) -> None:
    alice, bob = login("alice"), login("bob")
    assert bob.request("block", user="alice")["ok"]

    cases = {
        "no_such_user": alice.request("message", to="nobody", text="hi"),
        "self": alice.request("message", to="alice", text="hi"),
        "blocked": alice.request("message", to="bob", text="hi"),
        "too_long": alice.request("message", to="carol", text="x" * (TEXT_LIMIT_CHARS + 1)),
    }

    for code, reply in cases.items():
        assert reply["ok"] is False and reply["error"] == code, reply
        assert isinstance(reply["text"], str) and reply["text"], reply
    marker(login("carol"), bob, "bob", "nothing from alice before this")
    assert bob.events(ev="message") == []


def test_message_errors_come_in_table_order(login: Login) -> None:
    """Precise point 1: no_such_user, self, blocked, too_long, whichever apply first."""
    alice, bob = login("alice"), login("bob")
    assert bob.request("block", user="alice")["ok"]
    long_text = "x" * (TEXT_LIMIT_CHARS + 1)

    assert alice.request("message", to="nobody", text=long_text)["error"] == "no_such_user"
    assert alice.request("message", to="alice", text=long_text)["error"] == "self"
    assert alice.request("message", to="bob", text=long_text)["error"] == "blocked"


def test_text_limit_counts_code_points_and_never_truncates(login: Login) -> None:
    alice, bob = login("alice"), login("bob")
    longest_ascii = "a" * TEXT_LIMIT_CHARS
    longest_emoji = "\N{GRINNING FACE}" * TEXT_LIMIT_CHARS  # 16,000 UTF-8 bytes, 4,000 chars

    too_long = alice.request("message", to="bob", text="b" * (TEXT_LIMIT_CHARS + 1))
    emoji_too_long = alice.request("message", to="bob", text=longest_emoji + "!")
    ascii_ok = alice.request("message", to="bob", text=longest_ascii)
    emoji_ok = alice.request("message", to="bob", text=longest_emoji)

    assert too_long["ok"] is False and too_long["error"] == "too_long", too_long
    assert emoji_too_long["ok"] is False and emoji_too_long["error"] == "too_long"
    assert ascii_ok["ok"] is True and emoji_ok["ok"] is True, (ascii_ok, emoji_ok)
    first, second = bob.expect(ev="message"), bob.expect(ev="message")
    assert first["msg_id"] == ascii_ok["msg_id"] and first["text"] == longest_ascii
    assert second["msg_id"] == emoji_ok["msg_id"] and second["text"] == longest_emoji
    assert bob.events(ev="message") == []  # no truncated copy of the refused ones


def test_refused_too_long_message_is_not_stored(
    login: Login, connect: Callable[[], TestClient]
) -> None:
    alice = login("alice")
    reply = alice.request("message", to="bob", text="y" * (TEXT_LIMIT_CHARS + 1))
    assert reply["error"] == "too_long"

    bob = connect()
    assert bob.login("bob", PASSWORD)["pending"] == 0


# --- order -----------------------------------------------------------------------------------


def test_messages_from_one_sender_arrive_in_send_order(login: Login) -> None:
    alice, bob = login("alice"), login("bob")
    count = 50
    burst = b"".join(
        json.dumps({"op": "message", "id": n, "to": "bob", "text": f"m{n}"}).encode() + b"\n"
        for n in range(count)
    )
    alice.send_raw(burst)  # all 50 on the wire before the first reply is read
    replies = [alice.reply_to(n) for n in range(count)]
    assert all(reply["ok"] and reply["delivered"] for reply in replies), replies

    received = [bob.expect(ev="message") for _ in range(count)]
    assert [event["text"] for event in received] == [f"m{n}" for n in range(count)]
    assert [event["msg_id"] for event in received] == [reply["msg_id"] for reply in replies]


def test_a_refused_message_is_answered_after_the_messages_before_it(login: Login) -> None:
    """A malformed `message` is refused before the store, but its error waits for the replies
    of the messages sent before it: each client reads its answers in request order."""
    alice, _bob = login("alice"), login("bob")
    alice.send_raw(
        b'{"op":"message","id":1,"to":"bob","text":"one"}\n'
        b'{"op":"message","id":2,"to":"bob"}\n'  # no text: bad_request
        b'{"op":"message","id":3,"to":"bob","text":"three"}\n'
        b'{"op":"ack","id":4,"msg_id":"x"}\n'  # not an integer: bad_request
    )
    replies: list[Frame] = []
    while len(replies) < 4:
        frame = alice.read_frame()
        assert frame is not None, replies
        if "re" in frame:
            replies.append(frame)
    assert [reply["re"] for reply in replies] == [1, 2, 3, 4]
    assert [reply["ok"] for reply in replies] == [True, False, True, False]
    assert replies[1]["error"] == replies[3]["error"] == "bad_request"


def test_requests_sent_before_a_half_close_are_all_answered(login: Login) -> None:
    """`printf ... | nc -N`: the client sends its requests and shuts its side; every request
    is still answered, in order, and the logout ends the session as a logout."""
    alice = login("alice")
    alice.send_raw(
        b'{"op":"message","id":1,"to":"bob","text":"one"}\n'
        b'{"op":"message","id":2,"to":"bob","text":"two"}\n'
        b'{"op":"logout","id":3}\n'
    )
    alice.sock.shutdown(socket.SHUT_WR)
    frames = alice.wait_closed(timeout_s=5)
    replies = [frame["re"] for frame in frames if "re" in frame and frame["ok"]]
    assert replies == [1, 2, 3]
    assert (frames[-1]["ev"], frames[-1]["reason"]) == ("bye", "logout")
