"""What the web port answers to each request, pure (service/net/web/site.py)."""

from __future__ import annotations

import pytest

from service.net.web.site import Headers, Reply, Site, Upgrade, load_assets

HOST = b"127.0.0.1:8080"
KEY = b"dGhlIHNhbXBsZSBub25jZQ=="  # RFC 6455 1.3's example, and its answer:
ACCEPT = b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
CSP = (b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       b"connect-src ws://127.0.0.1:8080/chat; base-uri 'none'; form-action 'none'; "
       b"frame-ancestors 'none'")  # fmt: skip


@pytest.fixture(scope="module")
def site() -> Site:
    return Site(load_assets(), tls=False, origins=("https://chat.example.org/",))


def _reply(site: Site, method: bytes, target: bytes, *headers: tuple[bytes, bytes]) -> Reply:
    reply = site.answer(method, target, [(b"host", HOST), *headers])
    assert isinstance(reply, Reply)
    return reply


def _upgrade_headers(**changes: bytes | None) -> Headers:
    fields = {b"connection": b"keep-alive, Upgrade", b"upgrade": b"websocket",
              b"sec-websocket-version": b"13", b"sec-websocket-key": KEY,
              b"origin": b"http://127.0.0.1:8080"}  # fmt: skip
    for name, value in changes.items():
        fields[name.replace("_", "-").encode()] = value  # type: ignore[assignment]
    return [(b"host", HOST)] + [(k, v) for k, v in fields.items() if v is not None]


def test_the_files_are_a_fixed_map_with_their_types() -> None:
    assets = load_assets()
    assert set(assets) >= {b"/", b"/index.html", b"/js/main.js", b"/js/view/ui.js", b"/style.css"}
    assert assets[b"/"] is assets[b"/index.html"]
    assert assets[b"/js/main.js"].content_type == b"text/javascript; charset=utf-8"
    assert assets[b"/style.css"].content_type == b"text/css; charset=utf-8"
    assert b'<script type="module" src="js/main.js">' in assets[b"/"].body
    assert b"/package.json" not in assets  # tells node the files are modules; not served


def test_subfolders_are_served_by_their_exact_paths_only(site: Site) -> None:
    """The map reaches into static/'s subfolders, and a path is still only looked up:
    nothing names a file by way of `..`, a doubled slash or a folder alone."""
    assert _reply(site, b"GET", b"/js/view/dom.js").status == 200
    for target in (
        b"/js/",
        b"/js",
        b"/js/../index.html",
        b"/js//main.js",
        b"/js/%2e%2e/style.css",
        b"/view/dom.js",
        b"/js/view/../main.js",
        b"/JS/main.js",
    ):
        assert _reply(site, b"GET", target).status == 404, target


def test_every_script_builds_text_as_text() -> None:
    """No script of the page sets markup from a string (user text is always a text node)."""
    scripts = {path: asset.body for path, asset in load_assets().items()
               if path.endswith(b".js")}  # fmt: skip
    assert len(scripts) > 5
    for path, body in scripts.items():
        for sink in (
            b"innerHTML",
            b"outerHTML",
            b"insertAdjacentHTML",
            b"document.write",
            b"eval(",
            b"new Function",
        ):
            assert sink not in body, (path, sink)


def test_the_page_comes_with_its_security_headers(site: Site) -> None:
    reply = _reply(site, b"GET", b"/?from=bookmark")
    headers = dict(reply.headers)
    assert reply.status == 200 and reply.body.startswith(b"<!doctype html>")
    assert headers[b"content-security-policy"] == CSP
    assert headers[b"x-content-type-options"] == b"nosniff"
    assert headers[b"referrer-policy"] == b"no-referrer"
    assert headers[b"content-type"] == b"text/html; charset=utf-8"
    assert headers[b"cache-control"] == b"no-cache"  # revalidated by its ETag


def test_head_is_the_get_without_a_body_and_an_etag_that_matches_is_304(site: Site) -> None:
    got = _reply(site, b"GET", b"/js/main.js")
    head = _reply(site, b"HEAD", b"/js/main.js")
    assert head.status == 200 and head.body == b""
    assert dict(head.headers)[b"content-length"] == str(len(got.body)).encode()
    etag = dict(got.headers)[b"etag"]
    assert _reply(site, b"GET", b"/js/main.js", (b"if-none-match", etag)).status == 304


@pytest.mark.parametrize(
    "target",
    [b"/nope", b"/../../etc/passwd", b"/%2e%2e/%2e%2e/etc/passwd", b"/static/js/main.js",
     b"//js/main.js", b"/js/main.js/", b"http://127.0.0.1:8080/", b"*", b"/index.html%00"],
)  # fmt: skip
def test_anything_not_in_the_map_is_404(site: Site, target: bytes) -> None:
    reply = _reply(site, b"GET", target)
    assert reply.status == 404
    assert dict(reply.headers)[b"cache-control"] == b"no-store"


@pytest.mark.parametrize(
    ("method", "target", "allow"),
    [(b"POST", b"/", b"GET, HEAD"), (b"PUT", b"/js/main.js", b"GET, HEAD"),
     (b"OPTIONS", b"/", b"GET, HEAD"), (b"POST", b"/chat", b"GET")],
)  # fmt: skip
def test_another_method_on_a_known_path_is_405_with_allow(
    site: Site, method: bytes, target: bytes, allow: bytes
) -> None:
    reply = _reply(site, method, target)
    assert reply.status == 405 and dict(reply.headers)[b"allow"] == allow


def test_the_upgrade_answers_rfc_6455_s_accept(site: Site) -> None:
    upgrade = site.answer(b"GET", b"/chat", _upgrade_headers())
    assert isinstance(upgrade, Upgrade)
    assert dict(upgrade.headers)[b"sec-websocket-accept"] == ACCEPT


@pytest.mark.parametrize(
    ("changes", "status"),
    [
        ({"upgrade": None}, 426),
        ({"connection": b"keep-alive"}, 426),
        ({"sec_websocket_version": b"8"}, 426),
        ({"sec_websocket_key": None}, 400),
        ({"sec_websocket_key": b"c2hvcnQ="}, 400),
        ({"origin": b"http://evil.example"}, 403),
        ({"origin": b"http://127.0.0.1:8081"}, 403),
        ({"origin": b"null"}, 403),
    ],
)
def test_a_bad_or_foreign_upgrade_is_refused(
    site: Site, changes: dict[str, bytes | None], status: int
) -> None:
    reply = site.answer(b"GET", b"/chat", _upgrade_headers(**changes))
    assert isinstance(reply, Reply) and reply.status == status
    assert (reply.problem is not None) == (status == 403)  # a refused origin is logged


def test_a_listed_origin_may_upgrade_and_a_request_without_one_may_not(site: Site) -> None:
    upgrade = site.answer(b"GET", b"/chat", _upgrade_headers(origin=b"https://chat.example.org"))
    assert isinstance(upgrade, Upgrade)
    refused = site.answer(b"GET", b"/chat", _upgrade_headers(origin=None))
    assert not isinstance(refused, Upgrade) and refused.status == 403


def test_over_tls_the_endpoint_is_wss(site: Site) -> None:
    secure = Site(load_assets(), tls=True, origins=())
    assert secure.connect_src(b"example.org") == b"wss://example.org/chat"
    assert site.connect_src(b"bad host") == b"'none'"
