"""The server restarted in the middle of a conversation: the page shows it is reconnecting,
keeps what is typed meanwhile, signs in again on its own once the server is back on the same
ports and database, and the message typed while it was down is delivered exactly once."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Locator, expect

from tests.conftest import PASSWORD
from tests.support.client import TestClient
from tests.support.page import ChatPage
from tests.support.server import RunningServer, start_on, start_web_server

BACK_WITHIN_MS = 15_000  # a few reconnect attempts (0.5 s, then 1, 2, 4 s...) after the restart


@pytest.fixture
def web_server(tmp_path: Path, server_options: dict[str, Any]) -> Iterator[RunningServer]:
    """Each test stops its server: one of its own, not the module's."""
    running = start_web_server(tmp_path, server_options)
    yield running
    running.stop()


def _stop(page: ChatPage, server: RunningServer) -> tuple[int, int]:
    """Stop the server and see the page notice; its ports, to start it again on."""
    ports = (server.port, server.web_port)
    server.stop()
    expect(page.page.locator("#link-status")).to_contain_text("Connection lost")
    return ports


def _typed_while_down(page: ChatPage, text: str) -> Locator:
    """`text` sent while the server is down: shown as waiting for the connection."""
    page.send(text)
    typed = page.message(text)
    expect(typed.locator(".state")).to_have_text(" · waiting for the connection")
    return typed


def test_a_message_typed_while_the_server_is_down_goes_out_once_it_is_back(
    open_page: Callable[..., ChatPage],
    users: Callable[..., list[str]],
    web_server: RunningServer,
) -> None:
    alice, bob, carol = users("alice", "bob", "carol")
    page = open_page().sign_in(alice)
    online = page.page.locator("#online-list")
    carol_before = TestClient(web_server.host, web_server.port)
    carol_before.login(carol, PASSWORD)  # online until the server stops
    expect(online.locator(".person", has_text=carol)).to_be_visible()
    page.write_to(bob)
    page.send("before the restart")
    expect(page.message("before the restart").locator(".state")).to_have_text(" · stored")

    banner = page.page.locator("#link-status")
    ports = _stop(page, web_server)
    # Who is online cannot be known meanwhile: nobody shows green as if it were.
    expect(online.locator(".person")).to_have_count(0)
    expect(online).to_have_text("Who is online shows again once connected.")
    carol_before.close()
    typed = _typed_while_down(page, "typed while the server was down")
    expect(banner).to_contain_text("1 message waits to go out")

    again = start_on(web_server.config, *ports)
    try:
        expect(typed.locator(".state")).to_have_text(" · stored", timeout=BACK_WITHIN_MS)
        expect(banner).to_be_hidden()
        page.expect_signed_in(alice)

        terminal = TestClient(again.host, again.port)
        try:
            assert terminal.login(bob, PASSWORD)["pending"] == 2
            expect(online.locator(".person", has_text=bob)).to_be_visible()
            texts = [terminal.expect(ev="message")["text"] for _ in range(2)]
            assert texts == ["before the restart", "typed while the server was down"]
            record = terminal.request("dm_history", **{"with": alice})["messages"]
            assert [m["text"] for m in record] == texts  # stored once each
            terminal.request("message", to=alice, text="welcome back")
            page.expect_message("welcome back")
        finally:
            terminal.close()
    finally:
        again.stop()


def test_a_message_typed_while_down_survives_the_tab_and_goes_out_once(
    open_page: Callable[..., ChatPage],
    users: Callable[..., list[str]],
    web_server: RunningServer,
) -> None:
    """Typed while the server is down, then the tab closed before it came back: the next page
    of that browser sends it, with the nonce the first one gave it, and only once."""
    alice, bob = users("alice", "bob")
    page = open_page().sign_in(alice, remember=True)
    page.write_to(bob)
    ports = _stop(page, web_server)
    _typed_while_down(page, "typed, then the tab closed")
    browser = page.page.context
    page.page.close()

    again = start_on(web_server.config, *ports)
    try:
        later = ChatPage(browser.new_page(), page.url).load()
        later.expect_signed_in(alice)  # with the saved sign-in
        later.open(f"@{bob}")
        typed = later.message("typed, then the tab closed")
        expect(typed.locator(".state")).to_have_text(" · sent", timeout=BACK_WITHIN_MS)
        unsent = later.page.evaluate(f"localStorage.getItem('parley.unsent.{alice}')")
        assert unsent is None  # answered: the next page sends nothing again

        terminal = TestClient(again.host, again.port)
        try:
            assert terminal.login(bob, PASSWORD)["pending"] == 1
            assert terminal.expect(ev="message")["text"] == "typed, then the tab closed"
            record = terminal.request("dm_history", **{"with": alice})["messages"]
            assert [m["text"] for m in record] == ["typed, then the tab closed"]
        finally:
            terminal.close()
        later.page.reload()
        later.expect_signed_in(alice)
        later.open(f"@{bob}")
        expect(later.messages).to_have_count(1)  # from the record, not sent again
    finally:
        again.stop()


def test_a_room_message_typed_while_the_server_is_down_is_said_once_it_is_back(
    open_page: Callable[..., ChatPage],
    users: Callable[..., list[str]],
    web_server: RunningServer,
) -> None:
    """A `say` goes out with its nonce as a direct message does: once back, once in the room."""
    alice, bob = users("alice", "bob")
    room = f"#back-{alice}"
    page = open_page().sign_in(alice, remember=True)
    page.join(room)
    ports = _stop(page, web_server)
    typed = _typed_while_down(page, "said while the server was down")

    again = start_on(web_server.config, *ports)
    try:
        # a room message shows no state once the server took it (only while it waits)
        expect(typed.locator(".state")).to_have_count(0, timeout=BACK_WITHIN_MS)
        expect(page.page.locator("#link-status")).to_be_hidden()
        terminal = TestClient(again.host, again.port)
        try:
            terminal.login(bob, PASSWORD)
            assert terminal.request("join", room=room)["ok"] is True
            said = terminal.request("history", room=room)["messages"]
            assert [(m["from"], m["text"]) for m in said] == [
                (alice, "said while the server was down")]  # fmt: skip
        finally:
            terminal.close()
        page.page.reload()
        page.expect_signed_in(alice)
        page.open(room)
        expect(page.messages).to_have_count(1)  # from the room's history, not said again
    finally:
        again.stop()
