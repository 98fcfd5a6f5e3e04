"""Direct messages after their commit: replies to the senders, live events to the recipients.

The writer hands each committed batch (chat/1: `ok` only after the commit) to the reactor in
one post, and the reactor answers it: the thread that owns the sockets writes to them. Were
the writer to send, every `send()` and every SQLite step (both release the GIL) would hand
the GIL back and forth between the two threads, a context switch each time. Each connection
gets one `send()` for all its replies of the batch and each recipient one for all its live
messages, so a syscall is shared by every message of a batch. The rooms' `say` and `read`
committed in the same batch are answered beside them (service/pipeline/room_answers.py).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from service.core.context import Services
from service.core.hub import Live
from service.core.session import EndReason
from service.net.connection import Connection, HotRound
from service.net.reactor import Reactor
from service.pipeline.room_answers import Prepared, RoomAnswers
from service.store.outcomes import Refusal
from service.store.writer import HotBatch, Result
from service.wire.codec import encode, json_string
from service.wire.errors import INTERNAL, ErrorCode, RequestError, error_reply, ok_reply, too_long
from service.wire.events import message_event
from service.wire.timeutil import to_rfc3339

# A reply's content: refused, (msg_id, delivered) for a stored message, or plain fields.
Answer = RequestError | tuple[int, bool] | dict[str, Any]


class Answerer:
    """The writer's callback for hot batches (see service/store/writer.py, HotCallback)."""

    def __init__(self, services: Services, reactor: Reactor) -> None:
        self._hub = services.hub
        self._max_chars = services.config.max_text_chars
        self._reactor = reactor
        self._rooms = RoomAnswers(services.hub, services.config.max_text_chars)

    def __call__(self, batch: HotBatch, outcomes: Sequence[Result] | BaseException) -> None:
        """On the writer thread: pass the batch to the reactor (rooms: see RoomAnswers)."""
        hot: HotRound = batch.context
        rooms = None
        if hot.rooms is not None and not isinstance(outcomes, BaseException):
            rooms = self._rooms.prepare(hot.rooms)
        self._reactor.post(functools.partial(self.answer, hot, outcomes, rooms))

    def answer(
        self, hot: HotRound, outcomes: Sequence[Result] | BaseException,
        rooms: Prepared | None = None,
    ) -> None:  # fmt: skip
        """On the reactor thread: every reply and live event of one committed batch."""
        try:
            self._answer(hot, outcomes, rooms)
        finally:  # whatever happened, these requests are done: their connections go on
            answered: dict[Connection, int] = {}
            done = [c for c, _, _ in hot.asked] + [c for c, _, _ in hot.acked]
            if hot.rooms is not None:
                done += hot.rooms.connections()
            for conn in done:
                answered[conn] = answered.get(conn, 0) + 1
            for conn, count in answered.items():
                conn.pipelined_done(count)

    def _answer(
        self, hot: HotRound, outcomes: Sequence[Result] | BaseException, rooms: Prepared | None
    ) -> None:
        replies: dict[Connection, list[bytes]] = {}
        fields: Answer
        live = self._deliveries(hot, outcomes, replies)
        for conn, request_id, wants_reply in hot.acked:
            if wants_reply:
                fields = INTERNAL if isinstance(outcomes, BaseException) else {}
                replies.setdefault(conn, []).append(_reply(request_id, fields))
        if hot.rooms is not None:
            failed = outcomes if isinstance(outcomes, BaseException) else None
            self._rooms.answer(hot.rooms, failed, rooms, replies)
        for recipient, items in live.items():  # with its replies, if any: one send
            recipient.deliver_encoded(items, b"".join(replies.pop(recipient, ())))
        for conn, parts in replies.items():
            conn.send_bytes(b"".join(parts))

    def _deliveries(
        self,
        hot: HotRound,
        outcomes: Sequence[Result] | BaseException,
        replies: dict[Connection, list[bytes]],
    ) -> dict[Any, list[Live]]:
        """Build every reply and live event of the batch; returns them by recipient."""
        live: dict[Any, list[Live]] = {}
        if not hot.asked:
            return live
        recipients = self._hub.recipients({record.recipient for record in hot.messages})
        wire_time: tuple[datetime | None, str] = (None, "")
        asked = zip(hot.asked, hot.messages, strict=True)
        for index, ((conn, request_id, wants_reply), record) in enumerate(asked):
            fields: Answer
            if isinstance(outcomes, BaseException):
                fields = INTERNAL
            elif isinstance(outcome := outcomes[index], Exception):
                fields = INTERNAL  # this message alone failed (logged by the writer)
            elif isinstance(outcome, Refusal):
                fields = message_refusal(outcome, record.recipient, self._max_chars)
                if outcome is Refusal.ACCOUNT_GONE:  # deleted while logged in: the session ends
                    conn.end(EndReason.ACCOUNT_DELETED)  # after this reply, which goes first
            elif outcome.is_retry:  # stored once already; delivered (or stored) as first answered
                fields = (outcome.msg_id, False)
            else:
                if wire_time[0] != outcome.sent_at:
                    wire_time = (outcome.sent_at, to_rfc3339(outcome.sent_at))
                recipient = recipients.get(record.recipient)
                if recipient is not None:
                    event = message_event(outcome.msg_id, record.sender, record.text,
                                          wire_time[1], False)  # fmt: skip
                    live.setdefault(recipient, []).append((event, outcome.msg_id))
                fields = (outcome.msg_id, recipient is not None)
            if wants_reply:
                replies.setdefault(conn, []).append(_reply(request_id, fields))
        return live


def message_refusal(refusal: Refusal, recipient: str, max_chars: int) -> RequestError:
    """chat/1's error for a `message` the store refused."""
    if refusal is Refusal.TOO_LONG:
        return too_long(max_chars)
    code, text = _MESSAGE_REFUSALS[refusal]
    return RequestError(code, text.format(recipient=recipient))


_MESSAGE_REFUSALS = {
    Refusal.ACCOUNT_GONE: (ErrorCode.NOT_LOGGED_IN, "Your account has been deleted."),
    Refusal.NO_SUCH_USER: (ErrorCode.NO_SUCH_USER, "There is no user {recipient}."),
    Refusal.SELF: (ErrorCode.SELF, "You cannot send a message to yourself."),
    Refusal.BLOCKED: (ErrorCode.BLOCKED, "{recipient} has blocked you."),
}


def _reply(request_id: Any, fields: Answer) -> bytes:
    if isinstance(fields, RequestError):
        return encode(error_reply(request_id, fields))
    if isinstance(fields, tuple):
        return message_ok(request_id, *fields)
    return encode(ok_reply(request_id, fields))


def message_ok(request_id: int | str, msg_id: int, delivered: bool) -> bytes:
    """The ok reply to `message`, encoded as `encode(ok_reply(...))` would (a test holds them
    equal), without a dict: it is written once per direct message."""
    re = json_string(request_id) if isinstance(request_id, str) else f"{request_id:d}"
    flag = "true" if delivered else "false"
    return f'{{"re":{re},"ok":true,"msg_id":{msg_id:d},"delivered":{flag}}}\n'.encode()
