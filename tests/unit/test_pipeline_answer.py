"""Answering a committed round, without a socket: the pure functions of
service/pipeline/answer.py, fed rounds whose results are filled in as the writer fills them."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, cast

import pytest

from service.core.hub import Hub, Live, RoomLive
from service.core.session import PIPELINED_OPS, EndReason
from service.pipeline.answer import answer, count_delivered, done, fan_out, room_posts
from service.pipeline.answerer import Answerer
from service.pipeline.items import KINDS, Ack, DirectMessage, Read, Refused, Round, Say
from service.store.message_record import MessageRecord
from service.store.message_statements import SavedMessage
from service.store.outcomes import Refusal
from service.store.room_statements import ReadRecord, SavedSay, SayRecord
from service.wire.errors import ErrorCode, RequestError
from service.wire.requests import REQUEST_TYPES

T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
MAX_CHARS = 10


class Peer:
    """A connection as the answer sees it: a reply target and a recipient, never written to."""

    can_private = True

    def __init__(self, name: str) -> None:
        self.name = name

    def send_bytes(self, data: bytes) -> bool:
        raise AssertionError("the answer is pure: it sends nothing")

    def pipelined_done(self, count: int) -> None:
        raise AssertionError("the answer is pure")

    def end(self, reason: EndReason) -> None:
        raise AssertionError("the answer is pure")

    def deliver_encoded(self, items: Sequence[Live], first: bytes = b"") -> bool:
        raise AssertionError("the answer is pure")

    def deliver_room(self, room: str, data: bytes, items: Sequence[RoomLive]) -> bool:
        raise AssertionError("the answer is pure")


def frames(data: list[bytes]) -> list[dict[str, Any]]:
    return [json.loads(line) for part in data for line in part.splitlines()]


def dm(peer: Peer, rid: int | str | None, to: str, result: Any, text: str = "hi") -> DirectMessage:
    record = MessageRecord(1, peer.name, to, text, None)
    return DirectMessage(peer, rid, rid is not None, record, result)


def test_direct_messages_are_answered_in_request_order_per_target() -> None:
    alice, bob = Peer("alice"), Peer("bob")  # carol is offline
    round_ = Round([
        dm(alice, 1, "bob", SavedMessage(10, T0, False)),
        Ack(alice, 2, True, 7, 1),
        dm(alice, 3, "carol", SavedMessage(11, T0, False)),
        dm(alice, None, "bob", SavedMessage(12, T0, False)),  # no id: no reply
        dm(bob, "x", "alice", Refusal.BLOCKED),
    ])  # fmt: skip

    answers = answer(round_, {"bob": [bob]}, MAX_CHARS)  # carol is offline

    assert frames(answers.replies[alice]) == [
        {"re": 1, "ok": True, "msg_id": 10, "delivered": True},
        {"re": 2, "ok": True},
        {"re": 3, "ok": True, "msg_id": 11, "delivered": False},
    ]
    assert frames(answers.replies[bob]) == [
        {"re": "x", "ok": False, "error": "blocked", "text": "alice has blocked you."}
    ]
    live = answers.live[bob]
    assert [msg_id for _, msg_id in live] == [10, 12]
    assert frames([event for event, _ in live])[0] == {
        "ev": "message", "msg_id": 10, "from": "alice", "text": "hi",
        "sent_at": "2026-01-02T03:04:05.000Z", "stored": False,
    }  # fmt: skip
    assert list(answers.live) == [bob] and answers.ends == []
    assert done(round_) == {alice: 4, bob: 1}


def test_a_retry_is_not_delivered_again() -> None:
    alice, bob = Peer("alice"), Peer("bob")
    round_ = Round([dm(alice, 1, "bob", SavedMessage(10, T0, True))])
    answers = answer(round_, {"bob": [bob]}, MAX_CHARS)
    assert frames(answers.replies[alice]) == [{"re": 1, "ok": True, "msg_id": 10,
                                               "delivered": False}]  # fmt: skip
    assert answers.live == {}


def test_a_deleted_account_is_answered_then_ended() -> None:
    alice = Peer("alice")
    round_ = Round([
        dm(alice, 1, "bob", Refusal.ACCOUNT_GONE),
        Say(alice, 2, True, SayRecord(1, "alice", "#a", "hi", None), Refusal.ACCOUNT_GONE),
    ])  # fmt: skip
    answers = answer(round_, {}, MAX_CHARS)
    assert [f["error"] for f in frames(answers.replies[alice])] == ["not_logged_in"] * 2
    assert answers.ends == [alice, alice]


def test_a_failed_commit_answers_internal_to_all() -> None:
    alice = Peer("alice")
    round_ = Round([
        dm(alice, 1, "bob", None),
        Ack(alice, 2, True, 7, 1),
        Say(alice, 3, True, SayRecord(1, "alice", "#a", "hi", None)),
        Read(alice, 4, True, ReadRecord(1, "#a", 3), "alice"),
    ])  # fmt: skip
    round_.failed(OSError("the disk is full"))
    answers = answer(round_, {}, MAX_CHARS)
    assert [f["error"] for f in frames(answers.replies[alice])] == ["internal"] * 4
    assert room_posts(round_) == {}


def test_refusals_and_too_long_read_as_chat1_says() -> None:
    alice = Peer("alice")
    round_ = Round([
        dm(alice, 1, "alice", Refusal.SELF),
        dm(alice, 2, "bob", Refusal.TOO_LONG),
        Read(alice, 3, True, ReadRecord(1, "#nope", 3), "alice", Refusal.NO_SUCH_ROOM),
        Say(alice, 4, True, SayRecord(1, "alice", "#a", "hi", None), Refusal.NOT_MEMBER),
        Read(alice, 5, True, ReadRecord(1, "#a", 3), "alice"),
    ])  # fmt: skip
    replies = frames(answer(round_, {}, MAX_CHARS).replies[alice])
    assert [(r.get("error"), r.get("text")) for r in replies] == [
        ("self", "You cannot send a message to yourself."),
        ("too_long", "A message may be at most 10 characters."),
        ("no_such_room", "There is no room #nope."),
        ("not_member", "You are not in #a; join it first."),
        (None, None),
    ]


def say(peer: Peer, rid: int, room: str, seq: int, blockers: frozenset[str] = frozenset()) -> Say:
    record = SayRecord(1, peer.name, room, f"m{seq}", None)
    return Say(peer, rid, True, record, SavedSay(seq, T0, False, blockers))


def test_room_messages_are_encoded_once_and_fanned_out_per_member() -> None:
    alice, bob, carol, dave = Peer("alice"), Peer("bob"), Peer("carol"), Peer("dave")
    first, second = say(alice, 1, "#a", 1, frozenset({"dave"})), say(bob, 2, "#a", 2)
    retry = Say(
        bob, 3, True, SayRecord(2, "bob", "#a", "m", "n"), SavedSay(1, T0, True, frozenset())
    )
    round_ = Round([first, second, retry])

    posts = room_posts(round_)
    assert [post.say for post in posts["#a"]] == [first, second]  # the retry is not sent again
    members = {"#a": [(p.name, p) for p in (alice, bob, carol, dave)]}
    deliveries = fan_out(posts, members)

    by_member = {id(r): d for d in deliveries for _, r in d.recipients}
    assert by_member[id(carol)].data == posts["#a"][0].frame + posts["#a"][1].frame
    assert [seq for _, seq in by_member[id(alice)].items] == [2]  # not its own
    assert [seq for _, seq in by_member[id(bob)].items] == [1]
    assert [seq for _, seq in by_member[id(dave)].items] == [2]  # dave blocks alice
    event = json.loads(posts["#a"][0].frame)
    assert event == {"ev": "room_message", "room": "#a", "seq": 1, "from": "alice", "text": "m1",
                     "sent_at": "2026-01-02T03:04:05.000Z", "stored": False}  # fmt: skip

    first.delivered, second.delivered = 2, 3  # as the Answerer counts who took them
    replies = answer(round_, {}, MAX_CHARS).replies
    assert frames(replies[alice]) == [{"re": 1, "ok": True, "seq": 1, "delivered_to": 2}]
    assert frames(replies[bob]) == [
        {"re": 2, "ok": True, "seq": 2, "delivered_to": 3},
        {"re": 3, "ok": True, "seq": 1, "delivered_to": 0},
    ]


def test_a_request_refused_before_the_store_is_answered_in_its_place() -> None:
    """A Refused item keeps its place among the replies, even when the commit failed."""
    alice = Peer("alice")
    refusal = RequestError(ErrorCode.BAD_REQUEST, "A message needs a text.")
    round_ = Round([
        dm(alice, 1, "bob", SavedMessage(10, T0, False)),
        Refused(alice, 2, True, refusal),
        dm(alice, 3, "bob", SavedMessage(11, T0, False)),
    ])  # fmt: skip

    replies = frames(answer(round_, {}, MAX_CHARS).replies[alice])
    assert [(reply["re"], reply["ok"]) for reply in replies] == [(1, True), (2, False), (3, True)]
    assert replies[1]["error"] == "bad_request"

    round_.failed(RuntimeError("the disk is gone"))
    failed = frames(answer(round_, {}, MAX_CHARS).replies[alice])
    assert [reply["error"] for reply in failed] == ["internal", "bad_request", "internal"]
    assert done(round_) == {alice: 3}


def test_several_sessions_each_get_a_direct_message_and_the_senders_others_hear_it() -> None:
    """chat/1 "Several sessions": live to every session of the recipient; `message_sent` to
    the sender's other sessions, never to the one that sent it."""
    alice1, alice2, bob1, bob2 = Peer("alice"), Peer("alice"), Peer("bob"), Peer("bob")
    round_ = Round([dm(alice1, 1, "bob", SavedMessage(10, T0, False))])
    answers = answer(round_, {"alice": [alice1, alice2], "bob": [bob1, bob2]}, MAX_CHARS)
    assert frames(answers.replies[alice1]) == [{"re": 1, "ok": True, "msg_id": 10,
                                                "delivered": True}]  # fmt: skip
    assert answers.live[bob1] == answers.live[bob2] and answers.live[bob1][0][1] == 10
    sent = answers.live[alice2]
    assert frames([event for event, _ in sent]) == [{
        "ev": "message_sent", "msg_id": 10, "to": "bob", "text": "hi",
        "sent_at": "2026-01-02T03:04:05.000Z",
    }]  # fmt: skip
    assert sent[0][1] is None  # not a message to alice: never dropped as a backlog duplicate
    assert alice1 not in answers.live


