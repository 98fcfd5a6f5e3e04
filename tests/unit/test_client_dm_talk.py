"""chat-client's direct-message record, through the controller with a fake link: `history
USER` and `more` page backwards with `before`, `conversations` lists partners with unread
counts, and a server without `dm_history` is asked nothing."""

from __future__ import annotations

from typing import Any

from tests.unit.test_client_room_talk import Harness

DMS = frozenset({"rooms", "dm_history"})


def dm(msg_id: int, sender: str = "bob", to: str = "alice", text: str = "") -> dict[str, Any]:
    return {
        "msg_id": msg_id, "from": sender, "to": to, "text": text or f"m{msg_id}",
        "sent_at": "2026-11-24T11:59:00Z",
    }  # fmt: skip


def test_history_user_shows_both_directions_and_more_pages_before_the_oldest() -> None:
    h = Harness(features=DMS)
    h.link.replies["dm_history"] = {
        "messages": [dm(7), dm(9, "alice", "bob", "hi")], "more": True,
    }  # fmt: skip
    h.run("history bob 2")
    assert h.requests()[-1] == ("dm_history", {"with": "bob", "limit": 2})
    assert h.lines() == [
        "You and bob, the last 2 messages:", "11:59 bob: m7", "11:59 you → bob: hi",
        "(more shows older ones)",
    ]  # fmt: skip

    h.link.replies["dm_history"] = {"messages": [dm(3)], "more": False}
    h.run("more")
    assert h.requests()[-1] == ("dm_history", {"with": "bob", "limit": 2, "before": 7})
    assert h.lines()[-3:] == [
        "You and bob, 1 earlier message:", "11:59 bob: m3", "(that is the beginning with bob)",
    ]  # fmt: skip


def test_more_after_a_room_history_pages_the_room_again() -> None:
    h = Harness(features=DMS)
    h.link.replies["dm_history"] = {"messages": [dm(7)], "more": True}
    h.run("history bob")
    h.link.replies["history"] = {"messages": [], "more": False}
    h.run("history #general")
    h.run("more")
    assert [op for op, _ in h.requests()] == ["dm_history", "history", "history"]


def test_a_refusal_is_the_servers_sentence() -> None:
    h = Harness(features=DMS)
    h.link.replies["dm_history"] = {"ok": False, "error": "no_such_user", "text": "No zed."}
    h.run("history zed")
    assert h.lines() == ["No zed."]


def test_conversations_lists_partners_newest_first_with_unread() -> None:
    h = Harness(features=DMS)
    h.link.replies["conversations"] = {"conversations": [
        {"with": "carol", "last_msg_id": 9, "last_at": "2026-11-24T11:59:00Z", "unread": 2},
        {"with": "bob", "last_msg_id": 4, "last_at": "2026-11-24T11:58:00Z", "unread": 0},
    ]}  # fmt: skip
    h.run("conversations")
    assert h.lines() == [
        "Conversations, newest first:", "  carol — 2 unread (last 11:59)", "  bob (last 11:58)",
    ]  # fmt: skip
    h.link.replies["conversations"] = {"conversations": []}
    h.run("dms")
    assert h.lines()[-1] == "No direct messages yet."


def test_a_server_without_dm_history_is_asked_nothing() -> None:
    h = Harness(features=frozenset({"rooms"}))
    h.run("history bob")
    h.run("conversations")
    assert h.requests() == []
    assert h.lines() == ["This server keeps no record of direct messages."] * 2
