"""Answering a committed round: pure functions from (round, who is online) to bytes.

Nothing here touches a socket or the hub: the Answerer (service/pipeline/answerer.py) reads
who is online, calls these, and hands the bytes over. Four steps, because chat/1 counts in
a `say`'s `delivered_to` only the members whose connection took the message, which only the
hand-over can tell:

1. `room_posts`: each new room message of the round, encoded once (one commit, one sent_at);
2. `fan_out`: who gets which of them (one delivery per member's session, the same bytes for
   all but the senders and those who block one); the Answerer notes on each Post which
   users took it, and `count_delivered` turns that into each Say's `delivered_to`;
3. `answer`: every reply, joined per reply target (one `send()` each), the live direct
   messages per session of their recipient, what the senders' and readers' other sessions
   hear (`message_sent`, `room_read`), and the sessions to end (account deleted meanwhile);
4. `done`: how many requests of each reply target the round answers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import cast

from service.core.hub import Live, Recipient, RoomLive
from service.pipeline.items import DirectMessage, Fields, Item, Read, ReplyTarget, Round, Say
from service.store.message_statements import SavedMessage
from service.store.outcomes import Refusal
from service.store.room_statements import SavedSay
from service.wire.codec import encode
from service.wire.errors import RequestError, error_reply, message_ok, ok_reply
from service.wire.events import message_event, message_sent, room_message_event, room_read
from service.wire.timeutil import to_rfc3339

Members = Sequence[tuple[str, Recipient]]  # a room's members' sessions, as the hub lists them
Online = Mapping[str, Sequence[Recipient]]  # the sessions of some users online now, by name


@dataclass(slots=True, eq=False)
class Post:
    """One new room message on its way to the room's online members."""

    say: Say
    frame: bytes  # the `room_message` event, encoded once
    took: set[str] = field(default_factory=set)  # the users who got it live, on any session


@dataclass(slots=True, eq=False)
class RoomDelivery:
    """The same bytes of one room to some members; each Say in `posts` counts who took them."""

    room: str
    data: bytes  # the frames joined
    items: list[RoomLive]
    posts: list[Post]
    recipients: list[tuple[str, Recipient]]  # (user, session)


@dataclass(slots=True)
class Answers:
    replies: dict[ReplyTarget, list[bytes]] = field(default_factory=dict)  # in request order
    live: dict[Recipient, list[Live]] = field(default_factory=dict)  # per session
    ends: list[ReplyTarget] = field(default_factory=list)  # account deleted: after its reply


def room_posts(round_: Round) -> dict[str, list[Post]]:
    """The round's newly stored room messages by room, each encoded once."""
    posts: dict[str, list[Post]] = {}
    wire_time = ""
    for item in round_.items:
        saved = item.result
        if isinstance(item, Say) and isinstance(saved, SavedSay) and not saved.is_retry:
            wire_time = wire_time or to_rfc3339(saved.sent_at)  # one commit, one time
            say = item.record  # (a retry was delivered as first answered)
            frame = room_message_event(say.room, saved.seq, say.sender, say.text, wire_time,
                                       False)  # fmt: skip
            posts.setdefault(say.room, []).append(Post(item, frame))
    return posts


def fan_out(posts: Mapping[str, list[Post]], members: Mapping[str, Members]) -> list[RoomDelivery]:
    """Every online member's sessions get the round's messages of their room in one delivery,
    except the session that said one (the sender's other sessions get it: chat/1 "Several
    sessions"); members who block a sender skip that sender's messages (chat/1 blocking)."""
    deliveries: list[RoomDelivery] = []
    for room, posted in posts.items():
        special: set[str] = set()
        for post in posted:
            assert isinstance(post.say.result, SavedSay)
            special.add(post.say.record.sender)
            special |= post.say.result.blockers
        items: list[RoomLive] = [(post.frame, _seq(post)) for post in posted]
        everyone = RoomDelivery(room, b"".join(p.frame for p in posted), items, posted, [])
        deliveries.append(everyone)
        for user, recipient in members.get(room, ()):
            if user not in special:
                everyone.recipients.append((user, recipient))
                continue
            mine = [post for post in posted if _gets(user, recipient, post)]
            if mine:
                data = b"".join(post.frame for post in mine)
                mine_items = [(post.frame, _seq(post)) for post in mine]
                deliveries.append(RoomDelivery(room, data, mine_items, mine, [(user, recipient)]))
    return deliveries


