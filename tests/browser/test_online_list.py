"""Who is online, in the sidebar, comes in pages of `whoelse` (chat/1 point 18) as the sidebar
scrolls: a server with hundreds online does not send them all at sign-in. A module of its
own, so that only this test's people are online on its server."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import expect

from tests.conftest import PASSWORD
from tests.support.client import TestClient
from tests.support.page import ChatPage

ONLINE_PAGE = 200  # names per `whoelse` page the sidebar asks for (static/js/app.js)


def test_who_is_online_comes_in_pages_as_the_sidebar_scrolls(
    open_page: Callable[..., ChatPage],
    users: Callable[..., list[str]],
    connect: Callable[[], TestClient],
) -> None:
    (alice,) = users("alice")
    crowd = users(*["here"] * (ONLINE_PAGE + 10))
    for name in crowd:
        connect().login(name, PASSWORD)
    page = open_page().sign_in(alice)
    people = page.page.locator("#online-list .person")
    expect(people).to_have_count(ONLINE_PAGE)
    page.page.locator("#sidebar").evaluate("nav => { nav.scrollTop = nav.scrollHeight; }")
    expect(people).to_have_count(ONLINE_PAGE + 10)
    expect(people.filter(has_text=crowd[-1])).to_have_count(1)
