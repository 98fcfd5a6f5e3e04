"""The rooms' `say` and `read` after their commit: replies, and live `room_message` fan-out.

The reactor gathers a round's `say` and `read` requests in a RoomRound beside the direct
messages (service/net/connection.py), the writer commits them in the same group commit
(service/store/room_statements.py), and the Answerer (service/pipeline/answerer.py) hands
them here in two steps:

- `prepare`, on the writer thread right after the commit: each new message is encoded once,
  and each room's online members are read from the hub's index. The index changes on the
  writer thread too, as joins and leaves commit, so a message reaches exactly the members in
  the room when it was committed.
- `answer`, on the reactor thread: every online member gets the round's messages of the room
  in one delivery through its own bounded outbox (the same bytes for all but the senders and
  those who block one of them), so a slow member costs nobody else anything; then the
  replies, `seq` and `delivered_to`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from service.core.hub import Hub, Recipient, RoomLive
from service.core.session import EndReason
from service.store.outcomes import Refusal
from service.store.room_statements import ReadRecord, RoomBatch, RoomResult, SavedSay, SayRecord
from service.wire import requests as m
from service.wire.codec import encode
from service.wire.errors import (
    INTERNAL,
    ErrorCode,
    RequestError,
    RequestId,
    error_reply,
    ok_reply,
    too_long,
)
from service.wire.events import room_message_event
from service.wire.rooms import MAX_ROOMS_PER_USER
from service.wire.timeutil import to_rfc3339

if TYPE_CHECKING:
    from service.net.connection import Connection


@dataclass(slots=True)
class RoomRound:
    """The `say` and `read` requests of one reactor round, and whom to answer afterwards."""

    batch: RoomBatch = field(default_factory=lambda: RoomBatch([], []))
    said: list[tuple[Connection, RequestId, bool]] = field(default_factory=list)
    read: list[tuple[Connection, RequestId, bool]] = field(default_factory=list)

    def add(
        self, conn: Connection, request_id: RequestId, wants_reply: bool,
        request: m.Request, user_id: int, user: str,
    ) -> None:  # fmt: skip
        if isinstance(request, m.Say):
            say = SayRecord(user_id, user, request.room, request.text, request.nonce)
            self.batch.says.append(say)
            self.said.append((conn, request_id, wants_reply))
        else:
            assert isinstance(request, m.Read), request
            self.batch.reads.append(ReadRecord(user_id, request.room, request.seq))
            self.read.append((conn, request_id, wants_reply))

    def connections(self) -> list[Connection]:
        """One entry per request: each is done once answered."""
        return [conn for conn, _, _ in self.said] + [conn for conn, _, _ in self.read]


@dataclass(slots=True)
class _Post:
    """One committed message on its way to the room's online members."""

    index: int  # in the batch's says
    seq: int
    sender: str
    frame: bytes  # the `room_message` event, encoded once
    skip: frozenset[str]  # the sender's blockers: members who do not get it
    delivered: int = 0


@dataclass(slots=True)
class Prepared:
    """What `prepare` found, by room: the new messages and the members online then."""

    posts: dict[str, list[_Post]]
    members: dict[str, list[tuple[str, Recipient]]]


