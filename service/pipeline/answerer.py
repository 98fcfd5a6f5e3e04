"""A committed round, answered: the writer's callback, and the hand-over on the reactor.

The writer hands each committed round (chat/1: `ok` only after the commit) to the reactor in
one post, and the reactor answers it: the thread that owns the sockets writes to them. Were
the writer to send, every `send()` and every SQLite step (both release the GIL) would hand
the GIL back and forth between the two threads, a context switch each time. Each connection
gets one `send()` for all its replies of the round (with its live messages, if any), so a
syscall is shared by every message of a round.

Two things happen on the writer thread, right after the commit: each new room message is
encoded once, and each room's online members are read from the hub's index. The index
changes on the writer thread too, as joins and leaves commit, so a message reaches exactly
the members in the room when it was committed.

What to send is decided by the pure functions of service/pipeline/answer.py; this module
only reads who is online and carries the bytes out.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping
from typing import cast

from service.core.hub import Hub
from service.core.session import EndReason
from service.pipeline.answer import (
    Members,
    Post,
    answer,
    concerned,
    count_delivered,
    done,
    fan_out,
    room_posts,
)
from service.pipeline.items import ReplyTarget, Round
from service.store.hot import HotWork
from service.wire.codec import encode
from service.wire.errors import INTERNAL, error_reply

log = logging.getLogger(__name__)

ToReactor = Callable[[Callable[[], None]], None]  # runs a callable on the reactor thread, soon


class Answerer:
    """The writer's callback for committed rounds (service/store/writer.py, HotCallback)."""

    def __init__(self, hub: Hub, max_chars: int, post: ToReactor) -> None:
        self._hub = hub
        self._max_chars = max_chars
        self._post = post

    def __call__(self, work: HotWork) -> None:
        """On the writer thread: pass the round to the reactor (rooms: see the docstring)."""
        assert isinstance(work, Round), work
        try:
            posts = room_posts(work) if work.failure is None else {}
            members = {room: self._hub.room_recipients(room) for room in posts}
        except Exception:  # our bug: the round still gets its answers, `internal`
            log.exception("preparing the answer of a committed round failed")
            self._post(functools.partial(self._failed, work))
            return
        self._post(functools.partial(self.answer, work, posts, members))

    def _failed(self, round_: Round) -> None:
        """On the reactor thread: `internal` to every request of the round, which is done."""
        try:
            _internal(round_, set())
        finally:
            _done(round_)

    def answer(
        self, round_: Round, posts: Mapping[str, list[Post]], members: Mapping[str, Members]
    ) -> None:
        """On the reactor thread: every live event and reply of one committed round."""
        answered: set[object] = set()  # connections whose replies went out
        try:
            for delivery in fan_out(posts, members):
                room, data, lives = delivery.room, delivery.data, delivery.items
                took = {u for u, r in delivery.recipients if r.deliver_room(room, data, lives)}
                for post in delivery.posts:
                    post.took |= took
            count_delivered(posts)
            names = concerned(round_)
            online = self._hub.recipients(names) if names else {}
            answers = answer(round_, online, self._max_chars)
            replies = answers.replies
            for recipient, items in answers.live.items():  # with its replies, if any: one send
                mine = replies.pop(cast(ReplyTarget, recipient), ())  # the same connection
                recipient.deliver_encoded(items, b"".join(mine))
                answered.add(recipient)
            for target, parts in replies.items():
                target.send_bytes(b"".join(parts))
                answered.add(target)
            for target in answers.ends:
                target.end(EndReason.ACCOUNT_DELETED)  # after its reply, which went first
        except Exception:  # our bug: the round is committed, its requests must still hear
            log.exception("answering a committed round failed; its replies say internal")
            _internal(round_, answered)
        finally:  # whatever happened, these requests are done: their connections go on
            _done(round_)


def _internal(round_: Round, answered: set[object]) -> None:
    """`internal` to every request of the round whose connection got no reply from it."""
    missing: dict[ReplyTarget, list[bytes]] = {}
    for item in round_.items:
        if item.wants_reply and item.target not in answered:
            missing.setdefault(item.target, []).append(
                encode(error_reply(item.request_id, INTERNAL))
            )
    for target, parts in missing.items():
        target.send_bytes(b"".join(parts))


def _done(round_: Round) -> None:
    """Each connection of the round hears how many of its requests are answered; one that
    fails (our bug) does not keep the others from hearing."""
    for target, count in done(round_).items():
        try:
            target.pipelined_done(count)
        except Exception:
            log.exception("a connection could not go on after its answers")
