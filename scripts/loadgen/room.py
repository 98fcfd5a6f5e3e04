"""room: one room of many online members, a few of whom talk at once.

MEMBERS accounts, all members of one room (memberships inserted before the server starts,
so the setup costs no `join`s), all logged in; SENDERS of them keep `window` messages each in
flight with `say`. A message is done when every other member has received it as a live
`room_message`; only then does its sender's slot free up, so the load follows whichever side
(the server or this generator) is the limit, and no queue grows without bound. After a
warm-up, for `duration` seconds: per delivery, latency from `say` to receipt; deliveries per
second; server CPU per delivery.
"""

from __future__ import annotations

import asyncio
import functools
import os
import time
from array import array
from collections.abc import Callable
from typing import Any

from .client import (
    Connection,
    close_all,
    connect_and_login,
    is_ok,
    maybe_tag,
    run_async,
    settle,
    tagged_text,
)
from .database import CHEAP_HASH, cheap_hash, create_room
from .machine import Sample, peak_rss_kib, runqueue_wait_s
from .server import ServerProcess, chat_server
from .settings import WARMUP_S, BenchConfig, WorkloadError
from .stats import latency_ms, micros_per, per_second

ROOM = "#bench"
SENDERS = 5  # of the members, these talk
TEXT_BYTES = 64  # every message's text, tag included
SETUP_TIMEOUT_S = 300.0  # 1,000 logins, each announced to everyone online (presence)
DRAIN_TIMEOUT_S = 10.0  # after the measurement, how long messages in flight may take


class Tally:
    """What the members of one run share: send times, receipts still due, latencies."""

    def __init__(self, members: int) -> None:
        self.due_per_message = members - 1  # everyone but the sender
        self.sent_at = [array("d") for _ in range(SENDERS)]  # [sender][n] -> perf_counter()
        self.due: list[list[int]] = [[] for _ in range(SENDERS)]  # [sender][n] -> receipts due
        self.senders: list[Sender] = []
        self.window: array[float] | None = None  # latencies of receipts while measuring
        self.sending = True  # False: slots that free up are not refilled
        self.in_flight = 0
        self.drained: asyncio.Event | None = None
        self.says = 0  # `say` replies while measuring
        self.errors = 0
        self.first_error = ""

    def error(self, what: str) -> None:
        self.errors += 1
        self.first_error = self.first_error or what

    def received(self, sender: int, n: int, now: float) -> None:
        window = self.window
        if window is not None:
            window.append(now - self.sent_at[sender][n])
        due = self.due[sender]
        due[n] -= 1
        if due[n] == 0:  # everyone has it: the sender may send another
            self.in_flight -= 1
            self.senders[sender].slot_free()
            if self.drained is not None and self.in_flight == 0:
                self.drained.set()


class Member(Connection):
    wants_events = True

    def __init__(self, tally: Tally) -> None:
        super().__init__()
        self.tally = tally

    def event_received(self, line: bytes) -> None:
        if not line.startswith(b'{"ev":"room_message"'):
            super().event_received(line)
            return
        tag = maybe_tag(line)
        if tag is not None:
            self.tally.received(tag[0], tag[1], time.perf_counter())


class Sender(Member):
    def __init__(self, index: int, tally: Tally, window: int) -> None:
        super().__init__(tally)
        self.index = index
        self.window = window

    def start(self) -> None:
        for _ in range(self.window):
            self._say()
        self.flush()

    def slot_free(self) -> None:
        """Called while another member's read is handled: send at once."""
        if self.tally.sending:
            self._say()
            self.flush()

    def _say(self) -> None:
        tally = self.tally
        n = len(tally.sent_at[self.index])
        text = tagged_text(self.index, n, TEXT_BYTES)
        tally.due[self.index].append(tally.due_per_message)
        tally.in_flight += 1
        tally.sent_at[self.index].append(time.perf_counter())
        self.queue(b'{"op":"say","id":%d,"room":"%s","text":"%s"}\n' % (n, ROOM.encode(), text))

    def unawaited_reply_received(self, request_id: int, line: bytes) -> None:
        if not is_ok(line):
            self.tally.error(f"say refused: {line[:200]!r}")
        elif self.tally.window is not None:
            self.tally.says += 1


