"""Rooms at login: `rooms` with `unread` in the reply, then the catch-up after the direct
messages, then live messages without duplicates; across a restart; and a member that stops
reading, who is cut off without holding the room back.

chat/1 "Rooms": read markers, "Catching up at login", and the slow-consumer rule.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from service.config import ServerConfig
from tests.conftest import PASSWORD
from tests.support.client import TestClient
from tests.support.rooms import cheap_server, join, say
from tests.support.server import RunningServer, restarted

Frame = dict[str, Any]
Login = Callable[[str], TestClient]

OUTBOX_LIMIT_BYTES = 131_072  # the smallest outbox ServerConfig allows: two whole frames
TEXT = "s" * 4_000  # the longest text, so each room message is ~4 KB
SMALL_RCVBUF_BYTES = 4_096


@pytest.fixture
def server_config(db_url: str) -> ServerConfig:
    # request_rate 0: these tests stream says past the default burst (rate limits are
    # tested in test_limits.py)
    return ServerConfig(port=0, db_url=db_url, allow_signup=True, request_rate=0,
                        outbox_limit_bytes=OUTBOX_LIMIT_BYTES)  # fmt: skip


@pytest.fixture
def server(server_config: ServerConfig) -> Iterator[RunningServer]:
    with cheap_server(server_config) as running:
        yield running


def log_out(client: TestClient) -> None:
    assert client.request("logout")["ok"]
    client.wait_closed()


def burst(client: TestClient, room: str, texts: list[str], prefix: str = "s") -> None:
    """`say` requests for `texts`, pipelined in one write; ids are `prefix` + index."""
    client.send_raw(b"".join(
        json.dumps({"op": "say", "id": f"{prefix}{n}", "room": room, "text": text}).encode()
        + b"\n"
        for n, text in enumerate(texts)
    ))  # fmt: skip


def say_many(client: TestClient, room: str, texts: list[str]) -> None:
    burst(client, room, texts)
    assert all(client.reply_to(f"s{n}")["ok"] for n in range(len(texts)))


def frames_until(client: TestClient, done: Callable[[Frame], bool]) -> list[Frame]:
    """Every frame (those kept while waiting for replies first) up to the first for which
    `done` holds, that one included."""
    frames = client.events()
    while not (frames and done(frames[-1])):
        frame = client.read_frame()
        assert frame is not None, "the server closed the connection"
        frames.append(frame)
    return frames


# --- the login reply and the catch-up ----------------------------------------------------------


def test_catch_up_follows_the_direct_messages_room_by_room_newest_fifty(
    login: Login, connect: Callable[[], TestClient]
) -> None:
    alice, bob, carol = login("alice"), login("bob"), login("carol")
    for room in ("#b-room", "#a-room", "#quiet"):
        join(alice, room)
        join(bob, room)
    log_out(bob)
    say_many(alice, "#b-room", [f"b{n}" for n in range(1, 61)])
    say(alice, "#a-room", "a1")
    say(alice, "#a-room", "a2")
    for text in ("dm1", "dm2"):
        assert carol.request("message", to="bob", text=text)["ok"]

    bob = connect()
    reply = bob.login("bob", PASSWORD)
    assert reply["pending"] == 2
    assert reply["rooms"] == [
        {"room": "#a-room", "unread": 2},
        {"room": "#b-room", "unread": 60},
        {"room": "#quiet", "unread": 0},
    ]
    frames = [bob.read_frame() for _ in range(2 + 2 + 50)]  # nothing comes in between
    assert [f["text"] for f in frames[:2] if f] == ["dm1", "dm2"]
    rooms = [(f["room"], f["seq"], f["text"], f["stored"]) for f in frames[2:] if f]
    assert rooms[:2] == [("#a-room", 1, "a1", True), ("#a-room", 2, "a2", True)]
    assert rooms[2:] == [("#b-room", n, f"b{n}", True) for n in range(11, 61)]
    assert all(f and f["ev"] == "room_message" and f["from"] == "alice" for f in frames[2:])
    assert bob.request("ping")["ok"] and bob.events(ev="room_message") == []


def test_unread_and_catch_up_leave_out_own_messages_and_blocked_senders(
    login: Login, connect: Callable[[], TestClient]
) -> None:
    alice, bob, carol = login("alice"), login("bob"), login("carol")
    for client in (alice, bob, carol):
        join(client, "#general")
    assert bob.request("block", user="carol")["ok"]
    log_out(bob)
    say(alice, "#general", "from alice")
    say(carol, "#general", "from carol")  # blocked by bob
    say(alice, "#general", "alice again")

    bob = connect()
    assert bob.login("bob", PASSWORD)["rooms"] == [{"room": "#general", "unread": 2}]
    caught = [bob.expect(ev="room_message") for _ in range(2)]
    assert [(m["seq"], m["text"]) for m in caught] == [(1, "from alice"), (3, "alice again")]
    say(bob, "#general", "bob's own")
    log_out(bob)

    bob = connect()
    assert bob.login("bob", PASSWORD)["rooms"] == [{"room": "#general", "unread": 2}]


def test_read_markers_decide_what_is_unread_at_the_next_login(
    login: Login, connect: Callable[[], TestClient]
) -> None:
    alice, bob = login("alice"), login("bob")
    join(alice, "#general")
    join(bob, "#general")
    say_many(alice, "#general", [f"m{n}" for n in range(1, 6)])
    bob.send({"op": "read", "room": "#general", "seq": 3})
    bob.send({"op": "read", "room": "#general", "seq": 2})  # never backwards
    log_out(bob)

    bob = connect()
    assert bob.login("bob", PASSWORD)["rooms"] == [{"room": "#general", "unread": 2}]
    assert [bob.expect(ev="room_message")["seq"] for _ in range(2)] == [4, 5]
    log_out(bob)  # shown but not marked read: shown again

    bob = connect()
    assert bob.login("bob", PASSWORD)["rooms"] == [{"room": "#general", "unread": 2}]


def test_catch_up_after_a_restart(
    server: RunningServer, login: Login, connect: Callable[[], TestClient]
) -> None:
    alice, bob = login("alice"), login("bob")
    join(alice, "#general")
    join(bob, "#general")
    log_out(bob)
    say(alice, "#general", "while you were out", nonce="k1")

    with restarted(server) as connect_again:
        bob = connect_again()
        assert bob.login("bob", PASSWORD)["rooms"] == [{"room": "#general", "unread": 1}]
        event = bob.expect(ev="room_message")
        assert (event["seq"], event["text"], event["stored"]) == (1, "while you were out", True)
        alice = connect_again()
        alice.login("alice", PASSWORD)
        retry = alice.request("say", room="#general", text="again", nonce="k1")
        assert (retry["seq"], retry["delivered_to"]) == (1, 0)  # nonces survive restarts
        assert say(alice, "#general", "live")["seq"] == 2  # numbering goes on
        assert bob.expect(ev="room_message")["stored"] is False


def test_register_carries_rooms_too(connect: Callable[[], TestClient]) -> None:
    dave = connect()
    reply = dave.request("register", user="dave", password="dave's long secret")
    assert reply["ok"] is True and reply["rooms"] == [], reply


# --- live messages during the catch-up ---------------------------------------------------------


def test_live_messages_during_the_catch_up_follow_without_duplicates(
    login: Login, connect: Callable[[], TestClient]
) -> None:
    """alice streams messages into the room while bob logs in: every message reaches bob
    once, the catch-up (stored) first, then the live ones, all in seq order. The backlog of
    direct messages in front keeps the login's window open for a while."""
    alice, bob, carol = login("alice"), login("bob"), login("carol")
    join(alice, "#general")
    join(bob, "#general")
    log_out(bob)
    say_many(alice, "#general", [f"before {n}" for n in range(60)])
    carol.send_raw(b"".join(
        json.dumps({"op": "message", "id": f"d{n}", "to": "bob", "text": f"dm{n}"}).encode()
        + b"\n"
        for n in range(300)
    ))  # fmt: skip
    assert all(carol.reply_to(f"d{n}")["ok"] for n in range(300))
    last = 60 + 200

    bob = connect()
    bob.send({"op": "login", "id": "in", "user": "bob", "password": PASSWORD})
    burst(alice, "#general", [f"during {n}" for n in range(200)], prefix="l")
    reply = bob.reply_to("in")
    frames = frames_until(bob, lambda f: f.get("ev") == "room_message" and f["seq"] == last)

    [unread] = [r["unread"] for r in reply["rooms"]]
    kinds = [f["ev"] for f in frames if f.get("ev") in ("message", "room_message")]
    assert kinds == ["message"] * 300 + ["room_message"] * (kinds.count("room_message"))
    room = [f for f in frames if f.get("ev") == "room_message"]
    seqs = [f["seq"] for f in room]
    assert seqs == list(range(unread - 49, last + 1)), "a gap, a duplicate or out of order"
    assert [f["stored"] for f in room] == [f["seq"] <= unread for f in room]
    assert all(alice.reply_to(f"l{n}")["ok"] for n in range(200))


