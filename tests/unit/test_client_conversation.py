"""The current conversation (a room, or a user after `query`), `/me`, names typed in another
case, and messages on their way (`sending…` in the prompt, `retry`): issue 17, items 2, 5
and 7, through the controller with a fake link and fake timers."""

from __future__ import annotations

import asyncio
from concurrent.futures import Future
from typing import Any

from cli.client import commands as c
from cli.client.pending import SHOW_AFTER_S, prompt_line
from cli.client.rooms import RoomUnread
from tests.unit.test_client_room_talk import Harness


def typed(h: Harness, line: str) -> None:
    """As the prompt does: parsed against the current conversation, then run."""
    cmd = c.parse(line, h.chat.current, asking=h.chat.asking)
    assert cmd is not None
    asyncio.run(h.chat.run(cmd))


def test_query_makes_a_user_current_and_plain_lines_are_direct_messages() -> None:
    h = Harness()
    h.link.replies["message"] = {"msg_id": 1, "delivered": True}
    typed(h, "/query bob")
    assert h.chat.prompt() == "alice → bob> "  # the conversation, in the prompt
    assert h.lines()[-1] == (
        "Plain lines now go to bob as direct messages; commands start with /, and /close ends "
        "the conversation."
    )
    typed(h, "who is coming to the lab?")
    typed(h, "quit")  # a word, said: only /quit quits
    assert [(op, f["to"], f["text"]) for op, f in h.requests()] == [
        ("message", "bob", "who is coming to the lab?"),
        ("message", "bob", "quit"),
    ]
    assert h.lines()[-1] == "12:00 you → bob: quit"
    typed(h, "/close")
    assert h.chat.prompt() == "alice> " and h.chat.current is None
    assert h.lines()[-1].startswith("No current conversation: commands work without / again")


def test_msg_sends_without_changing_the_current_conversation() -> None:
    h = Harness((RoomUnread("#lab", 0),))
    h.link.replies["message"] = {"msg_id": 1, "delivered": True}
    typed(h, "/room #lab")
    typed(h, "/msg bob psst")
    assert h.requests()[-1][0] == "message" and h.chat.current == "#lab"


def test_in_a_room_a_sentence_that_starts_with_a_command_word_is_said() -> None:
    h = Harness((RoomUnread("#lab", 0),))
    h.link.replies["say"] = {"seq": 1, "delivered_to": 1}
    typed(h, "room #lab")
    for line in ("who is coming to the lab?", "help me with the lab please", "leave"):
        typed(h, line)
    assert [f["text"] for op, f in h.requests() if op == "say"] == [
        "who is coming to the lab?", "help me with the lab please", "leave",
    ]  # fmt: skip
    assert h.chat.current == "#lab"  # `leave` alone did not leave


def test_me_is_an_action_line_in_the_current_conversation() -> None:
    h = Harness((RoomUnread("#lab", 0),))
    h.link.replies["say"] = {"seq": 1, "delivered_to": 1}
    h.link.replies["message"] = {"msg_id": 1, "delivered": True}
    typed(h, "/me waves")
    assert h.requests() == []
    assert h.lines()[-1] == "/me needs a current conversation: /join #ROOM or /query USER first."
    assert "broadcast" not in h.lines()[-1]
    typed(h, "room #lab")
    typed(h, "/me waves")
    assert h.requests()[-1][1]["text"] == "* alice waves"
    assert h.lines()[-1] == "12:00 #lab you: * alice waves"
    typed(h, "/query bob")
    typed(h, "/me nods")
    assert h.requests()[-1][1]["to"] == "bob" and h.requests()[-1][1]["text"] == "* alice nods"


def test_a_name_in_another_case_is_sent_as_the_account_the_client_knows() -> None:
    h = Harness()
    h.link.replies["whoelse"] = {"users": ["Alice2", "bob"]}
    h.link.replies["message"] = {"msg_id": 1, "delivered": True}
    typed(h, "whoelse")
    typed(h, "msg BOB hi")
    typed(h, "block alice2")
    typed(h, "msg carol hi")  # nobody known by that name: as typed
    sent = [(op, f.get("to") or f.get("user")) for op, f in h.requests()[1:]]
    assert sent == [("message", "bob"), ("block", "Alice2"), ("message", "carol")]
    assert h.lines()[1] == "12:00 you → bob: hi"
    typed(h, "/query ALICE2")
    assert h.chat.current == "Alice2"


class HeldLink:
    """A link whose answers the test gives when it likes: a server that stalls."""

    def __init__(self, log: list[tuple[str, Any]]) -> None:
        self.log = log
        self.futures: list[Future[dict[str, Any]]] = []

    def request(self, op: str, **fields: Any) -> Future[dict[str, Any]]:
        self.log.append(("request", (op, fields)))
        future: Future[dict[str, Any]] = Future()
        self.futures.append(future)
        return future

    def send_nowait(self, frame: dict[str, Any]) -> None:
        self.log.append(("send", frame))

    def close(self) -> None:
        pass