def params(config: BenchConfig) -> dict[str, Any]:
    return {
        "members": config.clients or 1000,
        "senders": SENDERS,
        "window": config.window or 2,
        "duration_s": config.duration_s or 10.0,
        "warmup_s": WARMUP_S,
        "text_bytes": TEXT_BYTES,
        "password_hash": CHEAP_HASH,
    }


def run(config: BenchConfig) -> dict[str, Any]:
    p = params(config)
    if p["members"] <= SENDERS:
        raise WorkloadError(f"room needs more than {SENDERS} members")
    names = [f"u{i}" for i in range(p["members"])]
    budget = WARMUP_S + p["duration_s"] + DRAIN_TIMEOUT_S + SETUP_TIMEOUT_S
    prepare = functools.partial(create_room, room=ROOM, members=names)
    # Each sender says far more than a person would: the per-connection request rate, which
    # `say` counts against, is lifted (0), as `message` is exempt from it in `dm`.
    hashes = dict.fromkeys(names, cheap_hash())
    with chat_server(config, hashes, prepare, ["--request-rate", "0"]) as server:
        return run_async(_drive(server, names, p["window"], p["duration_s"]), budget)


async def _drive(
    server: ServerProcess, names: list[str], window: int, duration_s: float
) -> dict[str, Any]:
    tally = Tally(len(names))
    factories: list[Callable[[], Member]] = [
        functools.partial(Sender, i, tally, window) for i in range(SENDERS)
    ]
    factories += [functools.partial(Member, tally)] * (len(names) - SENDERS)
    connections = await connect_and_login(factories, names, server.endpoint)
    senders = [c for c in connections if isinstance(c, Sender)]
    tally.senders = sorted(senders, key=lambda s: s.index)
    await settle(connections)
    for sender in tally.senders:
        sender.start()
    await asyncio.sleep(WARMUP_S)
    latencies: array[float] = array("d")
    before = Sample.take(server.pid)
    waited = (runqueue_wait_s(server.pid), runqueue_wait_s(os.getpid()))
    tally.window = latencies
    await asyncio.sleep(duration_s)
    tally.window = None
    span = before.until(Sample.take(server.pid))
    server_wait_s = runqueue_wait_s(server.pid) - waited[0]
    generator_wait_s = runqueue_wait_s(os.getpid()) - waited[1]
    tally.sending = False
    tally.drained = asyncio.Event()
    if tally.in_flight:
        try:
            await asyncio.wait_for(tally.drained.wait(), DRAIN_TIMEOUT_S)
        except TimeoutError:
            tally.error(f"{tally.in_flight} messages not received by everyone in time")
    tally.errors += sum(c.unexpected_close for c in connections)
    close_all(connections)
    deliveries = len(latencies)
    figures: dict[str, Any] = {
        "deliveries_per_s": per_second(deliveries, span.wall_s),
        **latency_ms(latencies),
        "says_per_s": per_second(tally.says, span.wall_s),
        "server_cpu_us_per_delivery": micros_per(span.server_cpu_s, deliveries),
        "generator_cpu_s": round(span.generator_cpu_s, 3),
        "members": len(names),
        "senders": SENDERS,
        "window": window,
        "deliveries": deliveries,
        "errors": tally.errors,
        "seconds": round(span.wall_s, 3),
        "server_cpu_s": round(span.server_cpu_s, 3),
        # Waiting for a CPU while ready to run, all threads: large values mean the machine
        # was busy with other work, and the latencies show it.
        "server_runqueue_wait_s": round(server_wait_s, 3),
        "generator_runqueue_wait_s": round(generator_wait_s, 3),
        "server_peak_rss_mib": round(peak_rss_kib(server.pid) / 1024, 1),
    }
    if tally.first_error:
        figures["first_error"] = tally.first_error
    return figures
