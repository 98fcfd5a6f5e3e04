"""Signing in from the page: the server's refusals in words (wrong password with the tries
left, locked with the wait, rate limited with the wait, online elsewhere with the offer to
take over), sign-up where the server allows it, and signing out."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.conftest import PASSWORD
from tests.support.page import ChatPage
from tests.support.server import RunningServer, start_server

OpenPage = Callable[..., ChatPage]
Users = Callable[..., list[str]]


@pytest.fixture(scope="module")
def server_options() -> dict[str, Any]:
    return {"block_duration_s": 60, "max_sessions_per_user": 1}


def test_wrong_passwords_say_what_is_left_then_the_lock_says_how_long(
    open_page: OpenPage, users: Users
) -> None:
    (bob,) = users("bob")
    page = open_page()
    page.fill_sign_in(bob, "wrong password 1")
    expect(page.sign_in_note).to_have_text(
        "Wrong username or password. 2 attempts left before the account locks."
    )
    page.fill_sign_in(bob, "wrong password 2")
    expect(page.sign_in_note).to_have_text(
        "Wrong username or password. 1 attempt left before the account locks."
    )
    page.fill_sign_in(bob, "wrong password 3")
    expect(page.sign_in_note).to_have_text(
        f"{bob} is locked after too many wrong passwords. Try again in 60 seconds."
    )
    page.fill_sign_in(bob, PASSWORD)  # the right one does not open a locked account
    expect(page.sign_in_note).to_contain_text("is locked after too many wrong passwords")


def test_online_elsewhere_offers_to_take_over(open_page: OpenPage, users: Users) -> None:
    (alice,) = users("alice")
    first = open_page().sign_in(alice)
    second = open_page()
    second.fill_sign_in(alice)
    expect(second.sign_in_note).to_have_text(f"{alice} is already signed in somewhere else.")
    take_over = second.page.get_by_role("button", name="Sign in here and end the other session")
    take_over.click()  # at once: the page kept what was typed (in memory) for this retry
    second.expect_signed_in(alice)
    expect(first.sign_in_note).to_have_text(
        "You signed in somewhere else, which ended this session."
    )
    # Replaced: the first page does not come back on its own.
    expect(first.page.locator("#signin")).to_be_visible()


def test_signing_out_returns_to_the_form_and_the_session_ends(
    open_page: OpenPage, users: Users
) -> None:
    (alice,) = users("alice")
    page = open_page().sign_in(alice)
    page.page.get_by_role("button", name="Sign out").click()
    expect(page.sign_in_note).to_have_text("You signed out.")
    expect(page.page.locator("#app")).to_be_hidden()
    page.sign_in(alice)  # the session ended: signing in again is not "online elsewhere"


@pytest.fixture
def open_server(web_server: RunningServer, tmp_path: Path) -> Iterator[RunningServer]:
    """A server of its own (sign-up open, a tiny allowance of failed logins per address), so
    that what this test spends does not meet the module's other tests."""
    config = replace(web_server.config, db_url=f"sqlite:///{tmp_path / 'open.db'}",
                     allow_signup=True, login_failure_burst=2,
                     login_failures_per_minute=1.0)  # fmt: skip
    running = start_server(config)
    yield running
    running.stop()


def test_sign_up_then_too_many_failures_from_one_address_are_rate_limited(
    open_page: OpenPage, open_server: RunningServer
) -> None:
    page = open_page(server=open_server)
    register = page.page.get_by_role("button", name="Create account")
    page.page.get_by_label("Username").fill("newcomer")
    page.page.get_by_label("Password", exact=True).fill("short")
    register.click()
    expect(page.sign_in_note).to_contain_text("8")  # the server's own words: too short
    page.page.get_by_label("Password", exact=True).fill("a long enough password")
    register.click()
    page.expect_signed_in("newcomer")
    page.page.get_by_role("button", name="Sign out").click()
    expect(page.sign_in_note).to_have_text("You signed out.")
    for attempt in range(1, 4):
        page.fill_sign_in("newcomer", f"wrong {attempt}")
        expect(page.page.locator("#signin-submit")).to_be_enabled()
        if "Too many attempts" in (page.sign_in_note.text_content() or ""):
            break
    expect(page.sign_in_note).to_have_text(
        re.compile(r"Too many attempts from this address\. Try again in \d+ (seconds|minutes?)\.")
    )
