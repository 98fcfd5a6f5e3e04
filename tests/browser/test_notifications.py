"""Telling the user a message came: the live region says it (what a screen reader reads
out; the list of messages itself is not live), and when the page is hidden and the user
allowed them, a desktop notification shows it; clicking that opens the conversation.

Chromium's own notifications are used, permission granted to the page's origin; the page's
`Notification` is wrapped only to count what it shows, and `document.hidden` set by the test,
as a headless browser has no other window to hide the page behind.
"""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import expect

from tests.conftest import PASSWORD
from tests.support.client import TestClient
from tests.support.page import ChatPage

_WATCH_NOTIFICATIONS = """
window.__shown = [];
window.__hidden = false;
Object.defineProperty(Document.prototype, "hidden", { get: () => window.__hidden });
const Shown = window.Notification;
window.Notification = class extends Shown {
  constructor(title, options) {
    super(title, options);
    window.__shown.push({ title, body: options.body, tag: options.tag, note: this });
  }
};
"""


def test_a_new_message_is_said_by_the_live_region_and_shown_on_the_desktop_when_hidden(
    open_page: Callable[..., ChatPage],
    users: Callable[..., list[str]],
    connect: Callable[[], TestClient],
) -> None:
    alice, bob = users("alice", "bob")
    page = open_page()
    page.page.context.grant_permissions(["notifications"], origin=page.url.rstrip("/"))
    page.page.add_init_script(_WATCH_NOTIFICATIONS)
    page.load()
    page.sign_in(alice)
    expect(page.page.get_by_role("button", name="Notify me")).to_be_hidden()  # already allowed
    terminal = connect()
    terminal.login(bob, PASSWORD)

    terminal.request("message", to=alice, text="are you there?")
    announcer = page.page.locator("#announcer")
    expect(announcer).to_have_attribute("aria-live", "polite")
    expect(announcer).to_have_text(f"{bob}: are you there?")
    assert page.page.evaluate("window.__shown.length") == 0  # the page is in sight

    page.page.evaluate("window.__hidden = true")
    terminal.request("message", to=alice, text="hello from the terminal")
    expect(announcer).to_have_text(f"{bob}: hello from the terminal")
    page.page.wait_for_function("window.__shown.length === 1")
    shown = page.page.evaluate("window.__shown.map(({ title, body }) => ({ title, body }))")
    assert shown == [{"title": bob, "body": "hello from the terminal"}]

    page.page.evaluate("window.__hidden = false")
    page.page.evaluate("window.__shown[0].note.dispatchEvent(new Event('click'))")
    expect(page.page.locator("#conversation-title")).to_contain_text(bob)
    page.expect_message("hello from the terminal")
