"""The client connects only where private_ready says, and only to an IP address a peer can
listen on: a name, a newline or a link-local address from the server is not dialled."""

from __future__ import annotations

import pytest

from tests.unit.test_client_controller import Harness


@pytest.mark.parametrize(
    "host", ["example.com", "10.0.0.2\nbob: hi", "169.254.169.254", "fe80::1%eth0", "0.0.0.0"]
)
def test_ready_with_an_unusable_host_is_not_dialled(host: str) -> None:
    h = Harness()
    ready = {
        "ev": "private_ready", "request": "r", "user": "bob",
        "host": host, "port": 5001, "token": "t",
    }  # fmt: skip
    h.chat.handle_incoming(ready)
    assert not any(kind == "connect" for kind, _ in h.log)
    assert h.lines() == ["The server sent no address for bob; cannot connect."]


@pytest.mark.parametrize("host", ["10.0.0.2", "::1", "2001:db8::7"])
def test_ready_with_an_ip_address_is_dialled_there(host: str) -> None:
    h = Harness()
    ready = {
        "ev": "private_ready", "request": "r", "user": "bob",
        "host": host, "port": 5001, "token": "t",
    }  # fmt: skip
    h.chat.handle_incoming(ready)
    assert ("connect", ("bob", host, 5001, "t")) in h.log
