"""Clients that log in with a large backlog and never read hold no login of anyone else: the
catch-up runs on threads of its own, so the auth slot and the address's turn are free as soon
as the password is judged (found by review: four such clients used to stop every login)."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable
from dataclasses import replace

import pytest

from service.config import ServerConfig
from tests.conftest import PASSWORD
from tests.support.client import TestClient
from tests.support.server import RunningServer

Login = Callable[..., TestClient]
STALLED = 5  # more than the auth pool's 4 threads
BACKLOG = 1_200  # messages of 4,000 characters: more than the outbox and the kernel's 4 MiB


@pytest.fixture
def server_config(server_config: ServerConfig) -> ServerConfig:
    return replace(server_config, outbox_limit_bytes=1 << 17)


def stalled_login(server: RunningServer, name: str) -> socket.socket:
    """Log in with a 4 KiB receive buffer and never read a byte."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((server.host, server.port))
    login = {"op": "login", "id": 1, "user": name, "password": PASSWORD}
    sock.sendall(json.dumps(login).encode() + b"\n")
    return sock


def test_clients_that_never_read_their_catch_up_do_not_hold_other_logins(
    server: RunningServer, login: Login, make_user: Callable[[str], None]
) -> None:
    names = [f"stall{n}" for n in range(STALLED)]
    for name in names:
        make_user(name)
    alice = login("alice")
    text = "x" * 4_000
    for name in names:
        for _ in range(BACKLOG):
            alice.send({"op": "message", "to": name, "text": text})
    assert alice.request("ping")["ok"]  # every message before it is answered, so stored

    stalled = [stalled_login(server, name) for name in names]
    try:
        deadline = time.monotonic() + 10
        while server.server.services.hub.recipients(set(names)).keys() != set(names):
            assert time.monotonic() < deadline, "the stalled clients never logged in"
            time.sleep(0.01)  # polling the hub: nothing to wait on
        started = time.monotonic()
        bob = TestClient(server.host, server.port)  # the same address as the stalled ones
        bob.login("bob", PASSWORD)
        took = time.monotonic() - started
        bob.close()
    finally:
        for sock in stalled:
            sock.close()
    assert took < 1.0, f"an honest login took {took:.2f} s behind {STALLED} stalled catch-ups"
