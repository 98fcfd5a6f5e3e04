"""chat-client's controller with a fake link and fake peers: what each event and command does."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Future
from datetime import UTC, datetime
from typing import Any

import pytest

from cli.client import commands as c
from cli.client import controller
from cli.client import render as r
from cli.client.controller import RETURNING_WINDOW_S, Chat, Memory
from cli.client.link import LinkClosed
from cli.client.p2p import PeerClosed, PeerMessage, PeerOpened

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
Log = list[tuple[str, Any]]


class FakeLink:
    def __init__(self, log: Log) -> None:
        self.log = log
        self.replies: dict[str, dict[str, Any]] = {}  # op -> reply fields
        self.silent: set[str] = set()  # ops never answered
        self.lost: set[str] = set()  # ops whose connection dies before the answer
        self.on_request: Callable[[str], None] = lambda op: None

    def request(self, op: str, **fields: Any) -> Future[dict[str, Any]]:
        self.log.append(("request", (op, fields)))
        future: Future[dict[str, Any]] = Future()
        if op in self.lost:
            future.set_exception(ConnectionError("the connection to the server was lost"))
        elif op not in self.silent:
            future.set_result({"ok": True, **self.replies.get(op, {})})
        self.on_request(op)
        return future

    def send_nowait(self, frame: dict[str, Any]) -> None:
        self.log.append(("send", frame))

    def close(self) -> None:
        self.log.append(("close", None))


class FakePeers:
    def __init__(self, log: Log) -> None:
        self.log = log
        self.open: set[str] = set()

    def is_open(self, peer: str) -> bool:
        return peer in self.open

    def peers(self) -> list[str]:
        return sorted(self.open)

    def listen(self, peer: str) -> int:
        self.log.append(("listen", peer))
        return 4242

    def expect(self, peer: str, token: str) -> None:
        self.log.append(("expect", (peer, token)))

    def connect(self, peer: str, host: str, port: int, token: str) -> None:
        self.log.append(("connect", (peer, host, port, token)))

    def send(self, peer: str, text: str) -> bool:
        self.log.append(("p2p", (peer, text)))
        return peer in self.open

    def stop(self, peer: str, reason: str = "stopped") -> bool:
        self.log.append(("stop", (peer, reason)))
        had = peer in self.open
        self.open.discard(peer)
        return had

    def stop_all(self, reason: str) -> None:
        self.log.append(("stop_all", reason))


class FakeTimers:
    """A monotonic clock that tests move by hand, and call_later on it."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.due: list[tuple[float, Callable[[], None], FakeTimer]] = []

    def clock(self) -> float:
        return self.now

    def schedule(self, delay_s: float, callback: Callable[[], None]) -> FakeTimer:
        timer = FakeTimer()
        self.due.append((self.now + delay_s, callback, timer))
        return timer

    def advance(self, seconds: float) -> None:
        self.now += seconds
        for at, callback, timer in sorted(self.due, key=lambda item: item[0]):
            if at <= self.now and not timer.cancelled:
                timer.cancelled = True
                callback()


class FakeTimer:
    cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class Harness:
    def __init__(self, idle_timeout_s: float | None = None, memory: Memory | None = None) -> None:
        self.log: Log = []
        self.link = FakeLink(self.log)
        self.peers = FakePeers(self.log)
        self.timers = FakeTimers()
        self.bells: list[int] = []  # for each bell, how many lines were out when it rang
        self.chat = Chat(
            "alice", self.link, self.peers, self._out, lambda: NOW,
            memory=memory, bell=lambda: self.bells.append(len(self.lines())),
            idle_timeout_s=idle_timeout_s, clock=self.timers.clock,
            schedule=self.timers.schedule,
        )  # fmt: skip

    def _out(self, line: r.Line) -> None:
        self.log.append(("out", r.to_plain(line)))

    def lines(self) -> list[str]:
        return [text for kind, text in self.log if kind == "out"]

    def requests(self) -> list[tuple[str, dict[str, Any]]]:
        return [item for kind, item in self.log if kind == "request"]

    def run(self, line: str) -> None:
        cmd = c.parse(line)
        assert cmd is not None
        asyncio.run(self.chat.run(cmd))


