"""Search in the web page (chat/1 feature `search`): the panel finds the newest messages of the
user's rooms and direct conversations with every word, the last also as a beginning; a hit
opens its conversation; what is not the user's is never found; a query without words is
answered in words."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Locator, expect

from tests.conftest import PASSWORD
from tests.support.client import TestClient
from tests.support.page import ChatPage
from tests.support.rooms import join, say

OpenPage = Callable[..., ChatPage]
Users = Callable[..., list[str]]
Connect = Callable[[], TestClient]


def test_search_finds_the_users_messages_and_opens_their_conversation(
    open_page: OpenPage, users: Users, connect: Connect
) -> None:
    alice, bob, carol = users("alice", "bob", "carol")
    room, other_room = f"#lab{alice}", f"#secret{alice}"
    terminal_c = connect()
    terminal_c.login(carol, PASSWORD)
    join(terminal_c, room)
    join(terminal_c, other_room)
    say(terminal_c, room, "Lab schedule moved to Friday")
    say(terminal_c, other_room, "lab schedule of the secret room")  # alice is not in it
    terminal_b = connect()
    terminal_b.login(bob, PASSWORD)
    terminal_b.request("message", to=alice, text="the lab key is under the <b>mat</b>")
    terminal_b.request("message", to=carol, text="lab talk alice never sees")

    page = open_page().sign_in(alice)
    page.join(room)
    box = _open_search(page)
    expect(box).to_be_focused()
    hits = page.page.locator("#panel .search-hit")

    _search(box, "LAB sched")
    expect(hits).to_have_count(1)
    expect(hits.first).to_contain_text(room)
    expect(hits.first.locator(".search-text")).to_have_text("Lab schedule moved to Friday")

    _search(box, "lab")
    expect(hits).to_have_count(2)  # newest first: bob's message, then the room's
    expect(hits.first.locator(".search-text")).to_have_text("the lab key is under the <b>mat</b>")
    expect(page.page.locator("#panel b")).to_have_count(0)  # text, never markup
    hits.first.click()
    expect(page.page.locator("#conversation-title")).to_have_text(bob)

    _search(box, "!!!")
    expect(page.page.locator("#panel .note")).to_have_text(
        "Type a word to search for: letters or digits."
    )
    _search(box, "zebra")
    expect(page.page.locator("#panel")).to_contain_text("Nothing found.")


def test_on_a_phone_a_hit_shows_its_conversation(
    open_page: OpenPage, users: Users, connect: Connect
) -> None:
    alice, bob = users("alice", "bob")
    terminal = connect()
    terminal.login(bob, PASSWORD)
    terminal.request("message", to=alice, text="phone search target")
    page = open_page(width=375, height=740).sign_in(alice)
    _search(_open_search(page), "phone targ")
    page.page.locator("#panel .search-hit").click()
    expect(page.page.locator("#panel")).to_be_hidden()  # it covered the conversation
    expect(page.page.locator("#conversation-title")).to_have_text(bob)
    page.expect_message("phone search target")


def _open_search(page: ChatPage) -> Locator:
    """The top bar's Search opened; its box."""
    page.page.get_by_role("button", name="Search").first.click()
    return page.page.get_by_label("Words to search for")


def _search(box: Locator, words: str) -> None:
    box.fill(words)
    box.press("Enter")