def test_a_message_from_a_session_replaced_meanwhile_is_heard_by_the_one_in_its_place() -> None:
    old, new, bob = Peer("alice"), Peer("alice"), Peer("bob")
    round_ = Round([dm(old, 1, "bob", SavedMessage(10, T0, False))])
    answers = answer(round_, {"alice": [new], "bob": [bob]}, MAX_CHARS)
    assert [frames([e])[0]["ev"] for e, _ in answers.live[new]] == ["message_sent"]
    assert frames(answers.replies[old])[0]["msg_id"] == 10  # its reply still goes to it
    lone = answer(round_, {"alice": [old], "bob": [bob]}, MAX_CHARS)
    assert old not in lone.live  # one session, the sender: nothing to tell


def test_a_read_that_moved_the_marker_is_heard_by_the_readers_other_sessions() -> None:
    alice1, alice2 = Peer("alice"), Peer("alice")
    moved = Read(alice1, None, False, ReadRecord(1, "#a", 5), "alice", 5)
    still = Read(alice1, None, False, ReadRecord(1, "#b", 2), "alice", None)
    answers = answer(Round([moved, still]), {"alice": [alice1, alice2]}, MAX_CHARS)
    assert frames([e for e, _ in answers.live[alice2]]) == [
        {"ev": "room_read", "room": "#a", "seq": 5}
    ]
    assert alice1 not in answers.live and answers.replies == {}