MESSAGE = {
    "ev": "message", "msg_id": 5, "from": "bob", "text": "hi",
    "sent_at": "2026-11-24T11:59:00Z", "stored": False,
}  # fmt: skip


def test_a_message_is_shown_then_acked() -> None:
    h = Harness()
    h.chat.handle_incoming(MESSAGE)
    assert h.log == [("out", "11:59 bob: hi"), ("send", {"op": "ack", "msg_id": 5})]
    assert "bob" in h.chat.known_users


def test_the_ack_waits_until_the_line_is_on_screen() -> None:
    h = Harness()
    due: list[Callable[[], None]] = []
    h.chat = Chat("alice", h.link, h.peers, h._out, lambda: NOW, when_shown=due.append)
    h.chat.handle_incoming(MESSAGE)
    assert [kind for kind, _ in h.log] == ["out"]  # printed, not yet acked
    due.pop()()
    assert h.log[-1] == ("send", {"op": "ack", "msg_id": 5})


def test_a_redelivered_message_is_acked_but_not_shown_twice() -> None:
    h = Harness()
    h.chat.handle_incoming(MESSAGE)
    h.chat.handle_incoming({**MESSAGE, "stored": True})
    h.chat.handle_incoming({**MESSAGE, "msg_id": 6, "stored": True, "text": "again?"})
    assert h.lines() == ["11:59 bob: hi", "11:59 bob (while you were away): again?"]
    assert [item for kind, item in h.log if kind == "send"] == [
        {"op": "ack", "msg_id": 5}, {"op": "ack", "msg_id": 5}, {"op": "ack", "msg_id": 6}
    ]  # fmt: skip


def test_presence_broadcast_and_unknown_events() -> None:
    h = Harness()
    h.chat.handle_incoming({"ev": "presence", "user": "carol", "state": "online", "at": None})
    h.chat.handle_incoming({"ev": "broadcast", "from": "dave", "text": "yo", "sent_at": None})
    h.chat.handle_incoming({"ev": "from_the_future", "x": 1})
    assert h.lines() == ["12:00 * carol is online", "12:00 dave to everyone: yo"]
    assert h.chat.known_users == {"carol", "dave"}


def test_commands_become_requests_and_reply_lines() -> None:
    h = Harness()
    h.link.replies["whoelse"] = {"users": ["bob", "carol"]}
    h.link.replies["message"] = {"msg_id": 1, "delivered": False}
    h.run("whoelse")
    h.run("message bob see you")
    h.run("whoelsesince 60")
    h.run("block eve")
    nonce = h.requests()[1][1].pop("nonce")
    assert isinstance(nonce, str) and len(nonce) >= 32  # every message carries one
    assert h.requests() == [
        ("whoelse", {}),
        ("message", {"to": "bob", "text": "see you"}),
        ("whoelsesince", {"seconds": 60}),
        ("block", {"user": "eve"}),
    ]
    assert h.lines()[0] == "Online now: bob, carol"
    assert "bob is offline" in h.lines()[1]
    assert h.chat.known_users == {"bob", "carol", "eve"}


def test_a_refusal_shows_the_servers_sentence() -> None:
    h = Harness()
    h.link.replies["block"] = {"ok": False, "error": "self", "text": "You cannot block yourself."}
    h.run("block alice")
    assert h.lines() == ["You cannot block yourself."]


def test_a_silent_server_gets_a_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(controller, "REPLY_TIMEOUT_S", 0.05)
    h = Harness()
    h.link.silent.add("whoelse")
    h.run("whoelse")
    assert h.lines() == ["The server did not answer the whoelse request in time."]


def test_help_prints_the_table() -> None:
    h = Harness()
    h.run("help")
    assert any(line.startswith("startprivate USER") for line in h.lines())


