from __future__ import annotations

from collections.abc import Callable

from tests.support.client import TestClient


def test_message_reaches_an_online_user(login: Callable[[str], TestClient]) -> None:
    alice, bob = login("alice"), login("bob")
    reply = alice.request("message", to="bob", text="hi bob")
    assert reply["ok"] and reply["delivered"] is True
    event = bob.expect(ev="message")
    assert event["from"] == "alice" and event["text"] == "hi bob" and event["stored"] is False