def count_delivered(posts: Mapping[str, list[Post]]) -> None:
    """Each Say's `delivered_to`: the users other than its sender who took it (chat/1
    "Several sessions": users, not sessions, and never the sender)."""
    for posted in posts.values():
        for post in posted:
            post.took.discard(post.say.record.sender)
            post.say.delivered = len(post.took)


def _seq(post: Post) -> int:
    assert isinstance(post.say.result, SavedSay)
    return post.say.result.seq


def _gets(user: str, recipient: Recipient, post: Post) -> bool:
    assert isinstance(post.say.result, SavedSay)
    said_it = post.say.target is cast(object, recipient)  # the same connection
    return not said_it and user not in post.say.result.blockers


def answer(round_: Round, online: Online, max_chars: int) -> Answers:
    """Every reply and live event of a committed round. `online`: the sessions, by name, of
    the users its direct messages and reads concern (recipients, senders, readers) who are
    online now; each Say's `delivered` already counted."""
    answers = Answers()
    replies, live = answers.replies, answers.live
    sent_at, wire_time = None, ""  # one commit, one time: converted once
    fields: Fields
    for item in round_.items:
        outcome = item.result
        if type(item) is DirectMessage and type(outcome) is SavedMessage and not outcome.is_retry:
            # Most of the traffic, so written out here: stored, and live to every session of
            # its recipient that is on; the sender's other sessions hear what it sent.
            if sent_at != outcome.sent_at:
                sent_at, wire_time = outcome.sent_at, to_rfc3339(outcome.sent_at)
            record = item.record
            sessions = online.get(record.recipient, ())
            if sessions:
                event = message_event(outcome.msg_id, record.sender, record.text, wire_time, False)
                for session in sessions:
                    live.setdefault(session, []).append((event, outcome.msg_id))
            senders = online.get(record.sender, ())
            if _others(senders, item.target):
                _to_others(live, senders, item.target, message_sent(
                    outcome.msg_id, record.recipient, record.text, wire_time))  # fmt: skip
            fields = (outcome.msg_id, bool(sessions))
        else:
            fields = item.reply(max_chars)
            if outcome is Refusal.ACCOUNT_GONE:  # deleted while logged in: the session ends
                answers.ends.append(item.target)
            elif type(item) is Read and type(outcome) is int:  # the marker moved
                readers = online.get(item.user, ())
                if _others(readers, item.target):
                    _to_others(live, readers, item.target, encode(room_read(item.record.room,
                                                                            outcome)))  # fmt: skip
        if item.wants_reply:
            replies.setdefault(item.target, []).append(_reply(item, fields))
    return answers


def _others(sessions: Sequence[Recipient], but: object) -> bool:
    """Whether a user has sessions besides `but` (usually not: a fast no for one session)."""
    return len(sessions) > 1 or (len(sessions) == 1 and sessions[0] is not but)


def _to_others(
    live: dict[Recipient, list[Live]], sessions: Sequence[Recipient], but: object, event: bytes
) -> None:
    """`event` to each of a user's `sessions` but the one that made it happen."""
    for session in sessions:
        if session is not but:
            live.setdefault(session, []).append((event, None))  # never a duplicate to drop


def concerned(round_: Round) -> set[str]:
    """The users whose sessions the answer of `round_` needs: direct messages' recipients and
    senders, and the readers of reads."""
    names: set[str] = set()
    for item in round_.items:
        if type(item) is DirectMessage:
            names.add(item.record.recipient)
            names.add(item.record.sender)
        elif type(item) is Read:
            names.add(item.user)
    return names


def _reply(item: Item, fields: Fields) -> bytes:
    if isinstance(fields, RequestError):
        return encode(error_reply(item.request_id, fields))
    if isinstance(fields, tuple):
        if item.request_id is not None:
            return message_ok(item.request_id, *fields)
        fields = {"msg_id": fields[0], "delivered": fields[1]}
    return encode(ok_reply(item.request_id, fields))


def done(round_: Round) -> dict[ReplyTarget, int]:
    """The requests of each reply target that the round answers, whatever became of them."""
    counts: dict[ReplyTarget, int] = {}
    for item in round_.items:
        counts[item.target] = counts.get(item.target, 0) + 1
    return counts