class RoomAnswers:
    def __init__(self, hub: Hub, max_chars: int) -> None:
        self._hub = hub
        self._max_chars = max_chars

    def prepare(self, rounds: RoomRound) -> Prepared:
        """On the writer thread, right after the commit (see the module docstring)."""
        results = rounds.batch.results or []
        posts: dict[str, list[_Post]] = {}
        wire_time = ""
        for index, (say, result) in enumerate(zip(rounds.batch.says, results, strict=False)):
            if isinstance(result, SavedSay) and not result.is_retry:
                wire_time = wire_time or to_rfc3339(result.sent_at)  # one commit, one time
                frame = room_message_event(
                    say.room, result.seq, say.sender, say.text, wire_time, False
                )
                post = _Post(index, result.seq, say.sender, frame, result.blockers)
                posts.setdefault(say.room, []).append(post)
        members = {room: self._hub.room_recipients(room) for room in posts}
        return Prepared(posts, members)

    def answer(
        self, rounds: RoomRound, failed: BaseException | None, prepared: Prepared | None,
        replies: dict[Connection, list[bytes]],
    ) -> None:  # fmt: skip
        """On the reactor thread: deliver, then add every reply to `replies`."""
        delivered: dict[int, int] = {}
        if failed is None and prepared is not None:
            for room, posts in prepared.posts.items():
                _fan_out(room, posts, prepared.members[room])
                delivered.update((post.index, post.delivered) for post in posts)
        results: list[RoomResult] = list(rounds.batch.results or [])
        says = rounds.batch.says
        for index, (conn, request_id, wants_reply) in enumerate(rounds.said):
            result = _result(failed, results, index)
            if wants_reply:
                outcome = self._say_reply(says[index].room, result, delivered.get(index, 0))
                replies.setdefault(conn, []).append(_encoded(request_id, outcome))
            _end_if_deleted(conn, result)
        reads = rounds.batch.reads
        for index, (conn, request_id, wants_reply) in enumerate(rounds.read):
            result = _result(failed, results, len(says) + index)
            _end_if_deleted(conn, result)
            if wants_reply:
                outcome = {} if result is None else self._refusal_or_internal(
                    result, reads[index].room
                )  # fmt: skip
                replies.setdefault(conn, []).append(_encoded(request_id, outcome))

    def _say_reply(
        self, room: str, result: RoomResult, delivered: int
    ) -> RequestError | dict[str, int]:
        if isinstance(result, SavedSay):  # a retry was delivered as first answered: 0 now
            return {"seq": result.seq, "delivered_to": 0 if result.is_retry else delivered}
        return self._refusal_or_internal(result, room)

    def _refusal_or_internal(self, result: RoomResult, room: str) -> RequestError:
        if isinstance(result, Refusal):
            return room_refusal(result, room, self._max_chars)
        return INTERNAL  # this request alone failed (logged by the writer), or the commit


def _end_if_deleted(conn: Connection, result: RoomResult) -> None:
    """An account deleted while logged in ends its session, after this reply (as `message`)."""
    if result is Refusal.ACCOUNT_GONE:
        conn.end(EndReason.ACCOUNT_DELETED)


def _result(failed: BaseException | None, results: list[RoomResult], index: int) -> RoomResult:
    if failed is not None or index >= len(results):
        return RuntimeError("not committed")
    return results[index]


def _fan_out(room: str, posts: list[_Post], members: list[tuple[str, Recipient]]) -> None:
    """Every online member but the senders gets the round's messages of `room` in one
    delivery; members who block a sender skip that sender's messages (chat/1 blocking)."""
    special = {post.sender for post in posts}.union(*(post.skip for post in posts))
    items: list[RoomLive] = [(post.frame, post.seq) for post in posts]
    data = b"".join(post.frame for post in posts)
    everyone = 0  # members who got every message of the round
    for user, recipient in members:
        if user not in special:
            everyone += recipient.deliver_room(room, data, items)
            continue
        mine = [post for post in posts if post.sender != user and user not in post.skip]
        if mine and recipient.deliver_room(
            room, b"".join(post.frame for post in mine), [(p.frame, p.seq) for p in mine]
        ):
            for post in mine:
                post.delivered += 1
    for post in posts:
        post.delivered += everyone


def room_refusal(refusal: Refusal, room: str, max_chars: int) -> RequestError:
    """chat/1's error for a room request the store refused."""
    if refusal is Refusal.TOO_LONG:
        return too_long(max_chars)
    code, text = _ROOM_REFUSALS[refusal]
    return RequestError(code, text.format(room=room))


_ROOM_REFUSALS = {
    Refusal.ACCOUNT_GONE: (ErrorCode.NOT_LOGGED_IN, "Your account has been deleted."),
    Refusal.NO_SUCH_ROOM: (ErrorCode.NO_SUCH_ROOM, "There is no room {room}."),
    Refusal.NOT_MEMBER: (ErrorCode.NOT_MEMBER, "You are not in {room}; join it first."),
    Refusal.TOO_MANY_ROOMS: (
        ErrorCode.TOO_MANY_ROOMS,
        f"You are in {MAX_ROOMS_PER_USER} rooms, the most one may be in; leave one first.",
    ),
}


def _encoded(request_id: RequestId, outcome: RequestError | dict[str, int]) -> bytes:
    if isinstance(outcome, RequestError):
        return encode(error_reply(request_id, outcome))
    return encode(ok_reply(request_id, dict(outcome)))
