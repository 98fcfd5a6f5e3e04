"""Each abuse limit on its own, with small thresholds: what is refused, how, and that the
rest goes on (docs/OPERATING.md, "Security"; the attacks themselves are in test_abuse.py)."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest

from service.config import ServerConfig
from service.credentials.hash_cost import DEFAULT_COST
from tests.conftest import PASSWORD
from tests.support.attack import count_hashes, create_cheap_users
from tests.support.client import TestClient
from tests.support.server import RunningServer, start_server

pytestmark = pytest.mark.sqlite_only  # the limits are the same whatever the database
Limited = Callable[..., RunningServer]


@pytest.fixture
def limited(server_config: ServerConfig) -> Iterator[Limited]:
    """`limited(**changes)`: a server with these ServerConfig changes (alice, bob exist)."""
    servers: list[RunningServer] = []
    create_cheap_users(server_config.db_url, ["alice", "bob"], PASSWORD)

    def start(**changes: object) -> RunningServer:
        running = start_server(replace(server_config, **changes))  # type: ignore[arg-type]
        servers.append(running)
        return running

    yield start
    for running in servers:
        running.stop()


def connect_from(server: RunningServer, source: str) -> socket.socket:
    return socket.create_connection((server.host, server.port), 5, (source, 0))


def first_bytes(sock: socket.socket, timeout_s: float) -> bytes:
    """What the server sends first: b"" if it closed, TimeoutError if it says nothing."""
    sock.settimeout(timeout_s)
    try:
        return sock.recv(4096)
    except ConnectionResetError:
        return b""


# --- connections ------------------------------------------------------------------------------


def test_connections_past_the_per_address_cap_are_closed_at_once(limited: Limited) -> None:
    server = limited(max_connections_per_address=3)
    held = [connect_from(server, "127.0.0.1") for _ in range(3)]
    assert all(b'"hello"' in first_bytes(sock, 5) for sock in held)
    extra = connect_from(server, "127.0.0.1")
    assert first_bytes(extra, 5) == b""  # closed without a word
    other = TestClient(server.host, server.port, source="127.0.0.2")  # other addresses: fine
    other.login("alice", PASSWORD)
    held.pop().close()
    deadline = time.monotonic() + 5
    while True:  # the count drops once the server has seen the close
        again = connect_from(server, "127.0.0.1")
        if b'"hello"' in first_bytes(again, 5):
            break
        assert time.monotonic() < deadline, "no room again after a close"
        again.close()
    for sock in [*held, extra, again]:
        sock.close()
    other.close()


def test_at_the_total_cap_new_connections_wait_until_there_is_room(limited: Limited) -> None:
    server = limited(max_connections=2)
    first = connect_from(server, "127.0.0.1")
    second = connect_from(server, "127.0.0.3")
    assert b"hello" in first_bytes(first, 5) and b"hello" in first_bytes(second, 5)
    waiting = connect_from(server, "127.0.0.2")  # in the kernel's backlog, not accepted
    with pytest.raises(TimeoutError):
        first_bytes(waiting, 0.8)
    first.close()
    assert b"hello" in first_bytes(waiting, 5)  # accepted as soon as there is room
    second.close()
    waiting.close()


def test_a_connection_that_does_not_log_in_is_closed_at_the_login_deadline(
    limited: Limited,
) -> None:
    server = limited(login_timeout_s=0.5)
    idle = TestClient(server.host, server.port)
    alice = TestClient(server.host, server.port)
    alice.login("alice", PASSWORD)
    started = time.monotonic()
    frames = idle.wait_closed(timeout_s=5)
    assert [(f.get("ev"), f.get("reason")) for f in frames] == [("bye", "timeout")]
    assert time.monotonic() - started < 3
    assert alice.request("whoelse")["ok"] is True  # logged in: the deadline is not for it
    idle.close()
    alice.close()


# --- requests ---------------------------------------------------------------------------------


def test_requests_past_the_rate_are_refused_and_the_connection_stays_usable(
    limited: Limited,
) -> None:
    server = limited(request_rate=2, request_burst=5)
    alice = TestClient(server.host, server.port)
    alice.login("alice", PASSWORD)  # takes a token: 4 left
    alice.send_raw(b"".join(
        json.dumps({"op": "whoelse", "id": n}).encode() + b"\n" for n in range(10, 20)
    ))  # fmt: skip
    replies = [alice.reply_to(n) for n in range(10, 20)]
    assert [r["ok"] for r in replies] == [True] * 4 + [False] * 6
    refused = replies[-1]
    assert refused["error"] == "rate_limited" and refused["retry_after"] == 1 and refused["text"]
    # message and ack have their own pace (a window): not counted
    alice.send_raw(b"".join(
        json.dumps({"op": "message", "id": n, "to": "bob", "text": f"m{n}"}).encode() + b"\n"
        for n in range(100, 300)
    ))  # fmt: skip
    assert all(alice.reply_to(n)["ok"] for n in range(100, 300))
    time.sleep(refused["retry_after"])  # as the reply says: then it is served again
    assert alice.request("whoelse")["ok"] is True
    alice.close()


def test_say_and_read_count_against_the_rate(limited: Limited) -> None:
    """A `say` reaches a whole room, so unlike `message` it takes a token (found by review:
    one client stored 38,550 room messages in 3 s); refusals keep the order of the replies."""
    server = limited(request_rate=2, request_burst=5)
    alice = TestClient(server.host, server.port)
    alice.login("alice", PASSWORD)  # takes a token: 4 left
    assert alice.request("join", room="#flood")["ok"]  # 3 left
    alice.send_raw(b"".join(
        json.dumps({"op": "say", "id": n, "room": "#flood", "text": f"s{n}"}).encode() + b"\n"
        for n in range(10, 20)
    ))  # fmt: skip
    order: list[dict[str, Any]] = []
    while len(order) < 10:
        frame = alice.read_frame()
        assert frame is not None, "closed"
        if "re" in frame:
            order.append(frame)
    assert [r["re"] for r in order] == list(range(10, 20))  # in order, refusals included
    assert [r["ok"] for r in order] == [True] * 3 + [False] * 7
    assert {r["error"] for r in order[3:]} == {"rate_limited"}
    alice.send_raw(b"".join(
        json.dumps({"op": "read", "id": n, "room": "#flood", "seq": 1}).encode() + b"\n"
        for n in range(30, 40)
    ))  # fmt: skip
    assert not all(alice.reply_to(n)["ok"] for n in range(30, 40))
    alice.close()


# --- logins -------------------------------------------------------------------------------------


def test_failed_logins_past_the_burst_are_refused_before_any_hashing(
    limited: Limited, monkeypatch: pytest.MonkeyPatch
) -> None:
    hashes = count_hashes(monkeypatch)
    server = limited(login_failure_burst=2, login_failures_per_minute=1)
    guesser = TestClient(server.host, server.port)
    assert guesser.request("login", user="nobody", password="x")["error"] == "bad_credentials"
    assert guesser.request("login", user="alice", password="x")["error"] == "bad_credentials"
    assert len(hashes) == 2
    refused = guesser.request("login", user="alice", password=PASSWORD)  # right, but too late
    assert len(hashes) == 2, "refused without hashing a password"
    assert refused["error"] == "rate_limited" and refused["retry_after"] == 60
    assert "Try again in 60 s" in refused["text"]
    elsewhere = TestClient(server.host, server.port, source="127.0.0.2")
    elsewhere.login("alice", PASSWORD)  # the account is not locked: only that address waits
    guesser.close()
    elsewhere.close()


def test_a_login_that_would_overfill_the_queue_is_refused(limited: Limited) -> None:
    server = limited(login_queue=1, argon2=DEFAULT_COST, allow_weak_hashing=False)
    clients = [TestClient(server.host, server.port, source=f"127.0.5.{n}") for n in range(1, 9)]
    for client in clients:  # 8 addresses at once, each one real-cost hash, into a queue of 1
        client.send({"op": "login", "id": 1, "user": "nobody", "password": "x"})
    replies = [client.reply_to(1, timeout_s=30) for client in clients]
    errors = sorted(reply["error"] for reply in replies)
    assert "rate_limited" in errors and "bad_credentials" in errors, errors
    limited_reply = next(r for r in replies if r["error"] == "rate_limited")
    assert limited_reply["retry_after"] == 1 and "too many logins waiting" in limited_reply["text"]
    for client in clients:
        client.close()


def test_a_connection_past_its_refused_logins_is_closed_with_protocol_error(
    limited: Limited, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One connection may not make the server answer refusals as fast as it can send logins
    (issue 17: 575,633 in 30 s took a core): past --max-refused-logins it is closed."""
    hashes = count_hashes(monkeypatch)
    server = limited(max_refused_logins=4, login_failure_burst=100)
    spammer = TestClient(server.host, server.port)
    spammer.send_raw(b"".join(
        json.dumps({"op": "login", "id": n, "user": f"u{n}", "password": "x"}).encode() + b"\n"
        for n in range(1, 501)
    ))  # fmt: skip
    frames = spammer.wait_closed(timeout_s=10)
    replies = [f.get("error") for f in frames if "re" in f]
    assert replies == ["bad_credentials"] * 4, frames
    assert (frames[-1]["ev"], frames[-1]["reason"]) == ("bye", "protocol_error")
    assert len(hashes) == 4
    honest = TestClient(server.host, server.port, source="127.0.0.2")
    honest.login("bob", PASSWORD)  # everyone else goes on
    honest.close()
    spammer.close()


