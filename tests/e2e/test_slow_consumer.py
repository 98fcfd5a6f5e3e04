"""A recipient that never reads stalls nobody, is cut off, and loses no direct message.

chat/1 "Rules every server must keep: Slow consumers" and "Messages are never lost".
The stalled reader is a raw socket with a tiny receive buffer that never calls recv(): the
kernel buffers on both sides fill, then the server's bounded outbox, then the server must end
that connection while the sender's requests keep being answered.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from service.config import ServerConfig
from service.net.outbox import Outbox
from service.store import Store
from tests.conftest import PASSWORD
from tests.support.client import TestClient
from tests.support.server import RunningServer
from tests.support.slow_reader import (
    MAX_MESSAGES,
    OUTBOX_LIMIT_BYTES,
    SMALL_RCVBUF_BYTES,
    TEXT,
    send_until_cut_off,
)

Frame = dict[str, Any]
Login = Callable[[str], TestClient]


@pytest.fixture
def server_config(db_url: str) -> ServerConfig:
    return ServerConfig(
        port=0,
        db_url=db_url,
        block_duration_s=60,
        timeout_s=300,
        outbox_limit_bytes=OUTBOX_LIMIT_BYTES,
        request_rate=0,  # `say` takes from it (`message` does not): fill bob's buffers fast
    )


@pytest.fixture
def carol(login: Login) -> TestClient:
    """A bystander, online before bob, who reads everything."""
    return login("carol")


def small_buffer_login(server: RunningServer, user: str) -> socket.socket:
    """A raw socket with a tiny receive buffer that has sent a login (nothing read yet)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SMALL_RCVBUF_BYTES)
    sock.settimeout(5)
    sock.connect((server.host, server.port))
    login = {"op": "login", "id": 1, "user": user, "password": PASSWORD}
    sock.sendall(json.dumps(login).encode() + b"\n")
    return sock


@pytest.fixture
def stalled_bob(server: RunningServer, carol: TestClient) -> Iterator[socket.socket]:
    """bob logged in on a socket that will never be read from."""
    sock = small_buffer_login(server, "bob")
    carol.expect(ev="presence", user="bob", state="online")  # bob's login went through
    yield sock
    sock.close()


def test_a_reader_that_never_reads_stalls_no_sender_and_keeps_its_messages(
    login: Login, connect: Callable[[], TestClient], carol: TestClient, stalled_bob: socket.socket
) -> None:
    alice = login("alice")

    sent = send_until_cut_off(alice)

    assert carol.expect(ev="presence", user="bob")["state"] == "offline"
    assert carol.request("ping")["ok"]  # everyone else is still served
    bob = connect()
    reply = bob.login("bob", PASSWORD)
    assert reply["pending"] == len(sent)  # nothing bob never acked was lost
    backlog = [bob.expect(ev="message") for _ in sent]
    assert [event["msg_id"] for event in backlog] == sent
    assert all(event["stored"] is True and event["text"] == TEXT for event in backlog)


def test_the_stalled_connection_is_closed(
    server: RunningServer, login: Login, carol: TestClient, stalled_bob: socket.socket
) -> None:
    alice = login("alice")
    send_until_cut_off(alice)
    carol.expect(ev="presence", user="bob", state="offline")
    store = Store.open(server.db_url, group_commit=False)
    try:  # what `chat-admin history` shows as the end reason of bob's session
        [period] = store.operator.login_history(since=None, user="bob") or []
    finally:
        store.close()
    assert period.end_reason == "slow_consumer"

    received = 0
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # what the kernel already holds, then the end
        try:
            chunk = stalled_bob.recv(1 << 20)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            break
        received += len(chunk)
    else:
        pytest.fail(f"the stalled connection was still open after {received} bytes")


def test_a_backlog_larger_than_the_outbox_reaches_a_client_that_keeps_reading(
    server: RunningServer, login: Login, carol: TestClient, stalled_bob: socket.socket
) -> None:
    """The bound is on what waits unsent, not on how much a login has to deliver: a client
    that reads all the time is not a slow consumer, and its backlog must reach it."""
    alice = login("alice")
    sent = send_until_cut_off(alice)  # as much as the kernels and the outbox hold, stored
    carol.expect(ev="presence", user="bob", state="offline")
    for _ in range(len(sent)):  # as much again, so the backlog cannot fit in any buffer
        reply = alice.request("message", to="bob", text=TEXT)
        assert reply["ok"] is True and reply["delivered"] is False, reply
        sent.append(reply["msg_id"])

    bob = small_buffer_login(server, "bob")
    try:
        frames = read_steadily(bob, want_messages=len(sent), deadline_s=20)
    finally:
        bob.close()

    backlog = [frame["msg_id"] for frame in frames if frame.get("ev") == "message"]
    byes = [frame for frame in frames if frame.get("ev") == "bye"]
    assert byes == [], f"ended after {len(backlog)} of {len(sent)} stored messages: {byes}"
    [reply] = [frame for frame in frames if frame.get("re") == 1]
    assert reply["ok"] is True and reply["pending"] == len(sent), reply
    assert backlog == sent, f"{len(backlog)} of {len(sent)} stored messages arrived"


def read_steadily(sock: socket.socket, want_messages: int, deadline_s: float) -> list[Frame]:
    """Read frames as fast as they come until `want_messages` messages, the end, or the
    deadline; never waits for anything but the socket."""
    frames: list[Frame] = []
    buffer = b""
    messages = 0
    deadline = time.monotonic() + deadline_s
    while messages < want_messages and time.monotonic() < deadline:
        sock.settimeout(max(deadline - time.monotonic(), 0.001))
        try:
            chunk = sock.recv(65_536)
        except (ConnectionResetError, TimeoutError):
            break
        if not chunk:
            break
        *lines, buffer = (buffer + chunk).split(b"\n")
        for line in lines:
            frame: Frame = json.loads(line)
            frames.append(frame)
            messages += frame.get("ev") == "message"
    return frames


def test_a_room_member_that_never_reads_is_cut_with_its_outbox_never_past_the_bound(
    monkeypatch: pytest.MonkeyPatch, login: Login, carol: TestClient, stalled_bob: socket.socket
) -> None:
    """A busy room's message is one bytes object shared by every member's outbox; each
    outbox still counts it in full, so the non-reader is cut once its own bound is reached."""
    most: dict[int, int] = {}  # per outbox: the most it held, the final `bye` aside
    queue = Outbox.send_nowait

    def watched(box: Outbox, data: bytes) -> bool:
        taken = queue(box, data)
        most[id(box)] = max(most.get(id(box), 0), box.pending_bytes)
        return taken

    monkeypatch.setattr(Outbox, "send_nowait", watched)
    alice = login("alice")
    assert alice.request("join", room="#busy")["ok"] and carol.request("join", room="#busy")["ok"]
    stalled_bob.sendall(json.dumps({"op": "join", "id": 2, "room": "#busy"}).encode() + b"\n")
    carol.expect(ev="room_join", user="bob")

    delivered_to = 2
    for _ in range(MAX_MESSAGES):
        reply = alice.request("say", room="#busy", text=TEXT)
        assert reply["ok"], reply
        delivered_to = reply["delivered_to"]
        if delivered_to < 2:
            break
    assert delivered_to == 1, "bob still got room messages"  # carol still does
    carol.expect(ev="presence", user="bob", state="offline")

    assert max(most.values()) > OUTBOX_LIMIT_BYTES // 2  # bob's outbox did fill
    assert max(most.values()) <= OUTBOX_LIMIT_BYTES