def test_a_room_message_reaches_the_senders_other_sessions_and_counts_users() -> None:
    alice1, alice2, bob1, bob2 = Peer("alice"), Peer("alice"), Peer("bob"), Peer("bob")
    said = say(alice1, 1, "#a", 1)
    posts = room_posts(Round([said]))
    members = {"#a": [("alice", alice1), ("alice", alice2), ("bob", bob1), ("bob", bob2)]}
    deliveries = fan_out(posts, members)
    got = {id(r) for d in deliveries for _, r in d.recipients}
    assert got == {id(alice2), id(bob1), id(bob2)}  # all but the session that said it
    for delivery in deliveries:  # as the Answerer notes who took them
        for post in delivery.posts:
            post.took |= {user for user, _ in delivery.recipients}
    count_delivered(posts)
    assert said.delivered == 1  # bob, once; never alice


class Written(Peer):
    """A connection that keeps what it is sent."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.sent: list[bytes] = []
        self.done = 0

    def send_bytes(self, data: bytes) -> bool:
        self.sent.append(data)
        return True

    def pipelined_done(self, count: int) -> None:
        self.done += count


class BrokenHub:
    """A hub whose look-up of who is online fails: our bug, after the commit."""

    def room_recipients(self, room: str) -> list[Any]:
        return []

    def recipients(self, names: Any) -> dict[str, Any]:
        raise RuntimeError("a bug of ours")


def test_a_round_the_answer_fails_on_is_answered_internal_not_left_unanswered(
    caplog: pytest.LogCaptureFixture,
) -> None:
    alice = Written("alice")
    round_ = Round([
        dm(alice, 1, "bob", SavedMessage(10, T0, False)),
        dm(alice, None, "bob", SavedMessage(11, T0, False)),  # no id: no reply
        dm(alice, 2, "bob", SavedMessage(12, T0, False)),
    ])  # fmt: skip
    posted: list[Callable[[], None]] = []
    answerer = Answerer(cast(Hub, BrokenHub()), MAX_CHARS, posted.append)

    answerer(round_)
    [answer_on_the_reactor] = posted
    answer_on_the_reactor()

    assert [(f["re"], f["error"]) for f in frames(alice.sent)] == [(1, "internal"), (2, "internal")]
    assert alice.done == 3  # every request of the round is done: the session goes on
    assert "answering a committed round failed" in caplog.text


def test_every_pipelined_op_has_its_kind_of_item() -> None:
    """A new pipelined op cannot be half added: its word, its request type and its class."""
    assert {request_type.op for request_type in KINDS} == PIPELINED_OPS
    for request_type, kind in KINDS.items():
        assert REQUEST_TYPES[request_type.op] is request_type
        assert kind.bucket and callable(kind.start) and callable(kind.reply), kind
