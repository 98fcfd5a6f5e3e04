"""The web client as a user sees it, for the browser tests: sign in, pick a conversation, type,
read. Locators go by what a user reads (labels, roles, text) where they can; every wait is
Playwright's own (expect, auto-wait), with a deadline, never a sleep."""

from __future__ import annotations

from playwright.sync_api import Locator, Page, expect

from tests.conftest import PASSWORD


class ChatPage:
    def __init__(self, page: Page, url: str) -> None:
        self.page = page
        self.url = url

    def load(self) -> ChatPage:
        self.page.goto(self.url)
        expect(self.page.locator("#signin-status")).not_to_have_text("Connecting to the server…")
        return self

    # ---- signing in ---------------------------------------------------------------------------

    def fill_sign_in(self, user: str, password: str = PASSWORD, remember: bool = False) -> None:
        self.page.get_by_label("Username").fill(user)
        self.page.get_by_label("Password", exact=True).fill(password)
        if remember:
            self.page.get_by_label("Stay signed in on this browser").check()
        self.page.get_by_role("button", name="Sign in", exact=True).click()

    def sign_in(self, user: str, password: str = PASSWORD, remember: bool = False) -> ChatPage:
        self.fill_sign_in(user, password, remember)
        self.expect_signed_in(user)
        return self

    def expect_signed_in(self, user: str) -> None:
        expect(self.page.locator("#me")).to_have_text(f"Signed in as {user}")

    @property
    def sign_in_note(self) -> Locator:
        return self.page.locator("#signin-note")

    # ---- conversations ------------------------------------------------------------------------

    def sidebar_item(self, conversation_id: str) -> Locator:
        """A conversation in the sidebar: "#lab", "@bob" or "*" (broadcasts)."""
        return self.page.locator(f'.conversation-item[data-id="{conversation_id}"]')

    def open(self, conversation_id: str) -> None:
        self.sidebar_item(conversation_id).click()
        name = conversation_id.removeprefix("@") if conversation_id != "*" else "Broadcasts"
        expect(self.page.locator("#conversation-title")).to_have_text(name)

    def join(self, room: str) -> None:
        self.page.get_by_placeholder("#room to join").fill(room)
        self.page.locator("#join-form").get_by_role("button", name="Join").click()
        expect(self.page.locator("#conversation-title")).to_have_text(room)

    def write_to(self, user: str) -> None:
        self.page.get_by_placeholder("username").fill(user)
        self.page.get_by_role("button", name="Write").click()
        expect(self.page.locator("#conversation-title")).to_have_text(user)

    def send(self, text: str) -> None:
        box = self.page.locator("#composer-text")
        box.fill(text)
        box.press("Enter")

    @property
    def messages(self) -> Locator:
        return self.page.locator("#messages .message")

    def message(self, text: str) -> Locator:
        """The message whose text is exactly `text`."""
        return self.page.locator("#messages .message").filter(
            has=self.page.locator(".text").get_by_text(text, exact=True)
        )

    def expect_message(self, text: str) -> Locator:
        found = self.message(text)
        expect(found).to_have_count(1)
        return found