# --- a member that does not read ---------------------------------------------------------------


def test_a_member_that_stops_reading_is_cut_off_and_the_room_goes_on(
    server: RunningServer, login: Login, connect: Callable[[], TestClient]
) -> None:
    alice, carol = login("alice"), login("carol")
    join(alice, "#general")
    join(carol, "#general")
    bob = connect()
    bob.login("bob", PASSWORD)
    join(bob, "#general")
    bob.close()  # bob's account is then used from a socket that never reads
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SMALL_RCVBUF_BYTES)
    sock.settimeout(5)
    deadline = time.monotonic() + 10
    while carol.request("members", room="#general")["online"] != ["alice", "carol"]:
        assert time.monotonic() < deadline, "bob's first session never ended"
    sock.connect((server.host, server.port))
    login_frame = {"op": "login", "id": 1, "user": "bob", "password": PASSWORD}
    sock.sendall(json.dumps(login_frame).encode() + b"\n")
    said = 0
    while say(alice, "#general", "is bob in?")["delivered_to"] < 2:  # his login is through
        said += 1
        carol.expect(ev="room_message", text="is bob in?")
        assert time.monotonic() < deadline, "bob's stalled login never went through"
    carol.expect(ev="room_message", text="is bob in?")
    said += 1

    started = time.monotonic()
    delivered_to = 2
    while delivered_to == 2:
        assert said < 3_000, "bob was never cut off"
        reply = say(alice, "#general", TEXT)
        said, delivered_to = said + 1, reply["delivered_to"]
        assert carol.expect(ev="room_message")["seq"] == reply["seq"]  # carol keeps reading
    assert delivered_to == 1 and time.monotonic() - started < 30
    deadline = time.monotonic() + 10
    while carol.request("members", room="#general")["online"] != ["alice", "carol"]:
        assert time.monotonic() < deadline, "bob's stalled session never ended"
    sock.close()

    bob = connect()
    reply = bob.login("bob", PASSWORD)
    assert reply["rooms"] == [{"room": "#general", "unread": said}]  # nothing was lost