def test_private_request_is_asked_in_the_prompt_and_accepted() -> None:
    h = Harness()
    assert h.chat.prompt() == "alice> "
    h.chat.handle_incoming({"ev": "private_request", "request": "r1", "from": "bob"})
    h.chat.handle_incoming({"ev": "private_request", "request": "r2", "from": "carol"})
    assert "bob wants a private chat" in h.lines()[0]
    assert h.chat.asking and h.chat.prompt().startswith("bob asks for a private chat")
    h.run("y")
    assert ("listen", "bob") in h.log
    assert h.requests()[-1] == ("private_answer", {"request": "r1", "accept": True, "port": 4242})
    assert h.chat.prompt().startswith("carol asks")
    h.run("n")
    assert h.requests()[-1] == ("private_answer", {"request": "r2", "accept": False})
    assert h.lines()[-1] == "You declined carol's private chat request."
    assert h.chat.prompt() == "alice> " and not h.chat.asking
    h.run("y")
    assert h.lines()[-1] == "No private chat request is waiting for an answer."


def test_a_request_from_someone_who_left_is_withdrawn() -> None:
    h = Harness()
    h.chat.handle_incoming({"ev": "private_request", "request": "r1", "from": "bob"})
    h.chat.handle_incoming({"ev": "private_request", "request": "r2", "from": "carol"})
    h.chat.handle_incoming({"ev": "presence", "user": "bob", "state": "offline", "at": None})
    assert h.chat.prompt().startswith("carol asks")
    h.chat.handle_incoming({"ev": "private_stopped", "user": "carol", "reason": "blocked"})
    assert h.chat.prompt() == "alice> "


@pytest.mark.parametrize("answer", ["y", "n"])
def test_an_answer_crossing_the_expiry_says_so_in_words(answer: str) -> None:
    """The request ended just as the answer went out: no raw server sentence, and `n` does
    not claim a refusal that never happened."""
    h = Harness()
    h.link.replies["private_answer"] = {
        "ok": False, "error": "no_such_request", "text": "No pending private request with that id."
    }  # fmt: skip
    h.chat.handle_incoming({"ev": "private_request", "request": "r1", "from": "bob"})
    h.run(answer)
    if answer == "y":
        assert ("stop", ("bob", "stopped")) in h.log  # the port opened for bob closes again
    assert h.lines()[-1] == "bob's private chat request had already ended."


def test_an_answer_after_the_cancel_event_adds_nothing() -> None:
    h = Harness()
    h.link.replies["private_answer"] = {"ok": False, "error": "no_such_request", "text": "No."}
    h.chat.handle_incoming({"ev": "private_request", "request": "r1", "from": "bob"})

    def cancelled_meanwhile(op: str) -> None:
        h.chat.handle_incoming(
            {"ev": "private_cancelled", "request": "r1", "user": "bob", "reason": "expired"}
        )

    h.link.on_request = cancelled_meanwhile
    h.run("n")
    assert h.lines()[1:] == ["12:00 bob's private chat request expired before you answered."]


@pytest.mark.parametrize(
    ("reason", "line"),
    [
        ("expired", "bob's private chat request expired before you answered."),
        ("withdrawn", "bob withdrew the private chat request."),
        ("blocked", "bob's private chat request has ended (blocked)."),
        ("logout", "bob logged out; their private chat request has ended."),
        ("timeout", "bob was logged out for being idle; their private chat request has ended."),
        ("disconnected", "bob lost their connection; their private chat request has ended."),
        ("from_the_future", "bob's private chat request has ended."),
    ],
)
def test_private_cancelled_takes_the_question_down(reason: str, line: str) -> None:
    h = Harness()
    h.chat.handle_incoming({"ev": "private_request", "request": "r1", "from": "bob"})
    h.chat.handle_incoming({"ev": "private_request", "request": "r2", "from": "carol"})
    h.chat.handle_incoming(
        {"ev": "private_cancelled", "request": "r1", "user": "bob", "reason": reason}
    )
    assert h.lines()[-1] == f"12:00 {line}"
    assert h.chat.prompt().startswith("carol asks")  # bob's question is gone, carol's stays
    h.run("y")
    assert h.requests()[-1] == ("private_answer", {"request": "r2", "accept": True, "port": 4242})
    h.run("y")
    assert h.lines()[-1] == "No private chat request is waiting for an answer."
    assert len(h.requests()) == 1  # nothing sent for bob's ended request


