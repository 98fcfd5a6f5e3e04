"""'Stay signed in' (chat/1 "Staying signed in", feature `tokens`): a reload comes back without
the password; signing out forgets it; after `chat-admin passwd` the page asks again."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import expect
from typer.testing import CliRunner

from cli.admin import app as admin_app
from tests.support.page import ChatPage
from tests.support.server import RunningServer

OpenPage = Callable[..., ChatPage]
Users = Callable[..., list[str]]
KICKED_WITHIN_MS = 10_000  # the server notices the operator's change within a second or two


def test_a_reload_comes_back_without_the_password(open_page: OpenPage, users: Users) -> None:
    (alice,) = users("alice")
    page = open_page().sign_in(alice, remember=True)
    page.page.reload()
    page.expect_signed_in(alice)
    assert "token" not in page.page.url
    saved = page.page.evaluate("localStorage.getItem('parley.signin')")
    assert saved is not None and alice in saved


def test_signing_out_forgets_the_saved_sign_in(open_page: OpenPage, users: Users) -> None:
    (alice,) = users("alice")
    page = open_page().sign_in(alice, remember=True)
    page.page.get_by_role("button", name="Sign out").click()
    expect(page.sign_in_note).to_have_text("You signed out.")
    assert page.page.evaluate("localStorage.getItem('parley.signin')") is None
    page.load()
    expect(page.page.get_by_label("Password", exact=True)).to_be_visible()
    expect(page.page.locator("#app")).to_be_hidden()


def test_after_a_password_change_the_page_asks_again(
    open_page: OpenPage, users: Users, web_server: RunningServer
) -> None:
    (alice,) = users("alice")
    page = open_page().sign_in(alice, remember=True)
    changed = CliRunner().invoke(
        admin_app, ["passwd", alice, "--db", web_server.db_url],
        input="a brand new password\na brand new password\n",
    )  # fmt: skip
    assert changed.exit_code == 0, changed.output
    expect(page.sign_in_note).to_contain_text("An operator ended your session",
                                              timeout=KICKED_WITHIN_MS)  # fmt: skip
    page.load()  # the saved token was revoked with the password: the page asks for the new one
    expect(page.sign_in_note).to_have_text(
        "Your saved sign-in has expired or was revoked. Please enter your password."
    )
    page.sign_in(alice, "a brand new password")
