"""Durable pipelined requests: one small class per kind, and a round of them in arrival order.

`message`, `ack`, `say` and `read` are answered only after the group commit that stores them
(chat/1: `ok` means stored). The reactor adds each one, as it is decoded, to the round it is
building (service/net/connection.py); at the end of the round the round goes to the writer,
which writes it through the store's HotWork interface (service/store/hot.py) and fills in
each item's `result`; then the round is answered (service/pipeline/answer.py). Every item
carries what its answer needs: whom to reply to, the request id, whether a reply is wanted,
its row for the store, and its result. Nothing is matched up by position.

A new pipelined op (an `edit`, say) is its request type (service/wire/requests.py, and its
word in PIPELINED_OPS), one class here, and its statement in the store, with its tests. The
class says how it starts from the typed request (`start`), which list of the round it joins
(`bucket`) and what its reply says once written (`reply`), and is named in KINDS; its
statement, reached through HotWrite, gets its line in `_STATEMENTS` (and in `_AHEAD` too if
it waits for no answer, as the acks do on PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from service.core.refusals import refusal_error
from service.core.session import EndReason
from service.store.hot import HotWork, HotWrite
from service.store.message_record import MessageRecord
from service.store.message_statements import Outcome, SavedMessage
from service.store.outcomes import Refusal
from service.store.room_statements import ReadRecord, SavedSay, SayRecord
from service.wire import requests as m
from service.wire.errors import INTERNAL, RequestError, RequestId

# A reply's content: refused, (msg_id, delivered) for a stored message, or plain fields.
Fields = RequestError | tuple[int, bool] | dict[str, Any]


class ReplyTarget(Protocol):
    """Where a request's answer goes: its connection, as the answer sees it."""

    def send_bytes(self, data: bytes) -> bool: ...

    def pipelined_done(self, count: int) -> None:
        """`count` of its pipelined requests are answered: the next may start."""
        ...

    def end(self, reason: EndReason) -> None: ...


@dataclass(slots=True, eq=False)
class DirectMessage:
    bucket: ClassVar[str] = "messages"
    target: ReplyTarget
    request_id: RequestId
    wants_reply: bool
    record: MessageRecord
    result: Outcome | Exception | None = None  # None until written

    @classmethod
    def start(
        cls, target: ReplyTarget, request_id: RequestId, wants_reply: bool, request: m.Message,
        user_id: int, user: str,
    ) -> DirectMessage:  # fmt: skip
        record = MessageRecord(user_id, user, request.to, request.text, request.nonce)
        return cls(target, request_id, wants_reply, record)

    def reply(self, max_chars: int) -> Fields:
        """Not newly stored: a newly stored one is answered inline (answer.py), and live."""
        outcome = self.result
        if isinstance(outcome, Refusal):
            return refusal_error(outcome, "message", self.record.recipient, max_chars)
        if isinstance(outcome, SavedMessage):  # a retry: delivered (or stored) as first answered
            return (outcome.msg_id, False)
        return INTERNAL  # it alone failed (logged by the writer), or the commit


@dataclass(slots=True, eq=False)
class Ack:
    bucket: ClassVar[str] = "acks"
    target: ReplyTarget
    request_id: RequestId
    wants_reply: bool
    msg_id: int
    recipient_id: int  # only the recipient can forget a message
    result: Exception | None = None  # None: forgotten (or not yet written)

    @classmethod
    def start(
        cls, target: ReplyTarget, request_id: RequestId, wants_reply: bool, request: m.Ack,
        user_id: int, user: str,
    ) -> Ack:  # fmt: skip
        return cls(target, request_id, wants_reply, request.msg_id, user_id)

    def reply(self, max_chars: int) -> Fields:
        return INTERNAL if isinstance(self.result, Exception) else {}


@dataclass(slots=True, eq=False)
class Say:
    bucket: ClassVar[str] = "says"
    target: ReplyTarget
    request_id: RequestId
    wants_reply: bool
    record: SayRecord
    result: SavedSay | Refusal | Exception | None = None  # None until written
    delivered: int = 0  # members whose connection took it live (counted by the answer)

    @classmethod
    def start(
        cls, target: ReplyTarget, request_id: RequestId, wants_reply: bool, request: m.Say,
        user_id: int, user: str,
    ) -> Say:  # fmt: skip
        record = SayRecord(user_id, user, request.room, request.text, request.nonce)
        return cls(target, request_id, wants_reply, record)

    def reply(self, max_chars: int) -> Fields:
        saved = self.result
        if isinstance(saved, SavedSay):  # a retry was delivered as first answered: 0 now
            return {"seq": saved.seq, "delivered_to": 0 if saved.is_retry else self.delivered}
        return _room_refusal(saved, self.record.room, max_chars)


@dataclass(slots=True, eq=False)
class Read:
    bucket: ClassVar[str] = "reads"
    target: ReplyTarget
    request_id: RequestId
    wants_reply: bool
    record: ReadRecord
    user: str  # whose other sessions hear `room_read` when the marker moved
    # int: the marker moved to it; None: it did not move (or not yet written)
    result: int | Refusal | Exception | None = None

    @classmethod
    def start(
        cls, target: ReplyTarget, request_id: RequestId, wants_reply: bool, request: m.Read,
        user_id: int, user: str,
    ) -> Read:  # fmt: skip
        record = ReadRecord(user_id, request.room, request.seq)
        return cls(target, request_id, wants_reply, record, user)

    def reply(self, max_chars: int) -> Fields:
        if self.result is None or isinstance(self.result, int):
            return {}
        return _room_refusal(self.result, self.record.room, max_chars)


