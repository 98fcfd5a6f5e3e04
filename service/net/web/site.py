"""What the web port answers to one HTTP request, pure: a static file, an error, or the
WebSocket upgrade on /chat. No sockets and no h11 here: a request's method, target and
headers in, a `Reply` (or an `Upgrade`) out; service/net/web/http.py carries it out.

- The files are a fixed map built once at start from the package's `static/` directory and
  its subfolders (shipped in the wheel), keyed by the exact path a request names. A path is
  looked up, never joined to a directory, so no request reaches a file outside the map
  (`/../`, `%2e%2e`, absolute forms are all just unknown paths: 404).
- Only GET and HEAD of those files, and GET with a WebSocket upgrade of /chat; another method
  on a known path is 405 with `Allow`, an unknown path 404.
- Every response carries a strict Content-Security-Policy (scripts and styles from the page's
  own origin only, no inline script, `connect-src` the WebSocket endpoint alone), nosniff,
  no referrer, and no framing; nothing but the static files may be cached (they are
  revalidated by their ETag, so a new server's page is seen at once).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable

from service.wire.origins import Origin, host_origin, origin_allowed, parse_origin, show

Headers = list[tuple[bytes, bytes]]  # lower-case names, as h11 hands them over

ENDPOINT = b"/chat"  # where the page opens its WebSocket
INDEX = "index.html"  # what "/" serves
CONTENT_TYPES = {  # by file suffix; anything else in static/ is not served
    ".html": b"text/html; charset=utf-8",
    ".js": b"text/javascript; charset=utf-8",
    ".css": b"text/css; charset=utf-8",
    ".svg": b"image/svg+xml; charset=utf-8",
    ".png": b"image/png",
    ".ico": b"image/x-icon",
    ".txt": b"text/plain; charset=utf-8",
}
WS_VERSION = b"13"  # RFC 6455
_WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 1.3


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    content_type: bytes
    etag: bytes  # a strong validator: a hash of the body


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    headers: Headers
    body: bytes = b""  # empty for HEAD, with Content-Length still the body's
    problem: str | None = None  # worth a log line (a refused origin)


@dataclass(frozen=True, slots=True)
class Upgrade:
    headers: Headers  # of the 101 response


def load_assets() -> dict[bytes, Asset]:
    """The static files, read once: path -> Asset ("/" is index.html). Subfolders count
    (`js/app.js` is served as /js/app.js), but only those named like code (`FOLDER_NAME`), and
    neither hidden files nor types outside CONTENT_TYPES: the map is all a request can reach."""
    assets: dict[bytes, Asset] = {}
    _add_folder(resources.files(__package__).joinpath("static"), b"", assets)
    if b"/" + INDEX.encode() in assets:
        assets[b"/"] = assets[b"/" + INDEX.encode()]
    return assets


FOLDER_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")  # static/'s subfolders that are served
_MAX_DEPTH = 4  # folders within folders: more is a mistake, not a layout


def _add_folder(folder: Traversable, prefix: bytes, assets: dict[bytes, Asset]) -> None:
    for entry in folder.iterdir():
        if entry.is_dir():
            if FOLDER_NAME.fullmatch(entry.name) and prefix.count(b"/") < _MAX_DEPTH:
                _add_folder(entry, prefix + b"/" + entry.name.encode(), assets)
            continue
        suffix = "." + entry.name.rpartition(".")[2]
        content_type = CONTENT_TYPES.get(suffix)
        if content_type is None or not entry.is_file() or entry.name.startswith("."):
            continue
        body = entry.read_bytes()
        etag = b'"' + hashlib.sha256(body).hexdigest()[:32].encode() + b'"'
        assets[prefix + b"/" + entry.name.encode()] = Asset(body, content_type, etag)


class Site:
    """The web port's answers: built once at start, then only read (any thread)."""

    def __init__(self, assets: dict[bytes, Asset], tls: bool, origins: tuple[str, ...]) -> None:
        self._assets = assets
        self._tls = tls
        listed = (parse_origin(origin.removesuffix("/")) for origin in origins)
        self._listed: frozenset[Origin] = frozenset(o for o in listed if o is not None)

    @property
    def largest_asset_bytes(self) -> int:
        return max((len(asset.body) for asset in self._assets.values()), default=0)

    def answer(self, method: bytes, target: bytes, headers: Headers) -> Reply | Upgrade:
        path = target.partition(b"?")[0]
        host = _one(headers, b"host")
        if path == ENDPOINT:
            if method != b"GET":
                return self.error(405, host, b"Only GET, with a WebSocket upgrade.", b"GET")
            return self._upgrade(headers, host)
        asset = self._assets.get(path)
        if asset is None:
            return self.error(404, host, b"Not found.")
        if method not in (b"GET", b"HEAD"):
            return self.error(405, host, b"Only GET and HEAD.", b"GET, HEAD")
        cache = [(b"cache-control", b"no-cache"), (b"etag", asset.etag)]
        if asset.etag in _tags(headers):
            return Reply(304, self._common(host) + cache)
        fields = [(b"content-type", asset.content_type), *cache,
                  (b"content-length", str(len(asset.body)).encode())]  # fmt: skip
        return Reply(200, self._common(host) + fields, asset.body if method == b"GET" else b"")

    def _upgrade(self, headers: Headers, host: bytes | None) -> Reply | Upgrade:
        """RFC 6455 4.2.1's checks, then the origin (cross-site WebSocket hijacking)."""
        upgrade = _tokens(headers, b"upgrade")
        if b"websocket" not in upgrade or b"upgrade" not in _tokens(headers, b"connection"):
            return self.error(426, host, b"This is a WebSocket endpoint.",
                               extra=[(b"upgrade", b"websocket")])  # fmt: skip
        if _one(headers, b"sec-websocket-version") != WS_VERSION:
            return self.error(426, host, b"Only WebSocket version 13.",
                               extra=[(b"sec-websocket-version", WS_VERSION)])  # fmt: skip
        key = _one(headers, b"sec-websocket-key")
        if key is None or not _valid_key(key):
            return self.error(400, host, b"A WebSocket key is missing or malformed.")
        origins = _all(headers, b"origin")
        origin = origins[0].decode("latin-1") if len(origins) == 1 else None
        text_host = host.decode("latin-1") if host is not None else None
        if len(origins) > 1 or not origin_allowed(origin, text_host, self._tls, self._listed):
            reply = self.error(403, host, b"This page may not open a chat here.")
            seen = repr(origin)[:200] if len(origins) <= 1 else f"{len(origins)} Origin headers"
            return Reply(reply.status, reply.headers, reply.body,
                         problem=f"Origin {seen} is neither the page's own nor listed by "
                         "--web-origin")  # fmt: skip
        accept = base64.b64encode(hashlib.sha1(key + _WS_GUID).digest())
        return Upgrade([(b"upgrade", b"websocket"), (b"connection", b"Upgrade"),
                        (b"sec-websocket-accept", accept)])  # fmt: skip

    def error(
        self, status: int, host: bytes | None, text: bytes, allow: bytes | None = None,
        extra: Headers | None = None,
    ) -> Reply:  # fmt: skip
        """An error response: `text` as a sentence, never cached; `allow` for a 405."""
        body = text + b"\n"
        fields = [(b"content-type", b"text/plain; charset=utf-8"),
                  (b"cache-control", b"no-store"),
                  (b"content-length", str(len(body)).encode())]  # fmt: skip
        if allow is not None:
            fields.append((b"allow", allow))
        return Reply(status, self._common(host) + fields + (extra or []), body)

    def _common(self, host: bytes | None) -> Headers:
        return security_headers(self.connect_src(host))

    def connect_src(self, host: bytes | None) -> bytes:
        """The WebSocket endpoint as the page will reach it: ws(s)://HOST/chat for the Host
        the request named (checked: a host and port, nothing else), or 'none'."""
        text = host.decode("latin-1") if host is not None else ""
        origin = host_origin(text, self._tls)
        if origin is None:
            return b"'none'"
        return show(origin).replace("http", "ws", 1).encode() + ENDPOINT


