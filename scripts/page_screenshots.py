"""The web client's screenshots for the docs, remade on demand (scripts/screenshots).

A chat-server on port 0 over a throwaway SQLite file; a few accounts talking in a room and in
direct messages through raw chat/1 clients; then the page, signed in as alice, in Debian's
Chromium: 1280 px wide, then 375 px (a phone). Light mode, so the pictures match the README.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import Page, expect, sync_playwright

from service.config import ServerConfig
from tests.support.browser import CHROMIUM_ARGS, chromium_path
from tests.support.client import TestClient
from tests.support.page import ChatPage
from tests.support.server import TEST_COST, RunningServer, create_users, start_server

PASSWORD = "correct horse"
OUT = Path("docs/screenshots")
ROOM = "#cs101-lab"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help="folder for wide.png, phone.png")
    args = parser.parse_args()
    path = chromium_path()
    if path is None:
        print("screenshots: no Chromium (apt-get install chromium)", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        config = ServerConfig(port=0, db_url=f"sqlite:///{folder}/parley.db", web_port=0,
                              argon2=TEST_COST, allow_weak_hashing=True)  # fmt: skip
        create_users(config.db_url, dict.fromkeys(("alice", "bob", "carol", "dmitri"), PASSWORD))
        server = start_server(config)
        try:
            online = talk(server)
            try:
                shoot(server, path, args.out)
            finally:
                online.close()
        finally:
            server.stop()
    print(f"screenshots: wrote {args.out / 'wide.png'} and {args.out / 'phone.png'}")
    return 0


def talk(server: RunningServer) -> TestClient:
    """A conversation worth showing: a room with history, unread messages, direct messages.
    Returns carol's session, kept open so that the sidebar shows someone online."""
    people = {}
    for name in ("alice", "bob", "carol", "dmitri"):
        client = TestClient(server.host, server.port)
        client.login(name, PASSWORD)
        client.request("join", room=ROOM)
        people[name] = client
    people["alice"].request("join", room="#general")
    lines = [
        ("bob", "Morning! Is the lab still in room 204 today?"),
        ("carol", "Yes, 204. The schedule is at https://example.org/cs101/schedule"),
        ("alice", "Thanks. I'll bring the notes from Tuesday."),
    ]
    for name, text in lines:
        people[name].request("say", room=ROOM, text=text)
    people["alice"].request("read", room=ROOM, seq=3)  # she saw these before she left
    people["alice"].request("logout")
    people["dmitri"].request("say", room=ROOM, text="Does anyone have a sketch for exercise 3?")
    people["bob"].request("say", room=ROOM, text="We can go through exercise 3 together after.")
    people["carol"].request("say", room=ROOM, text="Good idea: 15:00 at the whiteboard?")
    people["bob"].request("message", to="alice", text="Can you send me Tuesday's notes?")
    for client in people.values():
        client.close()
    online = TestClient(server.host, server.port)
    online.login("carol", PASSWORD)
    return online


def shoot(server: RunningServer, chromium: str, out: Path) -> None:
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=chromium, headless=True,
                                         args=CHROMIUM_ARGS)  # fmt: skip
        url = f"http://{server.host}:{server.web_port}/"
        for name, width, height in (("wide", 1280, 760), ("phone", 375, 740)):
            context = browser.new_context(viewport={"width": width, "height": height},
                                          color_scheme="light", device_scale_factor=1)  # fmt: skip
            page = ChatPage(context.new_page(), url).load()
            page.sign_in("alice")
            page.open(ROOM)
            if name == "wide":  # the first to open the room: the catch-up is still unread
                expect(page.page.locator("#messages .divider")).to_be_visible()
                page.page.locator("#composer-text").fill("See you at 15:00!")
            settle(page.page)
            page.page.screenshot(path=out / f"{name}.png")
            context.close()
        browser.close()


def settle(page: Page) -> None:
    """Wait until the page drew what it was sent (the sidebar's online list, the history)."""
    expect(page.locator("#online-list .person")).to_have_count(1)
    expect(page.locator("#messages .edge")).to_have_text(
        "This is the beginning of the conversation."
    )


if __name__ == "__main__":
    sys.exit(main())