@pytest.mark.parametrize(
    ("reason", "line"),
    [
        ("declined", "bob declined your private chat request."),
        ("expired", "bob did not answer your private chat request in time."),
        ("blocked", "Your private chat request to bob has ended (blocked)."),
        ("cancelled", "bob left before answering your private chat request."),
        (None, "bob did not accept your private chat request."),
    ],
)
def test_the_asker_reads_why_a_request_was_not_accepted(reason: str | None, line: str) -> None:
    h = Harness()
    ev = {"ev": "private_declined", "request": "r1", "user": "bob"}
    h.chat.handle_incoming(ev if reason is None else {**ev, "reason": reason})
    assert h.lines() == [f"12:00 {line}"]


def test_stopprivate_withdraws_an_unanswered_request() -> None:
    h = Harness()
    h.run("startprivate bob")
    h.run("stopprivate bob")
    assert h.requests() == [("startprivate", {"user": "bob"}), ("stopprivate", {"user": "bob"})]
    assert h.lines()[-1] == "12:00 You withdrew your private chat request to bob."
    h.link.replies["stopprivate"] = {"ok": False, "error": "no_private_session", "text": "None."}
    h.run("stopprivate bob")
    assert h.lines()[-1] == "None."
    h.run("startprivate bob")
    h.chat.handle_incoming({"ev": "private_declined", "request": "r", "user": "bob"})
    h.link.replies.pop("stopprivate")
    h.run("stopprivate bob")  # answered already: nothing left to withdraw
    assert h.lines()[-1] == "12:00 You ended the private chat with bob."


def test_stopprivate_on_a_request_waiting_for_our_answer_says_how_to_answer() -> None:
    """The server would answer no_private_session ("You have no private chat with bob.")
    while the prompt asks about bob's request: say what to type instead."""
    h = Harness()
    h.chat.handle_incoming({"ev": "private_request", "request": "r1", "from": "bob"})
    h.run("stopprivate bob")
    assert h.lines()[-1] == (
        "bob's private chat request is waiting for your answer: type n to decline it, "
        "or y to accept."
    )
    assert h.requests() == []
    assert h.chat.asking  # the question stays


def test_ready_connects_and_expect_passes_the_token() -> None:
    h = Harness()
    ready = {
        "ev": "private_ready", "request": "r", "user": "bob",
        "host": "10.0.0.2", "port": 5001, "token": "t",
    }  # fmt: skip
    h.chat.handle_incoming(ready)
    h.chat.handle_incoming({"ev": "private_expect", "request": "r", "user": "carol", "token": "u"})
    assert ("connect", ("bob", "10.0.0.2", 5001, "t")) in h.log
    assert ("expect", ("carol", "u")) in h.log


@pytest.mark.parametrize("port", [70_000, 0, True, "5001"])
def test_ready_with_an_impossible_port_is_a_line_not_a_crash(port: object) -> None:
    h = Harness()
    ready = {
        "ev": "private_ready", "request": "r", "user": "bob",
        "host": "10.0.0.2", "port": port, "token": "t",
    }  # fmt: skip
    h.chat.handle_incoming(ready)
    assert not any(kind == "connect" for kind, _ in h.log)
    assert h.lines() == ["The server sent no address for bob; cannot connect."]


def test_private_messages_go_peer_to_peer() -> None:
    h = Harness()
    h.run("private bob hi")
    assert h.lines()[-1] == (
        "12:00 you → bob (private): hi — not sent: no private chat with bob is open; "
        "start one with startprivate bob"
    )  # the text stays on screen: the typed line gave way to this one
    h.peers.open.add("bob")
    h.run("private bob hi there")
    assert ("p2p", ("bob", "hi there")) in h.log
    assert h.lines()[-1] == "12:00 you → bob (private): hi there"
    assert not any(op == "private" for op, _ in h.requests())  # never through the server


