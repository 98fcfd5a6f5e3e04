"""Direct messages through the web page: two pages and a terminal user (a raw chat/1 client
over TCP) talking both ways, the state of what was sent, offline messages at sign-in,
blocking, and a private-chat request to a page declined with its reason."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.conftest import PASSWORD
from tests.support.client import TestClient
from tests.support.page import ChatPage
from tests.support.server import RunningServer, create_users, start_server

OpenPage = Callable[..., ChatPage]
Users = Callable[..., list[str]]


def test_two_pages_and_a_terminal_user_talk_both_ways(
    open_page: OpenPage, users: Users, connect: Callable[[], TestClient]
) -> None:
    alice, bob, carol = users("alice", "bob", "carol")
    page_a = open_page().sign_in(alice)
    page_b = open_page().sign_in(bob)
    terminal = connect()
    terminal.login(carol, PASSWORD)

    page_a.write_to(bob)
    page_a.send("hello bob, from a browser")
    page_a.expect_message("hello bob, from a browser")
    expect(page_a.message("hello bob, from a browser").locator(".state")).to_have_text(
        " · delivered"
    )
    expect(page_b.sidebar_item(f"@{alice}").locator(".badge")).to_have_text("1")
    page_b.open(f"@{alice}")
    page_b.expect_message("hello bob, from a browser")
    page_b.send("hi alice\nsecond line")  # Shift+Enter is a new line; fill() types it whole
    page_a.expect_message("hi alice\nsecond line")

    terminal.request("message", to=alice, text="from the terminal")
    expect(page_a.sidebar_item(f"@{carol}").locator(".badge")).to_have_text("1")
    page_a.open(f"@{carol}")
    page_a.expect_message("from the terminal")
    page_a.send("and back to the terminal")
    event = terminal.expect(ev="message")
    assert (event["from"], event["text"]) == (alice, "and back to the terminal")


def test_enter_sends_and_shift_enter_starts_a_new_line(
    open_page: OpenPage, users: Users, connect: Callable[[], TestClient]
) -> None:
    alice, bob = users("alice", "bob")
    terminal = connect()
    terminal.login(bob, PASSWORD)
    page = open_page().sign_in(alice)
    page.write_to(bob)
    box = page.page.locator("#composer-text")
    box.press_sequentially("one")
    box.press("Shift+Enter")
    box.press_sequentially("two")
    box.press("Enter")
    assert terminal.expect(ev="message")["text"] == "one\ntwo"
    expect(box).to_have_value("")


def test_a_message_to_someone_offline_is_stored_and_shown_at_their_sign_in(
    open_page: OpenPage, users: Users, connect: Callable[[], TestClient]
) -> None:
    alice, bob = users("alice", "bob")
    page_a = open_page().sign_in(alice)
    page_a.write_to(bob)
    page_a.send("for when you come")
    expect(page_a.message("for when you come").locator(".state")).to_have_text(" · stored")

    page_b = open_page().sign_in(bob)
    expect(page_b.sidebar_item(f"@{alice}").locator(".badge")).to_have_text("1")
    expect(page_b.page).to_have_title("(1) Parley")
    page_b.open(f"@{alice}")
    page_b.expect_message("for when you come")
    expect(page_b.page).to_have_title("Parley")
    expect(page_b.sidebar_item(f"@{alice}").locator(".badge")).to_have_count(0)
    # Seen, so acknowledged: after a reload nothing waits, and the message is in the record.
    page_b.load()
    page_b.sign_in(bob)
    expect(page_b.sidebar_item(f"@{alice}")).to_be_visible()
    expect(page_b.sidebar_item(f"@{alice}").locator(".badge")).to_have_count(0)
    page_b.open(f"@{alice}")
    page_b.expect_message("for when you come")


def test_blocking_from_the_page(
    open_page: OpenPage, users: Users, connect: Callable[[], TestClient]
) -> None:
    alice, mallory = users("alice", "mallory")
    terminal = connect()
    terminal.login(mallory, PASSWORD)
    page = open_page().sign_in(alice)
    page.write_to(mallory)
    page.page.get_by_role("button", name="Block", exact=True).click()
    note = page.page.locator("#conversation-note")
    expect(note).to_have_text(f"You blocked {mallory}: they cannot message you or see you online.")
    expect(note).to_have_class(re.compile(r"\bdone\b"))  # a confirmation, not in error red
    expect(page.sidebar_item(f"@{mallory}").locator(".tag")).to_have_text("blocked")
    refused = terminal.request("message", to=alice, text="let me in")
    assert refused["ok"] is False and refused["error"] == "blocked"
    page.page.get_by_role("button", name="Unblock", exact=True).click()
    expect(page.sidebar_item(f"@{mallory}").locator(".tag")).to_have_count(0)
    assert terminal.request("message", to=alice, text="thanks")["ok"] is True
    page.expect_message("thanks")


def test_a_private_chat_request_to_a_page_is_declined_as_unsupported(
    open_page: OpenPage, users: Users, connect: Callable[[], TestClient]
) -> None:
    alice, carol = users("alice", "carol")
    page = open_page().sign_in(alice)
    terminal = connect()
    terminal.login(carol, PASSWORD)
    reply = terminal.request("startprivate", user=alice)
    assert reply["ok"] is True
    declined = terminal.expect(ev="private_declined")
    assert declined["reason"] == "unsupported" and declined["user"] == alice
    # Where a user looks for private chats, the page says why it offers none.
    page.write_to(carol)
    page.page.get_by_text("Private chat", exact=True).click()
    note = page.page.locator(".private-chat p")
    expect(note).to_contain_text("need chat-client")
    terminal.request("message", to=alice, text="oh, I see")
    page.expect_message("oh, I see")
    expect(note).to_be_visible()  # a new message does not close what the user opened


def test_broadcasts_both_ways(
    open_page: OpenPage, users: Users, connect: Callable[[], TestClient]
) -> None:
    alice, carol = users("alice", "carol")
    page = open_page().sign_in(alice)
    terminal = connect()
    terminal.login(carol, PASSWORD)
    terminal.request("broadcast", text="fire drill at noon")
    expect(page.sidebar_item("*").locator(".badge")).to_have_text("1")
    page.open("*")
    page.expect_message("fire drill at noon")
    page.send("thanks for the warning")
    expect(page.message("thanks for the warning").locator(".state")).to_have_text(
        re.compile(r" · to \d+ (person|people) online")
    )
    event = terminal.expect(ev="broadcast")
    assert (event["from"], event["text"]) == (alice, "thanks for the warning")


def test_the_people_panel_shows_who_was_on_lately_and_whom_you_block(
    open_page: OpenPage, users: Users, connect: Callable[[], TestClient]
) -> None:
    alice, bob, eve = users("alice", "bob", "eve")
    terminal = connect()
    terminal.login(bob, PASSWORD)
    terminal.request("logout")
    page = open_page().sign_in(alice)
    page.page.get_by_role("button", name="People").click()
    panel = page.page.locator("#panel")
    expect(panel.get_by_role("heading", name="Private chats")).to_be_visible()
    expect(panel.locator("#panel-body")).not_to_contain_text("null")  # nothing chosen yet
    page.page.get_by_label("Who was online in").select_option(label="the last hour")
    expect(panel.locator(".person", has_text=bob)).to_be_visible()
    panel.get_by_label("Block a user").fill(eve)
    panel.get_by_role("button", name="Block", exact=True).click()
    blocked = panel.locator("li", has_text=eve)
    expect(blocked.get_by_role("button", name="Unblock")).to_be_visible()
    blocked.get_by_role("button", name="Unblock").click()
    expect(panel.locator("li", has_text=eve)).to_have_count(0)


def test_writing_to_a_user_who_does_not_exist_is_refused_and_leaves_nothing(
    open_page: OpenPage, users: Users
) -> None:
    alice, bob = users("alice", "bob")
    ghost = "nobody_by_this_name"
    page = open_page().sign_in(alice)
    page.page.get_by_placeholder("username").fill(ghost)
    page.page.get_by_role("button", name="Write").click()
    expect(page.page.locator("#dm-form .note")).to_have_text(f"There is no user {ghost}.")
    expect(page.sidebar_item(f"@{ghost}")).to_have_count(0)
    expect(page.page.locator("#conversation-title")).to_have_text("Parley")  # nothing opened

    page.page.keyboard.press("Control+k")  # the switcher offers "Message X" for any name
    switcher = page.page.get_by_role("combobox", name="Conversation, room or user")
    switcher.press_sequentially(ghost)
    switcher.press("Enter")
    expect(page.page.locator("#switcher-note")).to_have_text(f"There is no user {ghost}.")
    expect(page.sidebar_item(f"@{ghost}")).to_have_count(0)
    switcher.fill(bob)  # a real one opens, its history asked
    switcher.press("Enter")
    expect(page.page.locator("#conversation-title")).to_have_text(bob)
    expect(page.page.get_by_text("This is the beginning of the conversation.")).to_be_visible()


def test_a_message_over_the_limit_stays_in_the_composer_with_the_reason(
    open_page: OpenPage, users: Users
) -> None:
    alice, bob = users("alice", "bob")
    page = open_page().sign_in(alice)
    page.write_to(bob)
    box = page.page.locator("#composer-text")
    box.fill("x" * 3_990)
    expect(page.page.locator("#composer-count")).to_have_text("3,990 / 4,000")
    too_long = "y" * 4_001
    page.send(too_long)
    expect(page.page.locator("#composer-note")).to_have_text(
        "A message may be at most 4,000 characters; this one has 4,001."
    )
    expect(box).to_have_value(too_long)  # still there, to be cut
    expect(page.messages).to_have_count(0)
    box.press("Backspace")
    expect(page.page.locator("#composer-note")).to_be_hidden()
    box.press("Enter")
    expect(page.message("y" * 4_000).locator(".state")).to_have_text(" · stored")
    expect(box).to_have_value("")
    expect(page.page.locator("#composer-count")).to_be_hidden()


@pytest.fixture
def terse_server(web_server: RunningServer, tmp_path: Path) -> Iterator[RunningServer]:
    """A server of its own whose text limit is lower than chat/1's 4,000 (which the page
    knows): only the server's refusal can tell the page."""
    config = replace(web_server.config, db_url=f"sqlite:///{tmp_path / 'terse.db'}",
                     max_text_chars=20)  # fmt: skip
    running = start_server(config)
    create_users(running.db_url, {"alice": PASSWORD, "bob": PASSWORD})
    yield running
    running.stop()


def test_a_message_over_a_lower_server_limit_goes_back_to_the_composer(
    open_page: OpenPage, terse_server: RunningServer
) -> None:
    page = open_page(server=terse_server).sign_in("alice")
    page.write_to("bob")
    page.send("z" * 21)
    expect(page.page.locator("#composer-note")).to_have_text(
        "A message may be at most 20 characters."
    )
    expect(page.page.locator("#composer-text")).to_have_value("z" * 21)
    expect(page.messages).to_have_count(0)  # not left behind, failed, with a "Send again"
