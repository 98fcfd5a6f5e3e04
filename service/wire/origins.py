"""Web origins as the web port compares them: who may open a chat/1 WebSocket.

A browser names the page that opens a WebSocket in its `Origin` header; a page may only talk
to the web port from its own origin (the scheme, host and port the request's `Host` names) or
from one the operator listed (`--web-origin`), so another site cannot open a session with the
visitor's browser (cross-site WebSocket hijacking). Pure: the server's config checks
`--web-origin` with `parse_origin`, the web port the headers (service/net/web/).
"""

from __future__ import annotations

import re

Origin = tuple[str, str, int]  # (scheme, host in lower case, port): compared as a whole
DEFAULT_PORTS = {"http": 80, "https": 443}
# A host as Host and Origin carry it: a name or IPv4 address, or an IPv6 address in brackets.
_HOST = r"(?P<host>[a-z0-9](?:[a-z0-9.-]{0,252})|\[[0-9a-f:.]{2,45}\])(?::(?P<port>[0-9]{1,5}))?"
_HOST_RE = re.compile(_HOST + r"\Z", re.IGNORECASE)
_ORIGIN_RE = re.compile(r"(?P<scheme>https?)://" + _HOST + r"\Z", re.IGNORECASE)


def parse_origin(text: str) -> Origin | None:
    """`http://host[:port]` or `https://...` (no path, no user) -> an Origin; None for
    anything else, `null` (an opaque origin: a file, a sandboxed frame) included."""
    match = _ORIGIN_RE.match(text)
    if match is None:
        return None
    scheme = match["scheme"].lower()
    return _origin(scheme, match["host"], match["port"])


def host_origin(host: str, tls: bool) -> Origin | None:
    """The origin of a page served for a request whose `Host` header is `host`, on the web
    port with or without TLS; None if the header is not a host[:port]."""
    match = _HOST_RE.match(host)
    if match is None:
        return None
    return _origin("https" if tls else "http", match["host"], match["port"])


def _origin(scheme: str, host: str, port: str | None) -> Origin | None:
    number = DEFAULT_PORTS[scheme] if port is None else int(port)
    if not 1 <= number <= 65_535:
        return None
    return scheme, host.lower(), number


def show(origin: Origin) -> str:
    """As a browser writes it (the default port left out)."""
    scheme, host, port = origin
    return f"{scheme}://{host}" if DEFAULT_PORTS[scheme] == port else f"{scheme}://{host}:{port}"


def origin_allowed(
    origin: str | None, host: str | None, tls: bool, listed: frozenset[Origin]
) -> bool:
    """Whether a WebSocket upgrade whose headers say `origin` and `host` may proceed: only
    from the page's own origin or a listed one. No `Origin` at all is refused too: browsers
    always send one, and a program that talks to the web port sends the page's (as
    scripts/loadgen does), so the rule has no exception to reason about."""
    if origin is None:
        return False
    parsed = parse_origin(origin)
    if parsed is None:
        return False
    if parsed in listed:
        return True
    return host is not None and parsed == host_origin(host, tls)
