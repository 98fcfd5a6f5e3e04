"""Who may open a WebSocket on the web port (service/wire/origins.py)."""

from __future__ import annotations

import pytest

from service.wire.origins import host_origin, origin_allowed, parse_origin, show

LISTED = frozenset({("https", "chat.example.org", 443)})


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("http://localhost:8080", ("http", "localhost", 8080)),
        ("HTTPS://Chat.Example.ORG", ("https", "chat.example.org", 443)),
        ("http://127.0.0.1", ("http", "127.0.0.1", 80)),
        ("http://[::1]:8080", ("http", "[::1]", 8080)),
        ("null", None),  # a file:// page, a sandboxed frame
        ("ws://localhost:8080", None),
        ("http://localhost:8080/", None),  # an Origin header has no path
        ("http://user@localhost", None),
        ("http://localhost:0", None),
        ("http://localhost:70000", None),
        ("http://local host", None),
        ("", None),
    ],
)
def test_origins_are_parsed_strictly(text: str, parsed: object) -> None:
    assert parse_origin(text) == parsed


def test_the_page_s_own_origin_is_the_host_header_with_the_port_s_scheme() -> None:
    assert host_origin("127.0.0.1:8080", tls=False) == ("http", "127.0.0.1", 8080)
    assert host_origin("Example.org", tls=True) == ("https", "example.org", 443)
    assert host_origin("example.org:8080; evil", tls=False) is None
    assert show(("https", "example.org", 443)) == "https://example.org"
    assert show(("http", "example.org", 8080)) == "http://example.org:8080"


@pytest.mark.parametrize(
    ("origin", "host", "tls", "allowed"),
    [
        ("http://127.0.0.1:8080", "127.0.0.1:8080", False, True),
        ("http://localhost:8080", "LOCALHOST:8080", False, True),
        ("http://example.org", "example.org:80", False, True),  # the default port either way
        ("https://127.0.0.1:8080", "127.0.0.1:8080", False, False),  # another scheme
        ("http://127.0.0.1:8081", "127.0.0.1:8080", False, False),  # another port
        ("http://evil.example", "127.0.0.1:8080", False, False),
        ("https://chat.example.org", "127.0.0.1:8080", False, True),  # listed
        ("null", "127.0.0.1:8080", False, False),
        ("http://127.0.0.1:8080", None, False, False),  # no Host: nothing to compare with
        (None, "127.0.0.1:8080", False, False),  # none at all: refused as well
    ],
)
def test_an_upgrade_is_allowed_from_its_own_page_or_a_listed_one(
    origin: str | None, host: str | None, tls: bool, allowed: bool
) -> None:
    assert origin_allowed(origin, host, tls, LISTED) is allowed
