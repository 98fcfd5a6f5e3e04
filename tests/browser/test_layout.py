"""The page on a 375-px phone with nothing cut off (a side panel over a conversation too), in
dark mode as in light, and keyboard first: Ctrl+K and Esc switch conversations, Enter sends."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.conftest import PASSWORD
from tests.support.client import TestClient
from tests.support.page import ChatPage

PHONE_WIDTH = 375
LONG_WORD = "Pneumonoultramicroscopicsilicovolcanoconiosis" * 3
LONG_LINK = "https://example.org/" + "a-very-long-path/" * 8


def _fits(page: Page, selector: str) -> None:
    """`selector`'s element is on screen and inside the phone's width."""
    box = page.locator(selector).bounding_box()
    assert box is not None, f"{selector} is not shown"
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE_WIDTH + 0.5, (selector, box)


def _no_sideways_scroll(page: Page) -> None:
    width = page.evaluate(
        "Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"
    )
    assert width <= PHONE_WIDTH, f"the page is {width} px wide on a {PHONE_WIDTH}-px screen"


def test_a_phone_screen_shows_everything_without_cutting_it_off(
    open_page: Callable[..., ChatPage],
    users: Callable[..., list[str]],
    connect: Callable[[], TestClient],
    tmp_path: Path,
) -> None:
    alice, bartholomew = users("alice", "bartholomew_with_a_long_name")
    terminal = connect()
    terminal.login(bartholomew, PASSWORD)
    terminal.request("join", room="#a-room-with-a-rather-long-name")
    page = open_page(width=PHONE_WIDTH, height=740)
    _fits(page.page, "#signin-submit")
    page.sign_in(alice)
    _no_sideways_scroll(page.page)
    page.join("#a-room-with-a-rather-long-name")
    terminal.request("say", room="#a-room-with-a-rather-long-name", text=f"{LONG_WORD} {LONG_LINK}")
    page.expect_message(f"{LONG_WORD} {LONG_LINK}")
    page.send("a reply from the phone")
    page.expect_message("a reply from the phone")
    for selector in ("#back", "#conversation-title", "#composer-text", "#composer button",
                     "#signout", "#messages .message >> nth=0",
                     "#me"):  # which account this is, on a phone too  # fmt: skip
        _fits(page.page, selector)
    _no_sideways_scroll(page.page)
    page.page.screenshot(path=tmp_path / "phone-conversation.png")

    page.page.get_by_role("button", name="Members").click()  # the side panel takes the screen
    expect(page.page.locator("#panel .person")).to_have_count(2)
    panel = page.page.locator("#panel").bounding_box()
    assert panel is not None and panel["width"] >= PHONE_WIDTH - 1, panel
    _fits(page.page, "#panel-title")
    page.page.locator("#panel-close").click()
    expect(page.page.locator("#conversation-title")).to_be_visible()

    page.page.locator("#back").click()  # back to the list of conversations
    expect(page.page.locator("#sidebar")).to_be_visible()
    expect(page.page.locator("#conversation")).to_be_hidden()
    _fits(page.page, "#join-input")
    _no_sideways_scroll(page.page)
    page.page.screenshot(path=tmp_path / "phone-list.png")


def test_dark_mode_follows_the_system(open_page: Callable[..., ChatPage]) -> None:
    page = open_page().page
    light = page.evaluate("getComputedStyle(document.body).backgroundColor")
    page.emulate_media(color_scheme="dark")
    expect(page.locator("body")).not_to_have_css("background-color", light)
    page.emulate_media(color_scheme="light")
    expect(page.locator("body")).to_have_css("background-color", light)


def test_ctrl_k_and_esc_switch_conversations_from_the_keyboard(
    open_page: Callable[..., ChatPage], users: Callable[..., list[str]]
) -> None:
    alice, bob = users("alice", "bob")
    page = open_page().sign_in(alice)
    hint, pane = (page.page.locator(s).bounding_box() for s in ("#empty", "#conversation"))
    assert hint is not None and pane is not None
    middle = pane["y"] + pane["height"] / 2  # the hint sits in the middle of the empty pane
    assert abs(hint["y"] + hint["height"] / 2 - middle) < pane["height"] / 10, (hint, pane)
    keyboard = page.page.keyboard
    keyboard.press("Control+k")
    switcher = page.page.get_by_role("combobox", name="Conversation, room or user")
    expect(switcher).to_be_focused()
    switcher.press_sequentially("#keys")
    expect(page.page.get_by_role("option", name="Join #keys")).to_be_visible()
    keyboard.press("Enter")
    expect(page.page.locator("#conversation-title")).to_have_text("#keys")
    expect(page.page.locator("#composer-text")).to_be_focused()  # ready to type

    keyboard.press("Escape")  # from the composer: the switcher again
    switcher.press_sequentially(bob)
    keyboard.press("Enter")
    expect(page.page.locator("#conversation-title")).to_have_text(bob)

    keyboard.press("Escape")
    switcher.press_sequentially("ke")
    expect(page.page.get_by_role("option").first).to_have_text("#keys")
    keyboard.press("Escape")  # closes it, nothing changes
    expect(switcher).to_be_hidden()
    expect(page.page.locator("#conversation-title")).to_have_text(bob)


def test_a_new_message_keeps_the_keyboard_s_place_and_the_selection(
    open_page: Callable[..., ChatPage],
    users: Callable[..., list[str]],
    connect: Callable[[], TestClient],
) -> None:
    alice, bob = users("alice", "bob")
    terminal = connect()
    terminal.login(bob, PASSWORD)
    page = open_page().sign_in(alice)
    terminal.request("message", to=alice, text="first")
    item = page.sidebar_item(f"@{bob}")
    expect(item.locator(".badge")).to_have_text("1")
    expect(item).to_have_accessible_name(f"{bob}, online, 1 unread")  # said, not "bob1"
    item.focus()
    terminal.request("message", to=alice, text="second")
    expect(item.locator(".badge")).to_have_text("2")  # the sidebar was drawn anew...
    expect(item).to_be_focused()  # ...and the focus is where it was
    page.open(f"@{bob}")
    page.expect_message("second")
    # settled: both shown and acknowledged, the sidebar drawn again without the count, and
    # the conversation's history read (its arrival draws the list anew)
    expect(item.locator(".badge")).to_have_count(0)
    expect(page.page.locator("#messages .edge")).to_have_text(
        "This is the beginning of the conversation."
    )
    page.message("first").locator(".text").select_text()
    terminal.request("message", to=alice, text="third")
    page.expect_message("third")
    assert page.page.evaluate("getSelection().toString()") == "first"  # not drawn anew


def test_a_selection_lasts_past_the_minute(
    open_page: Callable[..., ChatPage],
    users: Callable[..., list[str]],
    connect: Callable[[], TestClient],
) -> None:
    """Nothing a message shows moves with the minute (its time is a clock time), so the list is
    not drawn anew as minutes pass: only when the day changes ("Today" becomes "Yesterday")."""
    alice, bob = users("alice", "bob")
    terminal = connect()
    terminal.login(bob, PASSWORD)
    page = open_page()
    # the page's clock at noon today (never across midnight), flowing, moved on by the test
    noon = datetime.now().replace(hour=12, minute=0, second=0, microsecond=0)
    page.page.clock.install(time=noon)
    page.load()
    page.sign_in(alice)
    terminal.request("message", to=alice, text="select me")
    page.open(f"@{bob}")
    expect(page.page.locator("#messages .edge")).to_have_text(
        "This is the beginning of the conversation."
    )
    page.message("select me").locator(".text").select_text()
    page.page.clock.fast_forward("02:00")  # two minutes later on the page's clock
    terminal.request("message", to=alice, text="two minutes later")
    page.expect_message("two minutes later")
    assert page.page.evaluate("getSelection().toString()") == "select me"


def test_signing_in_puts_the_keyboard_in_the_list_and_a_reload_lands_where_it_was(
    open_page: Callable[..., ChatPage], users: Callable[..., list[str]]
) -> None:
    (alice,) = users("alice")
    page = open_page().sign_in(alice)
    expect(page.page.locator("#sidebar :focus")).to_have_count(1)  # ready for Tab and Enter
    page.join("#landing")
    page.load()  # a reload: signed in again (with the password: no token kept)...
    page.sign_in(alice)
    expect(page.page.locator("#conversation-title")).to_have_text("#landing")  # ...in place
    expect(page.page.locator("#composer-text")).to_be_focused()
