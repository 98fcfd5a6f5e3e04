"""offline: a backlog of stored messages, read at login.

One sender pipelines MESSAGES messages (64 in flight) to a user who is offline and waits for
every `ok` (each means: stored durably). Then the recipient logs in and reads its backlog,
acking each message as it reads it; timed from sending `login` to having received every
message and sent every ack. Acks commit asynchronously, so the check that the backlog is gone
(`pending` 0 at a fresh login) is polled for a short while.
"""

from __future__ import annotations

import asyncio
import functools
import time
from typing import Any

from .chatter import Chatter, Tally
from .client import (
    Connection,
    Endpoint,
    close_all,
    connect,
    connect_and_login,
    maybe_msg_id,
    run_async,
)
from .database import CHEAP_HASH, cheap_hash
from .machine import Sample
from .server import ServerProcess, chat_server
from .settings import BenchConfig, WorkloadError
from .stats import micros_per, per_second

SENDER_WINDOW = 64  # messages in flight while the backlog is built
PHASE_TIMEOUT_S = 300.0  # building the backlog, then reading it
PENDING_POLL_S = 10.0  # how long the acks may take to commit
SENDER, RECIPIENT = "sender", "reader"


class BacklogReader(Connection):
    """Acks every `message` event as it reads it; `all_read` holds the time the last of
    `expected` distinct messages was read and its ack written."""

    wants_events = True

    def __init__(self, expected: int) -> None:
        super().__init__()
        self.expected = expected
        self.seen: set[int] = set()
        self.all_read: asyncio.Future[float] = asyncio.get_running_loop().create_future()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)  # handles the frames, then writes their acks
        if len(self.seen) >= self.expected and not self.all_read.done():
            self.all_read.set_result(time.perf_counter())

    def event_received(self, line: bytes) -> None:
        if not line.startswith(b'{"ev":"message"') and self.event_name(line) != b"message":
            super().event_received(line)
            return
        msg_id = maybe_msg_id(line)
        if msg_id is not None:
            self.queue(b'{"op":"ack","msg_id":%d}\n' % msg_id)
            self.seen.add(msg_id)


def params(config: BenchConfig) -> dict[str, Any]:
    return {
        "messages": config.messages or 10_000,
        "sender_window": SENDER_WINDOW,
        "password_hash": CHEAP_HASH,
    }


def run(config: BenchConfig) -> dict[str, Any]:
    messages = params(config)["messages"]
    if messages < 1:
        raise WorkloadError("offline needs at least 1 message")
    with chat_server(config, dict.fromkeys([SENDER, RECIPIENT], cheap_hash())) as server:
        return run_async(_drive(server, messages), 2 * PHASE_TIMEOUT_S + PENDING_POLL_S)


async def _drive(server: ServerProcess, messages: int) -> dict[str, Any]:
    tally = Tally(1)
    factory = functools.partial(Chatter, 0, RECIPIENT, tally, SENDER_WINDOW, messages)
    [sender] = await connect_and_login([factory], [SENDER], server.endpoint)
    before = Sample.take(server.pid)
    sender.start()
    await _wait_sent(sender)
    sending = before.until(Sample.take(server.pid))
    close_all([sender])

    reader = await connect(functools.partial(BacklogReader, messages), server.endpoint)
    before = Sample.take(server.pid)
    reply = await reader.login(RECIPIENT)
    try:
        read_at = await asyncio.wait_for(asyncio.shield(reader.all_read), PHASE_TIMEOUT_S)
    except TimeoutError:
        raise WorkloadError(f"read {len(reader.seen)} of {messages} in time") from None
    reading = before.until(Sample.take(server.pid))
    seconds = read_at - before.wall_s
    await reader.logout()
    return {
        "messages": len(reader.seen),
        "seconds": round(seconds, 3),
        "msgs_per_s": per_second(len(reader.seen), seconds),
        "pending_after": await _pending_after(server.endpoint),
        "pending_at_login": reply.get("pending"),
        "server_cpu_us_per_msg_read": micros_per(reading.server_cpu_s, len(reader.seen)),
        "send_s": round(sending.wall_s, 3),
        "send_msgs_per_s": per_second(messages, sending.wall_s),
        "server_cpu_us_per_msg_sent": micros_per(sending.server_cpu_s, messages),
        **tally.figures(),
    }


async def _wait_sent(sender: Chatter) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + PHASE_TIMEOUT_S
    while not sender.done_sending():
        if sender.unexpected_close:
            raise WorkloadError("the server closed the sender's connection")
        if loop.time() >= deadline:
            raise WorkloadError(f"{sender.in_flight} messages still unanswered in time")
        await asyncio.sleep(0.01)


async def _pending_after(endpoint: Endpoint) -> int:
    """`pending` at a fresh login, polled until 0 or PENDING_POLL_S has passed."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + PENDING_POLL_S
    while True:
        probe = await connect(Connection, endpoint)
        pending = int((await probe.login(RECIPIENT))["pending"])
        await probe.logout()
        if pending == 0 or loop.time() >= deadline:
            return pending
        await asyncio.sleep(0.2)
