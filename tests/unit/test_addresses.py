"""Which addresses the per-address limits count together; where a private chat may point."""

from __future__ import annotations

import pytest

from service.wire.addresses import is_peer_address, source_key


@pytest.mark.parametrize(
    ("host", "key"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("203.0.113.9", "203.0.113.9"),
        ("::ffff:203.0.113.9", "203.0.113.9"),  # IPv4 seen by a dual-stack listener
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:bbbb::7", "2001:db8:1:2::/64"),  # the same machine, another address
        ("::1", "::/64"),
        ("not-an-address", "not-an-address"),
    ],
)
def test_source_key(host: str, key: str) -> None:
    assert source_key(host) == key


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "10.0.0.7", "192.168.1.20", "203.0.113.7", "::1", "2001:db8::5"]
)
def test_peer_addresses_are_ip_literals(host: str) -> None:
    assert is_peer_address(host)


@pytest.mark.parametrize(
    "host",
    [
        "example.com",  # a name: the requester would resolve what the answerer chose
        "localhost",
        "",
        "10.0.0.7\n",  # a newline to inject into the requester's screen
        " 10.0.0.7",
        "10.0.0.7:22",
        "[::1]",
        "fe80::1%eth0",  # a scope means nothing on another machine (and may carry any text)
        "::1%\nx",
        "169.254.169.254",  # link-local: cloud metadata services answer there
        "fe80::1",
        "::ffff:169.254.169.254",
        "0.0.0.0",
        "::",
        "224.0.0.1",
        "ff02::1",
        "255.255.255.255",
        "240.0.0.1",
        "127.1",  # not a strict dotted quad
    ],
)
def test_names_scopes_and_addresses_nobody_listens_on_are_refused(host: str) -> None:
    assert not is_peer_address(host)