def _room_refusal(result: Refusal | Exception | None, room: str, max_chars: int) -> RequestError:
    if isinstance(result, Refusal):
        return refusal_error(result, "room", room, max_chars)
    return INTERNAL  # it alone failed (logged by the writer), or the commit


@dataclass(slots=True, eq=False)
class Refused:
    """A pipelined request refused before the store (bad_request, not_logged_in) while earlier
    ones of its connection still wait for their commit: it waits in the round with them, so
    its error never overtakes their replies (each client sees its answers in request order).
    Nothing of it is written."""

    bucket: ClassVar[str] = ""  # nothing to write
    target: ReplyTarget
    request_id: RequestId
    wants_reply: bool
    error: RequestError
    result: Exception | None = None  # unused: the answer is `error`, whatever the commit did

    def reply(self, max_chars: int) -> Fields:
        return self.error


Item = DirectMessage | Ack | Say | Read | Refused
# The kinds a typed request starts (Connection._start_pipelined): a new op adds its line.
KINDS: dict[type[m.Request], Any] = {
    m.Message: DirectMessage, m.Ack: Ack, m.Say: Say, m.Read: Read,
}  # fmt: skip


@dataclass(slots=True)
class _Sorted:
    """A round's items by the statement that writes them, each list in arrival order."""

    messages: list[DirectMessage] = field(default_factory=list)
    acks: list[Ack] = field(default_factory=list)
    says: list[Say] = field(default_factory=list)
    reads: list[Read] = field(default_factory=list)
    started: Any = None  # PostgreSQL: the messages' checks, sent ahead (_start_checks)


def _write_messages(items: _Sorted, tx: HotWrite) -> None:
    if items.messages:
        records = [item.record for item in items.messages]
        outcomes = tx.messages.save_all(tx.connection, records, tx.now, tx.max_chars, items.started)
        for item, outcome in zip(items.messages, outcomes, strict=True):
            item.result = outcome


def _write_acks(items: _Sorted, tx: HotWrite) -> None:
    if items.acks:
        tx.messages.ack_all(tx.connection, [(a.msg_id, a.recipient_id) for a in items.acks])


def _start_checks(items: _Sorted, tx: HotWrite) -> None:
    if items.messages:
        records = [item.record for item in items.messages]
        items.started = tx.messages.start_checks(tx.connection, records)


def _write_rooms(items: _Sorted, tx: HotWrite) -> None:
    """`say` and `read` in one call: they share its reads of rooms and memberships."""
    if items.says or items.reads:
        says = [item.record for item in items.says]
        reads = [item.record for item in items.reads]
        said, read = tx.rooms.write_all(tx.connection, says, reads, tx.now, tx.max_chars)
        for say, outcome in zip(items.says, said, strict=True):
            assert not isinstance(outcome, int), outcome  # a read's outcome, never a say's
            say.result = outcome
        for mark, marked in zip(items.reads, read, strict=True):
            assert not isinstance(marked, SavedSay), marked
            mark.result = marked


# In this order: every kind of the round with one statement call (a few for rooms).
_STATEMENTS: tuple[Callable[[_Sorted, HotWrite], None], ...] = (
    _write_messages,
    _write_acks,
    _write_rooms,
)
# Where the store sends ahead (tx.messages.sends_ahead: PostgreSQL), what waits for no answer
# goes first, with the writer's savepoint in one round trip (HotWrite.ahead), then the rest.
# Acks before messages: an ack names a message committed before this round.
_AHEAD: tuple[Callable[[_Sorted, HotWrite], None], ...] = (_write_acks, _start_checks)
# The rest, in _STATEMENTS' order: derived, so a new statement cannot be left out here.
_AFTER = tuple(write for write in _STATEMENTS if write not in _AHEAD)


@dataclass(slots=True, eq=False)
class Round:
    """One reactor round's durable pipelined requests, in arrival order (the store's HotWork).
    It refers to nothing that refers back to it, so it is freed without the garbage collector."""

    items: list[Item] = field(default_factory=list)
    failure: BaseException | None = None  # the commit failed: nothing of it was stored

    def write(self, tx: HotWrite) -> None:
        sorted_items = _Sorted()
        for item in self.items:
            if item.bucket:  # "": nothing to write (Refused)
                getattr(sorted_items, item.bucket).append(item)
        sends_ahead = tx.messages.sends_ahead
        with tx.ahead():
            if sends_ahead:
                for send in _AHEAD:
                    send(sorted_items, tx)
        for write in _AFTER if sends_ahead else _STATEMENTS:
            write(sorted_items, tx)

    def singles(self) -> Iterator[Round]:
        return (Round([item]) for item in self.items)

    def failed(self, error: BaseException) -> None:
        self.failure = error
        failed = error if isinstance(error, Exception) else RuntimeError("not committed")
        for item in self.items:
            item.result = failed

    def joined(self, others: Sequence[HotWork]) -> Round:
        items = list(self.items)
        for other in others:
            assert isinstance(other, Round), other
            items += other.items
        return Round(items)