def test_a_message_the_server_has_not_answered_shows_as_sending_in_the_prompt() -> None:
    h = Harness((RoomUnread("#lab", 0),))
    link = HeldLink(h.log)
    h.chat._link = link  # the session's link: requests now wait for the test
    h.chat.rooms._link = link
    redraws: list[str] = []
    h.chat._on_change = lambda: redraws.append(h.chat.prompt())

    async def scenario() -> None:
        task = asyncio.create_task(h.chat.run(c.Message("bob", "are you there?")))
        await asyncio.sleep(0)  # the request is out
        assert len(link.futures) == 1 and h.lines() == []
        assert h.chat.prompt() == "alice> "  # a quick answer never flickers
        h.timers.advance(SHOW_AFTER_S)  # the server is slow: the prompt says so
        assert redraws[-1] == "sending… → bob: are you there?\nalice> "
        link.futures[0].set_result({"ok": True, "msg_id": 3, "delivered": True})
        await task
        assert h.lines() == ["12:00 you → bob: are you there?"]
        assert h.chat.prompt() == "alice> "  # the row went with the answer

    asyncio.run(scenario())


def test_a_message_refused_for_a_passing_reason_can_be_sent_again() -> None:
    h = Harness((RoomUnread("#lab", 0),))
    h.link.replies["say"] = {"ok": False, "error": "rate_limited", "text": "Slow down."}
    typed(h, "say #lab hello")
    assert h.lines()[-2:] == [
        "12:00 #lab you: hello — not sent: Slow down.",
        "Type /retry to send it again.",
    ]
    h.link.replies["say"] = {"seq": 4, "delivered_to": 2}
    typed(h, "/retry")
    first, again = (f for op, f in h.requests() if op == "say")
    assert again["text"] == "hello" and again["room"] == "#lab"
    assert again["nonce"] != first["nonce"]  # the first was refused: nothing was stored
    assert h.lines()[-1] == "12:00 #lab you: hello"
    typed(h, "/retry")
    assert h.lines()[-1] == "There is no failed message to send again."


def test_a_refusal_that_sending_again_cannot_help_offers_no_retry() -> None:
    h = Harness()
    h.link.replies["message"] = {"ok": False, "error": "no_such_user", "text": "There is no x."}
    typed(h, "message x hi")
    assert h.lines() == ["12:00 you → x: hi — not sent: There is no x."]


def test_y_in_a_conversation_answers_the_private_chat_request_the_prompt_asks() -> None:
    h = Harness((RoomUnread("#lab", 0),))
    h.link.replies["say"] = {"seq": 1, "delivered_to": 1}
    typed(h, "room #lab")
    typed(h, "y")  # nothing asked: a word said in the room
    assert h.requests()[-1][0] == "say"
    h.chat.handle_incoming({"ev": "private_request", "request": "r1", "from": "bob"})
    typed(h, "y")
    assert h.requests()[-1] == ("private_answer", {"request": "r1", "accept": True, "port": 4242})
    assert len([op for op, _ in h.requests() if op == "say"]) == 1


def test_a_y_or_n_that_names_where_it_goes_goes_there_while_a_request_waits() -> None:
    """Only a plain line answers the prompt's question: `/msg carol no` is for carol."""
    h = Harness((RoomUnread("#lab", 0),))
    h.link.replies["say"] = {"seq": 1, "delivered_to": 1}
    h.link.replies["message"] = {"msg_id": 1, "delivered": True}
    typed(h, "room #lab")
    h.chat.handle_incoming({"ev": "private_request", "request": "r1", "from": "bob"})
    typed(h, "/msg carol no")
    typed(h, "/say #lab yes")
    assert [op for op, _ in h.requests()][-2:] == ["message", "say"]
    assert h.requests()[-2][1]["text"] == "no" and h.requests()[-1][1]["text"] == "yes"
    assert h.chat.asking  # still asked: nothing answered it


def test_a_broadcast_shows_as_sending_too_and_a_refused_one_can_be_sent_again() -> None:
    assert prompt_line(c.Broadcast("fire drill")) == "sending… to everyone: fire drill"
    assert prompt_line(c.Say("#lab", "x" * 70)) == f"sending… #lab: {'x' * 60}…"
    h = Harness()
    h.link.replies["broadcast"] = {"ok": False, "error": "rate_limited", "text": "Slow down."}
    typed(h, "broadcast fire drill")
    assert h.lines() == [
        "12:00 you to everyone: fire drill — not sent: Slow down.",
        "Type /retry to send it again.",
    ]
    h.link.replies["broadcast"] = {"delivered_to": 2}
    typed(h, "retry")
    assert h.requests()[-1] == ("broadcast", {"text": "fire drill"})
    assert h.lines()[-1] == "12:00 you to everyone: fire drill (2 users got it)"


def test_a_message_sent_again_with_its_nonce_is_confirmed_not_said_offline() -> None:
    """chat/1 answers a repeated nonce with the first msg_id and `delivered` false: the
    client cannot tell whether bob got it live, so it does not say he is offline."""
    h = Harness()
    h.link.lost.add("message")  # no answer: the message may or may not be stored
    typed(h, "message bob stalled message")
    assert h.lines()[-1].endswith("(not confirmed; it is sent again if you reconnect)")
    h.link.lost.clear()
    h.link.replies["message"] = {"msg_id": 3, "delivered": False}
    typed(h, "/retry")
    first, again = (f for op, f in h.requests() if op == "message")
    assert again["nonce"] == first["nonce"]
    assert h.lines()[-1] == "12:00 you → bob: stalled message (confirmed: the server has it, once)"
    typed(h, "message bob a new one")  # a first send: delivered false means offline
    assert h.lines()[-1] == "12:00 you → bob: a new one (bob is offline; they get it at login)"