def security_headers(connect_src: bytes) -> Headers:
    policy = (b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
              b"connect-src " + connect_src + b"; base-uri 'none'; form-action 'none'; "
              b"frame-ancestors 'none'")  # fmt: skip
    return [
        (b"content-security-policy", policy),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
        (b"x-frame-options", b"DENY"),  # what frame-ancestors says, for older browsers
        (b"cross-origin-opener-policy", b"same-origin"),
        (b"cross-origin-resource-policy", b"same-origin"),
    ]


def _all(headers: Headers, name: bytes) -> list[bytes]:
    return [value for key, value in headers if key == name]


def _one(headers: Headers, name: bytes) -> bytes | None:
    values = _all(headers, name)
    return values[0] if len(values) == 1 else None


def _tokens(headers: Headers, name: bytes) -> set[bytes]:
    """A comma-separated header's tokens, in lower case, over all its lines."""
    return {t.strip().lower() for value in _all(headers, name) for t in value.split(b",")}


def _tags(headers: Headers) -> set[bytes]:
    return {t.strip().removeprefix(b"W/") for v in _all(headers, b"if-none-match")
            for t in v.split(b",")}  # fmt: skip


def _valid_key(key: bytes) -> bool:
    """Sec-WebSocket-Key: 16 bytes in base64 (RFC 6455 4.1)."""
    try:
        return len(base64.b64decode(key, validate=True)) == 16
    except (binascii.Error, ValueError):
        return False