def test_peer_events_become_lines() -> None:
    h = Harness()
    h.chat.handle_peer(PeerOpened("bob"))
    h.chat.handle_peer(PeerMessage("bob", "psst"))
    h.chat.handle_peer(PeerClosed("bob", "stopped"))
    assert h.lines() == [
        "12:00 Private chat with bob is open. Type: private bob TEXT",
        "12:00 bob (private): psst",
        "12:00 bob ended the private chat.",
    ]
    assert h.requests() == []  # bob told the server himself


def test_a_lost_peer_is_released_at_the_server_too() -> None:
    h = Harness()
    h.chat.handle_peer(PeerClosed("bob", "lost"))
    assert h.requests() == [("stopprivate", {"user": "bob"})]


def test_stopprivate_closes_ours_and_tells_the_server() -> None:
    h = Harness()
    h.peers.open.add("bob")
    h.link.replies["stopprivate"] = {"ok": False, "error": "no_private_session", "text": "None."}
    h.run("stopprivate bob")
    assert ("stop", ("bob", "stopped")) in h.log
    assert h.requests() == [("stopprivate", {"user": "bob"})]
    assert h.lines() == ["12:00 You ended the private chat with bob."]
    h.run("stopprivate bob")
    assert h.lines()[-1] == "None."


def test_a_shutdown_ends_private_chats_with_a_line_that_says_so() -> None:
    h = Harness()
    h.peers.open.add("bob")
    h.chat.handle_incoming({"ev": "private_stopped", "user": "bob", "reason": "shutdown"})
    assert h.lines() == ["12:00 The server is shutting down; the private chat with bob has ended."]


def test_a_deleted_account_gets_its_own_line_and_exit_code() -> None:
    h = Harness()
    h.chat.handle_incoming({"ev": "bye", "reason": "account_deleted", "text": "Deleted."})
    h.chat.handle_incoming(LinkClosed())
    assert h.lines() == [
        "Your account has been deleted by the server's operator; you have been logged out."
    ]
    assert h.chat.exit_code == 1


def test_private_stopped_by_the_server() -> None:
    h = Harness()
    h.peers.open.add("bob")
    h.chat.handle_incoming({"ev": "private_stopped", "user": "bob", "reason": "blocked"})
    h.chat.handle_incoming({"ev": "private_stopped", "user": "bob", "reason": "blocked"})
    assert h.lines() == ["12:00 The private chat with bob has ended (blocked)."]


@pytest.mark.parametrize(
    ("bye", "code"),
    [("logout", 0), ("timeout", 0), ("shutdown", 0), ("slow_consumer", 1), (None, 1)],
)
def test_how_the_session_ends_sets_the_exit_code(bye: str | None, code: int) -> None:
    h = Harness()
    if bye is not None:
        h.chat.handle_incoming({"ev": "bye", "reason": bye, "text": "Bye."})
    h.chat.handle_incoming(LinkClosed("reset"))
    assert h.chat.exit_code == code and h.chat.ended.is_set()
    assert ("stop_all", bye if code == 0 else "disconnected") in h.log  # what peers are told
    if bye is None:
        assert h.lines() == ["Lost the connection to the server (reset)."]


def test_logout_asks_the_server_and_ends_on_its_close() -> None:
    h = Harness()

    def server_says_bye(op: str) -> None:
        if op == "logout":
            loop = asyncio.get_running_loop()
            loop.call_soon(h.chat.handle_incoming, {"ev": "bye", "reason": "logout", "text": ""})
            loop.call_soon(h.chat.handle_incoming, LinkClosed())

    h.link.on_request = server_says_bye
    h.run("logout")
    assert h.chat.exit_code == 0
    assert h.requests() == [("logout", {})]
    assert h.lines() == ["Logged out. Bye!"]
    assert ("stop_all", "logout") in h.log and ("close", None) not in h.log


