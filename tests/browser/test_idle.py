"""The idle timeout seen from the page: a warning before it, then the sign-in screen saying
why, without signing in again on its own (which would defeat the timeout)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support.page import ChatPage

IDLE_TIMEOUT_S = 2  # the page warns 1 s before


@pytest.fixture(scope="module")
def server_options() -> dict[str, Any]:
    return {"timeout_s": IDLE_TIMEOUT_S}


def test_the_page_warns_then_shows_why_the_session_ended(
    open_page: Callable[..., ChatPage], users: Callable[..., list[str]]
) -> None:
    (alice,) = users("alice")
    page = open_page().sign_in(alice)
    warning = page.page.locator("#idle-warning")
    expect(warning).to_contain_text("You will be signed out in 1 s for inactivity.")
    expect(warning.get_by_role("button", name="I'm here")).to_be_visible()
    expect(page.sign_in_note).to_have_text(
        "You were signed out after a while without activity.", timeout=10_000
    )
    expect(page.page.locator("#app")).to_be_hidden()
    expect(page.page.locator("#signin-status")).to_have_text("Sign in to chat.")  # not on its own
