"""A web session that never reads is a slow consumer like a TCP one: the senders are never
stalled, the session is ended (`slow_consumer`), and no direct message is lost.

The stalled page is a raw socket with a tiny receive buffer that upgrades to WebSocket, logs
in and never reads again (tests/e2e/test_slow_consumer.py does the same over TCP).
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator

import pytest

from service.config import ServerConfig
from service.store import Store
from tests.conftest import PASSWORD
from tests.support.client import TestClient
from tests.support.server import RunningServer
from tests.support.slow_reader import (
    OUTBOX_LIMIT_BYTES,
    SMALL_RCVBUF_BYTES,
    TEXT,
    send_until_cut_off,
)
from tests.support.ws import TEXT as TEXT_FRAME
from tests.support.ws import WsTestClient

pytestmark = pytest.mark.sqlite_only  # the transport, not the database
Login = Callable[[str], TestClient]


@pytest.fixture
def server_config(db_url: str) -> ServerConfig:
    return ServerConfig(
        port=0, web_port=0, db_url=db_url, block_duration_s=60, timeout_s=300,
        outbox_limit_bytes=OUTBOX_LIMIT_BYTES, request_rate=0,
    )  # fmt: skip


@pytest.fixture
def carol(login: Login) -> TestClient:
    """A bystander, online before bob, who reads everything."""
    return login("carol")


@pytest.fixture
def stalled_web_bob(server: RunningServer, carol: TestClient) -> Iterator[socket.socket]:
    """bob signed in over WebSocket on a socket that is never read after the upgrade."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SMALL_RCVBUF_BYTES)
    sock.settimeout(5)
    sock.connect((server.host, server.web_port))
    authority = f"{server.host}:{server.web_port}"
    upgrade = (
        f"GET /chat HTTP/1.1\r\nHost: {authority}\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        f"Sec-WebSocket-Version: 13\r\nOrigin: http://{authority}\r\n\r\n"
    )
    sock.sendall(upgrade.encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(1)
        assert chunk, "the server closed before its answer to the upgrade"
        head += chunk
    assert head.startswith(b"HTTP/1.1 101 "), head
    signing_in = {"op": "login", "id": 1, "user": "bob", "password": PASSWORD}
    sock.sendall(WsTestClient.masked(TEXT_FRAME, json.dumps(signing_in).encode()))
    carol.expect(ev="presence", user="bob", state="online")  # bob's login went through
    yield sock
    sock.close()


def test_a_page_that_never_reads_stalls_no_sender_is_cut_off_and_keeps_its_messages(
    server: RunningServer, login: Login, carol: TestClient, stalled_web_bob: socket.socket
) -> None:
    alice = login("alice")

    sent = send_until_cut_off(alice)  # every reply in time, until bob counts as offline

    carol.expect(ev="presence", user="bob", state="offline")  # his session has ended

    store = Store.open(server.db_url, group_commit=False)
    try:  # what `chat-admin history` shows as the end of bob's web session
        [period] = store.operator.login_history(since=None, user="bob") or []
    finally:
        store.close()
    assert period.end_reason == "slow_consumer"
    bob = WsTestClient(server.host, server.web_port)
    assert bob.login("bob", PASSWORD)["pending"] == len(sent)
    backlog = [bob.expect(ev="message") for _ in sent]
    assert [event["msg_id"] for event in backlog] == sent
    assert all(event["stored"] is True and event["text"] == TEXT for event in backlog)
    bob.close()
    assert alice.request("ping")["ok"] is True