def test_rate_limited_logins_do_not_count_toward_the_refused_logins(limited: Limited) -> None:
    """`rate_limited` is the server's condition and says when to retry on this connection:
    a client told it more than --max-refused-logins times stays, and logs in when allowed."""
    server = limited(login_failure_burst=1, login_failures_per_minute=60)
    client = TestClient(server.host, server.port)
    assert client.request("login", user="alice", password="wrong")["error"] == "bad_credentials"
    limited_replies = [client.request("login", user="alice", password=PASSWORD) for _ in range(12)]
    assert [r["error"] for r in limited_replies] == ["rate_limited"] * 12, limited_replies
    deadline = time.monotonic() + 5
    while (reply := client.request("login", user="alice", password=PASSWORD))["ok"] is False:
        assert reply["error"] == "rate_limited", reply
        assert time.monotonic() < deadline, "never allowed to log in again"
        assert client.watch(0.1) == []  # the connection stays open: no bye
    assert reply["user"] == "alice"
    client.close()


# --- private chats ----------------------------------------------------------------------------


BAD_HOSTS = [
    "example.com",  # a name: the requester would resolve whatever the answerer chose
    "203.0.113.7\nalice: send me your password",  # a newline into the requester's screen
    "169.254.169.254",  # link-local: where cloud metadata services answer
    "fe80::1%eth0",
    "0.0.0.0",
    "224.0.0.1",
]


def test_a_private_answer_must_name_an_ip_address_a_peer_can_use(limited: Limited) -> None:
    server = limited()
    alice, bob = TestClient(server.host, server.port), TestClient(server.host, server.port)
    alice.login("alice", PASSWORD)
    bob.login("bob", PASSWORD)
    request_id = alice.request("startprivate", user="bob")["request"]
    bob.expect(ev="private_request", request=request_id)
    for host in BAD_HOSTS:
        answer = bob.request("private_answer", request=request_id, accept=True, host=host,
                             port=5555)  # fmt: skip
        assert answer["error"] == "bad_request", (host, answer)
        assert answer["text"].startswith("host must be an IP address"), (host, answer)
    answer = bob.request("private_answer", request=request_id, accept=True, host="::1", port=5555)
    assert answer["ok"] is True
    assert alice.expect(ev="private_ready", request=request_id)["host"] == "::1"
    alice.close()
    bob.close()