def test_logout_hangs_up_itself_if_the_server_does_not(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(controller, "LOGOUT_TIMEOUT_S", 0.05)
    h = Harness()
    h.link.silent.add("logout")
    h.run("logout")
    assert ("close", None) in h.log
    h.chat.handle_incoming(LinkClosed())
    assert h.chat.exit_code == 0


def test_a_private_send_that_blocks_does_not_freeze_the_prompt() -> None:
    """A peer that stops reading makes a send wait; the event loop (typing, incoming lines)
    must keep running meanwhile. (The server link never blocks: its sends are queued.)"""
    h = Harness()
    h.peers.open.add("bob")
    release = threading.Event()
    blocking_send = h.peers.send

    def stalled_send(peer: str, text: str) -> bool:
        release.wait(5)
        return blocking_send(peer, text)

    h.peers.send = stalled_send  # type: ignore[method-assign]

    async def scenario() -> bool:
        running = asyncio.create_task(h.chat.run(c.parse("private bob hi")))  # type: ignore[arg-type]
        for _ in range(3):  # the loop still turns while the send waits
            await asyncio.sleep(0.01)
        loop_turned = not running.done()
        release.set()
        await running
        return loop_turned

    assert asyncio.run(scenario()) is True
    assert h.lines()  # and the command finished with its line


def test_private_chatting_tells_the_server_it_is_active_at_most_every_10_s() -> None:
    """chat/1 precise point 15: private messages never reach the server, whose idle timeout
    would otherwise log both chatters out."""
    h = Harness()
    h.peers.open.add("bob")

    def sent() -> list[Any]:
        return [item for kind, item in h.log if kind == "send"]

    h.run("private bob first")
    assert sent() == []  # the login was just now: the server saw us
    h.timers.advance(10)
    h.run("private bob second")
    assert sent() == [{"op": "active"}]  # no id: no reply wanted
    h.timers.advance(9)
    h.run("private bob third")
    assert sent() == [{"op": "active"}]
    h.run("whoelse")  # a request counts as activity too
    h.timers.advance(9)
    h.run("private bob fourth")
    assert sent() == [{"op": "active"}]
    h.timers.advance(1)
    h.run("private bob fifth")
    assert sent() == [{"op": "active"}, {"op": "active"}]


def test_the_idle_logout_is_announced_a_minute_ahead() -> None:
    h = Harness(idle_timeout_s=300)
    h.timers.advance(239)
    assert h.lines() == []
    h.run("whoelse")  # activity starts the count again
    h.timers.advance(239)
    assert h.lines() == ["Nobody else is online."]
    h.timers.advance(1)
    assert h.lines()[-1] == (
        "12:00 You have been idle a while: the server logs you out in 60 seconds unless you "
        "send a command."
    )
    assert h.bells == [2]
    h.timers.advance(100)
    assert len(h.lines()) == 2  # once


@pytest.mark.parametrize(("timeout", "warn_at"), [(60, 45), (20, 15), (3600, 3540)])
def test_short_timeouts_are_warned_at_a_quarter(timeout: int, warn_at: int) -> None:
    h = Harness(idle_timeout_s=timeout)
    h.timers.advance(warn_at - 0.5)
    assert h.lines() == []
    h.timers.advance(0.5)
    assert "logs you out in" in h.lines()[-1]


def test_no_idle_timeout_from_the_server_no_warning() -> None:
    h = Harness()
    h.timers.advance(100_000)
    assert h.lines() == [] and h.timers.due == []


def test_a_message_and_a_private_request_ring_the_bell() -> None:
    h = Harness()
    h.chat.handle_incoming(MESSAGE)
    h.chat.handle_incoming(MESSAGE)  # a re-delivery: not shown, no bell
    h.chat.handle_incoming({"ev": "broadcast", "from": "dave", "text": "yo", "sent_at": None})
    h.chat.handle_incoming({"ev": "private_request", "request": "r1", "from": "bob"})
    assert h.bells == [1, 3]  # after the message's line and after the request's


def test_an_unconfirmed_message_is_resent_with_its_nonce_after_a_reconnect() -> None:
    """The connection dies before the reply: nothing is lost, and resending with the same
    nonce lets the server store it once (chat/1 precise point 11)."""
    h = Harness()
    h.link.lost.add("message")
    h.run("message bob are you there?")
    first = h.requests()[-1][1]
    assert h.lines()[-1] == (
        "12:00 you → bob: are you there? (not confirmed; it is sent again if you reconnect)"
    )
    again = Harness(memory=h.chat.memory)  # the session after the reconnect
    again.link.replies["message"] = {"msg_id": 7, "delivered": True}
    asyncio.run(again.chat.resend_unsent())
    assert again.requests() == [("message", first)]  # same to, text and nonce
    assert again.lines() == [
        "Sending again 1 message the server had not confirmed:",
        "12:00 you → bob: are you there?",
    ]
    asyncio.run(again.chat.resend_unsent())
    assert len(again.requests()) == 1  # confirmed: not sent a third time


def test_what_a_reconnect_carries_over() -> None:
    h = Harness()
    h.chat.handle_incoming(MESSAGE)
    again = Harness(memory=h.chat.memory)
    again.chat.handle_incoming({**MESSAGE, "stored": True})  # re-delivered: the ack was lost
    assert again.lines() == [] and again.log == [("send", {"op": "ack", "msg_id": 5})]
    assert again.chat.known_users == {"bob"}


@pytest.mark.parametrize(
    ("bye", "resumable"),
    [(None, True), ("timeout", True), ("slow_consumer", True), ("shutdown", False),
     ("logout", False), ("protocol_error", False), ("account_deleted", False)],
)  # fmt: skip
def test_which_ends_offer_to_log_in_again(bye: str | None, resumable: bool) -> None:
    h = Harness()
    assert not h.chat.resumable  # still running
    if bye is not None:
        h.chat.handle_incoming({"ev": "bye", "reason": bye, "text": ""})
    h.chat.handle_incoming(LinkClosed("reset"))
    assert h.chat.resumable is resumable


def test_a_logout_of_ours_is_not_resumed() -> None:
    h = Harness()

    def server_hangs_up(op: str) -> None:  # after its ok, without a bye
        asyncio.get_running_loop().call_soon(h.chat.handle_incoming, LinkClosed())

    h.link.on_request = server_hangs_up
    h.run("logout")
    assert h.chat.exit_code == 0 and not h.chat.resumable


def test_names_complete_for_everyone_seen_not_only_those_online() -> None:
    h = Harness()
    h.link.replies["whoelsesince"] = {"users": ["dave"]}
    h.link.replies["blocklist"] = {"users": ["eve"]}
    h.link.replies["message"] = {"msg_id": 1, "delivered": False}
    h.chat.handle_incoming({"ev": "presence", "user": "carol", "state": "offline", "at": None})
    h.chat.handle_incoming(MESSAGE)  # from bob
    h.chat.handle_incoming({"ev": "private_declined", "request": "r", "user": "fred"})
    h.run("whoelsesince 3600")
    h.run("blocklist")
    h.run("message gina see you")  # offline, but she exists: the message was stored
    h.link.replies["message"] = {"ok": False, "error": "no_such_user", "text": "No hank."}
    h.run("message hank hello")
    assert h.chat.known_users == {"bob", "carol", "dave", "eve", "fred", "gina"}


def test_a_cancel_with_an_odd_request_id_is_a_line_not_a_crash() -> None:
    h = Harness()
    h.chat.handle_incoming({"ev": "private_request", "request": ["r1"], "from": "bob"})
    h.chat.handle_incoming(
        {"ev": "private_cancelled", "request": {"x": 1}, "user": "bob", "reason": "expired"}
    )
    assert h.lines()[-1] == "12:00 bob's private chat request expired before you answered."
    assert not h.chat.asking  # matched by the asker's name


def sent_frames(h: Harness) -> list[Any]:
    return [item for kind, item in h.log if kind == "send"]


def test_reading_a_private_chat_tells_the_server_it_is_active() -> None:
    """A user reading what bob writes privately is not idle, though the server sees nothing."""
    h = Harness(idle_timeout_s=300)
    h.peers.open.add("bob")
    h.timers.advance(10)
    h.chat.handle_peer(PeerMessage("bob", "are you there?"))
    assert sent_frames(h) == [{"op": "active"}]
    h.timers.advance(5)
    h.chat.handle_peer(PeerMessage("bob", "hello?"))
    assert sent_frames(h) == [{"op": "active"}]  # at most once every 10 s
    h.timers.advance(234)  # the idle warning counts from the last `active` (at 10 s)...
    assert not any("idle" in line for line in h.lines())
    h.timers.advance(1)  # ...so it is due 240 s after it, not after the login
    assert "idle" in h.lines()[-1]


def test_typing_tells_the_server_it_is_active_at_most_every_10_s() -> None:
    h = Harness(idle_timeout_s=300)
    h.chat.user_active()
    assert sent_frames(h) == []  # the login was just now
    h.timers.advance(10)
    h.chat.user_active()
    h.timers.advance(3)
    h.chat.user_active()
    assert sent_frames(h) == [{"op": "active"}]


@pytest.mark.parametrize("reason", ["timeout", "logout", "disconnected", "stopped"])
def test_the_peers_own_end_is_not_repeated_back_to_it(reason: str) -> None:
    """bob was logged out for being idle: we close our side, and our p2p_stop must not tell
    bob that *we* were, which his screen would show as `alice was logged out...`."""
    h = Harness()
    h.peers.open.add("bob")
    h.chat.handle_incoming({"ev": "private_stopped", "user": "bob", "reason": reason})
    assert ("stop", ("bob", "ended")) in h.log
    assert len(h.lines()) == 1 and "bob" in h.lines()[0]


@pytest.mark.parametrize("reason", ["blocked", "shutdown"])
def test_an_end_true_for_both_sides_is_repeated_to_the_peer(reason: str) -> None:
    h = Harness()
    h.peers.open.add("bob")
    h.chat.handle_incoming({"ev": "private_stopped", "user": "bob", "reason": reason})
    assert ("stop", ("bob", reason)) in h.log


def presence(user: str, state: str) -> dict[str, Any]:
    return {"ev": "presence", "user": user, "state": state, "at": "2026-12-06T10:00:00Z"}


def test_after_a_reconnect_those_back_from_the_same_break_are_no_news() -> None:
    """A restart is not news about everyone: presence of users online before the break, as
    they come back within the window, is not shown; anyone else's is, and so is a going."""
    memory = Memory()
    h = Harness(memory=memory)
    h.link.replies["whoelse"] = {"users": ["bob", "carol"]}
    h.run("whoelse")
    assert memory.online == {"bob", "carol"}

    after = Harness(memory=memory)  # the next session, on the same memory
    after.chat.note_reconnected()  # before its first event, which may be a return
    after.link.replies["whoelse"] = {"users": ["bob"]}  # carol is not back yet
    asyncio.run(after.chat.refresh_online())
    assert after.lines() == [] and memory.online == {"bob"}
    after.chat.handle_incoming(presence("carol", "online"))  # back from the same restart
    after.chat.handle_incoming(presence("dave", "online"))  # news
    after.chat.handle_incoming(presence("bob", "offline"))  # news
    assert [line.split("* ", 1)[1] for line in after.lines()] == [
        "dave is online", "bob went offline"]  # fmt: skip
    assert memory.online == {"carol", "dave"}
    after.timers.advance(RETURNING_WINDOW_S)
    after.chat.handle_incoming(presence("bob", "online"))  # past the window: news again
    assert after.lines()[-1].endswith("* bob is online")


def test_what_we_sent_from_another_session_shows_as_our_own_message() -> None:
    """chat/1 "Several sessions": `message_sent`."""
    h = Harness()
    sent = {"ev": "message_sent", "msg_id": 8, "to": "carol", "text": "from my phone",
            "sent_at": "2026-11-24T11:58:00Z"}  # fmt: skip
    h.chat.handle_incoming(sent)
    assert h.lines() == ["11:58 you → carol: from my phone"]
    assert h.log == [("out", "11:58 you → carol: from my phone")]  # nothing to ack
    assert "carol" in h.chat.known_users
