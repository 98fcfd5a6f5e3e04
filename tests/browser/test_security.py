"""What others send is shown as text, never run: markup, `javascript:` links and right-to-left
overrides in messages stay inside their message. And the page's server defends the session: a
page from another origin cannot open its WebSocket, and every page carries a strict CSP."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import expect

from tests.conftest import PASSWORD
from tests.support.client import TestClient
from tests.support.page import ChatPage
from tests.support.server import RunningServer

PAYLOADS = [
    '<img src=x onerror="window.__pwned = 1">',
    "<script>window.__pwned = 2</script>",
    "javascript:window.__pwned = 3",
    '<a href="javascript:window.__pwned = 4">click me</a>',
    "see https://example.org/?q=<b>bold</b>",
    "\u202eevil override\u202c then normal",
]


def test_hostile_messages_are_shown_as_text_and_nothing_runs(
    open_page: Callable[..., ChatPage],
    users: Callable[..., list[str]],
    connect: Callable[[], TestClient],
) -> None:
    alice, mallory = users("alice", "mallory")
    page = open_page().sign_in(alice)
    dialogs: list[str] = []
    page.page.on("dialog", lambda dialog: dialogs.append(dialog.message))
    terminal = connect()
    terminal.login(mallory, PASSWORD)
    for text in PAYLOADS:
        assert terminal.request("message", to=alice, text=text)["ok"] is True
    page.open(f"@{mallory}")
    for text in PAYLOADS[:-2]:
        page.expect_message(text)
    thread = page.page.locator("#messages")
    expect(thread.locator(".text")).to_have_count(len(PAYLOADS))
    expect(thread.locator("img, script, iframe")).to_have_count(0)
    # The one link is the https one (ending before the "<"), opening apart from this page.
    links = thread.locator("a")
    expect(links).to_have_count(1)
    expect(links).to_have_attribute("href", "https://example.org/?q=")
    expect(links).to_have_attribute("rel", "noopener noreferrer")
    expect(links).to_have_attribute("target", "_blank")
    page.expect_message(PAYLOADS[-2])

    override = page.message(PAYLOADS[-1])
    expect(override).to_have_count(1)
    text_style = override.locator(".text").evaluate("e => getComputedStyle(e).unicodeBidi")
    name_style = override.locator(".from").evaluate("e => getComputedStyle(e).unicodeBidi")
    assert (text_style, name_style) == ("isolate", "isolate")
    # The override stays inside its text: the name still comes before the time.
    name_box = override.locator(".from").bounding_box()
    time_box = override.locator("time").bounding_box()
    assert name_box is not None and time_box is not None
    assert name_box["x"] < time_box["x"]

    assert page.page.evaluate("window.__pwned") is None
    assert dialogs == []


class _ForeignPage(BaseHTTPRequestHandler):
    """Another site (another port on this machine) whose page tries the chat's WebSocket."""

    target = ""

    def do_GET(self) -> None:
        body = (
            "<!doctype html><title>elsewhere</title><script>"
            f"const socket = new WebSocket({self.target!r});"
            "socket.onopen = () => { document.title = 'opened'; };"
            "socket.onerror = () => { document.title = 'refused'; };"
            "</script>"
        ).encode()
        self.send_response(200)
        self.send_header("content-type", "text/html; charset=utf-8")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def foreign_site(web_server: RunningServer) -> Iterator[str]:
    handler = type("Handler", (_ForeignPage,), {
        "target": f"ws://{web_server.host}:{web_server.web_port}/chat"})  # fmt: skip
    site = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=site.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{site.server_address[1]}/"
    site.shutdown()
    site.server_close()


def test_a_websocket_from_a_foreign_origin_is_refused(
    open_page: Callable[..., ChatPage],
    foreign_site: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    page = open_page().page
    page.goto(foreign_site)
    expect(page).to_have_title("refused")
    # The server refused it for its origin (logged before its 403 went out).
    assert any("is neither the page's own nor listed" in r.getMessage() for r in caplog.records)


def test_the_page_comes_with_a_strict_content_security_policy(
    open_page: Callable[..., ChatPage], web_server: RunningServer
) -> None:
    page = open_page().page
    response = page.goto(f"http://{web_server.host}:{web_server.web_port}/")
    assert response is not None
    csp = response.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
    assert f"connect-src ws://{web_server.host}:{web_server.web_port}/chat;" in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    # It is in force: a script the page did not ship is refused.
    violations = page.evaluate(
        """() => new Promise((resolve) => {
            document.addEventListener("securitypolicyviolation",
                (event) => resolve(event.violatedDirective));
            const script = document.createElement("script");
            script.src = "data:text/javascript,window.__ran = 1";
            document.head.append(script);
        })"""
    )
    assert violations.startswith("script-src")
    assert page.evaluate("window.__ran") is None
