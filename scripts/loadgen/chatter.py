"""Clients that keep direct messages flowing: the engines of `dm`, `dm-paired`, `login` and
`offline`.

A Chatter sends to one other user, keeping `window` messages in flight (a slot frees when its
`ok` arrives), acks every `message` event it receives, and writes what one read made it send
in one write (an `ack` rides along with the next `message`). A SoloChatter (`dm`) does what an
independent client does instead: every frame in a write of its own, each message to a
recipient drawn at random, and a slot freed only when the recipient has the message, so the
server cannot batch more than real clients would let it. Each text starts with the tag
"SENDER:SEQ:", so the recipient (in this same process) looks up when that message was sent:
latency is receipt time minus send time, both from time.perf_counter().
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from array import array
from collections.abc import Sequence

from .client import Connection, is_ok, maybe_msg_id, maybe_tag, tagged_text

TEXT_BYTES = 64  # every message's text, tag included
DRAIN_TIMEOUT_S = 5.0  # after the measurement, how long in-flight messages may take


class Tally:
    """What the chatters of one run share: send times, the latency window, errors."""

    def __init__(self, senders: int) -> None:
        self.sent_at = [array("d") for _ in range(senders)]  # [sender][seq] -> perf_counter()
        self.window: array[float] | None = None  # latencies of receipts while measuring
        self.sending = True  # False: slots that free up are not refilled
        self.errors = 0  # non-ok replies and unexpected closes
        self.first_error = ""

    def error(self, what: str) -> None:
        self.errors += 1
        self.first_error = self.first_error or what

    def received(self, sender: int, seq: int, now: float) -> None:
        window = self.window
        if window is not None:
            window.append(now - self.sent_at[sender][seq])

    def figures(self) -> dict[str, int | str]:
        if not self.errors:
            return {"errors": 0}
        return {"errors": self.errors, "first_error": self.first_error}


class Chatter(Connection):
    wants_events = True

    def __init__(
        self,
        index: int,
        target: str | None,
        tally: Tally,
        window: int = 1,
        budget: int | None = None,
    ) -> None:
        """`index` names this sender in tags; `target` None: only receive; `budget`: stop
        after that many messages (None: until tally.sending turns False)."""
        super().__init__()
        self.index = index
        self.tally = tally
        self.window = window
        self.budget = budget
        self.sent = 0
        self.in_flight = 0
        self._head = b'{"op":"message","to":"%s","id":' % (target or "").encode()
        self._sends = target is not None

    def start(self) -> None:
        for _ in range(self.window):
            self._send_next()
        self.flush()

    def done_sending(self) -> bool:
        return self.in_flight == 0 and (self.budget is None or self.sent >= self.budget)

    def _send_next(self) -> None:
        if not (self._sends and self.tally.sending):
            return
        if self.budget is not None and self.sent >= self.budget:
            return
        seq = self.sent
        self.sent += 1
        self.in_flight += 1
        text = tagged_text(self.index, seq, TEXT_BYTES)
        self.tally.sent_at[self.index].append(time.perf_counter())
        self.queue(self._head + b'%d,"text":"%s"}\n' % (next(self.ids), text))

    def unawaited_reply_received(self, request_id: int, line: bytes) -> None:
        self.in_flight -= 1
        if not is_ok(line):
            self.tally.error(str(json.loads(line).get("error")))
        self._send_next()

    def event_received(self, line: bytes) -> None:
        if not line.startswith(b'{"ev":"message"') and self.event_name(line) != b"message":
            super().event_received(line)
            return
        now = time.perf_counter()
        msg_id = maybe_msg_id(line)
        if msg_id is not None:
            self.queue(b'{"op":"ack","msg_id":%d}\n' % msg_id)
        tag = maybe_tag(line)
        if tag is not None:
            self.tally.received(tag[0], tag[1], now)
            self.receipt(tag[0])

    def receipt(self, sender: int) -> None:
        """A message of `sender`'s reached us; a Chatter's slot freed at its `ok` already."""

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        if self.unexpected_close:
            self.tally.error("the server closed a connection")


class SoloChatter(Chatter):
    """Sends to random others, one write per frame; a slot frees when the recipient has it."""

    def __init__(
        self,
        index: int,
        names: Sequence[str],
        crowd: dict[int, SoloChatter],
        tally: Tally,
        window: int,
    ) -> None:
        super().__init__(index, names[(index + 1) % len(names)], tally, window)
        self.crowd = crowd  # every chatter of the run, by index: a receipt frees its sender
        self._random = random.Random(index)  # the same recipients in every run
        self._heads = [
            b'{"op":"message","to":"%s","id":' % name.encode()
            for i, name in enumerate(names)
            if i != index
        ]

    def queue(self, frame: bytes) -> None:
        """Every frame in a write of its own, as independent clients send them."""
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(frame)

    def _send_next(self) -> None:
        self._head = self._random.choice(self._heads)
        super()._send_next()

    def unawaited_reply_received(self, request_id: int, line: bytes) -> None:
        if not is_ok(line):  # refused: no receipt will come to free the slot
            self.tally.error(str(json.loads(line).get("error")))
            self._slot_freed()

    def receipt(self, sender: int) -> None:
        self.crowd[sender]._slot_freed()

    def _slot_freed(self) -> None:
        self.in_flight -= 1
        self._send_next()


async def wind_down(chatters: Sequence[Chatter], tally: Tally) -> None:
    """Stop sending, give in-flight messages a bounded time to be answered, close."""
    tally.sending = False
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DRAIN_TIMEOUT_S
    while any(c.in_flight for c in chatters) and loop.time() < deadline:
        await asyncio.sleep(0.02)
    for chatter in chatters:
        chatter.close()
