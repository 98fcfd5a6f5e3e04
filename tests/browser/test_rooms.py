"""Rooms in the web page: three members (two pages and a terminal user) talking, the members
panel, the rooms list, history scrolled back page by page, and the catch-up after a sign-in
with its unread divider, the server's read marker moved only once the messages were shown."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.conftest import PASSWORD
from tests.support.client import TestClient
from tests.support.page import ChatPage
from tests.support.rooms import crowd_room, join, many_rooms, say, say_all
from tests.support.server import RunningServer

OpenPage = Callable[..., ChatPage]
Users = Callable[..., list[str]]
Connect = Callable[[], TestClient]


@pytest.fixture(scope="module")
def server_options() -> dict[str, Any]:
    return {"max_sessions_per_user": 2}  # a page and a terminal of one user, for the marker


def test_a_room_with_three_members(open_page: OpenPage, users: Users, connect: Connect) -> None:
    alice, bob, carol = users("alice", "bob", "carol")
    page_a = open_page().sign_in(alice)
    page_a.join("#lab3")
    page_b = open_page().sign_in(bob)
    page_b.page.get_by_role("button", name="Browse").click()
    panel = page_b.page.locator("#panel")
    expect(panel.locator("li", has_text="#lab3")).to_be_visible()
    expect(panel.locator("#panel-body")).not_to_contain_text("null")  # after the last room
    panel.locator("li", has_text="#lab3").get_by_role("button", name="Join").click()
    expect(page_b.page.locator("#conversation-title")).to_have_text("#lab3")
    terminal = connect()
    terminal.login(carol, PASSWORD)
    join(terminal, "#lab3")

    page_a.send("hello, lab")
    page_b.expect_message("hello, lab")
    event = terminal.expect(ev="room_message")
    assert (event["room"], event["from"], event["text"]) == ("#lab3", alice, "hello, lab")
    say(terminal, "#lab3", "hello from the terminal")
    page_a.expect_message("hello from the terminal")
    page_b.expect_message("hello from the terminal")

    page_a.page.get_by_role("button", name="Members").click()
    expect(page_a.page.locator("#panel-body > p").first).to_have_text("3 members")
    expect(page_a.page.locator("#panel .person")).to_have_count(3)
    expect(page_a.page.locator("#panel .dot.online")).to_have_count(3)
    expect(page_a.page.locator("#panel-body")).not_to_contain_text("null")  # after the last

    page_b.page.get_by_role("button", name="Leave").click()
    expect(page_b.sidebar_item("#lab3")).to_have_count(0)
    expect(page_a.page.locator("#panel .person")).to_have_count(2)  # asked again on room_leave


def test_history_scrolls_back_past_two_pages(
    open_page: OpenPage, users: Users, connect: Connect
) -> None:
    alice, carol = users("alice", "carol")
    terminal = connect()
    terminal.login(carol, PASSWORD)
    join(terminal, "#hist")
    say_all(terminal, "#hist", {n: f"line {n}" for n in range(1, 121)})  # 50 to a page

    page = open_page().sign_in(alice)
    page.join("#hist")
    page.expect_message("line 120")
    messages = page.page.locator("#messages")
    # Each scroll to the top brings the page before (a page drawn while the list is still at
    # its top may bring the next at once: asked is what each scroll must at least bring).
    for oldest in ("line 21", "line 1"):
        messages.evaluate("list => { list.scrollTop = 0; }")
        expect(page.message(oldest)).to_be_attached()
    expect(page.messages).to_have_count(120)
    messages.evaluate("list => { list.scrollTop = 0; }")
    expect(page.message("line 1")).to_be_visible()
    expect(page.page.get_by_text("This is the beginning of the conversation.")).to_be_visible()


def test_catch_up_shows_the_divider_and_moves_the_marker_only_once_shown(
    open_page: OpenPage, users: Users, connect: Connect
) -> None:
    alice, bob = users("alice", "bob")
    terminal_a = connect()
    terminal_a.login(alice, PASSWORD)
    join(terminal_a, "#catch")
    say(terminal_a, "#catch", "before you left")
    terminal_a.request("logout")
    terminal_b = connect()
    terminal_b.login(bob, PASSWORD)
    join(terminal_b, "#catch")
    for n in (1, 2, 3):
        say(terminal_b, "#catch", f"missed {n}")

    page = open_page().sign_in(alice)
    expect(page.sidebar_item("#catch").locator(".badge")).to_have_text("3")
    # The page has the catch-up, but nothing is on screen yet: the marker has not moved.
    other = connect()
    assert other.login(alice, PASSWORD)["rooms"] == [{"room": "#catch", "unread": 3}]

    page.open("#catch")
    divider = page.page.locator("#messages .divider")
    expect(divider).to_have_text("New messages")
    first_unread = page.page.locator("#messages .divider + .message .text")
    expect(first_unread).to_have_text("missed 1")
    # The marker follows what is drawn: it may step (the catch-up can still be arriving
    # when the room opens) but only forward, and it ends on the newest message.
    marks = [other.expect(ev="room_read", room="#catch")["seq"]]
    while marks[-1] != 4:
        marks.append(other.expect(ev="room_read", room="#catch")["seq"])
    assert marks == sorted(set(marks)) and marks[0] >= 2, marks
    expect(page.sidebar_item("#catch").locator(".badge")).to_have_count(0)
    expect(page.message("before you left")).to_be_visible()  # history above the divider


def test_the_list_of_rooms_comes_in_pages_as_it_scrolls(
    open_page: OpenPage, users: Users, web_server: RunningServer
) -> None:
    (alice,) = users("alice")
    many_rooms(web_server.db_url, [f"#{alice}-{n:03d}" for n in range(130)], f"{alice}-host")
    page = open_page().sign_in(alice)
    page.page.locator("#browse-rooms").click()
    listed = page.page.locator("#panel .room-browser li")
    expect(listed).to_have_count(100)  # a page is 100 (the module's other rooms among them)
    page.page.locator("#panel-body").evaluate("body => { body.scrollTop = body.scrollHeight; }")
    mine = listed.filter(has_text=f"#{alice}-")
    expect(mine).to_have_count(130)
    expect(mine.last).to_contain_text(f"#{alice}-129")
    expect(mine.last.get_by_role("button", name="Join")).to_be_visible()


def test_a_long_members_list_comes_in_pages_as_it_scrolls(
    open_page: OpenPage, users: Users, web_server: RunningServer
) -> None:
    (alice,) = users("alice")
    crowd = [f"crowd{n:03d}" for n in range(150)]  # a page is 100 names
    crowd_room(web_server.db_url, "#crowd", crowd)
    page = open_page().sign_in(alice)
    page.join("#crowd")
    page.page.get_by_role("button", name="Members").click()
    expect(page.page.locator("#panel-body > p").first).to_have_text("151 members")
    people = page.page.locator("#panel .person")
    expect(people).to_have_count(100)
    page.page.locator("#panel-body").evaluate("body => { body.scrollTop = body.scrollHeight; }")
    expect(people).to_have_count(151)
    expect(people.last).to_have_text("crowd149")
