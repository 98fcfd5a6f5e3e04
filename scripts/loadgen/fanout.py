"""fanout: one broadcaster, many online listeners.

The broadcaster sends a `broadcast` whose text starts with its number, waits until every
listener has received it (or BROADCAST_TIMEOUT_S passes: an error), and starts the next one;
after a warm-up, for `duration` seconds and at most MAX_BROADCASTS. Per delivery: latency from
send to receipt; per broadcast: the time until its last listener had it.
"""

from __future__ import annotations

import asyncio
import functools
import time
from array import array
from typing import Any

from .client import (
    Connection,
    close_all,
    connect_and_login,
    maybe_tag,
    run_async,
    settle,
    tagged_text,
)
from .database import CHEAP_HASH, cheap_hash
from .machine import Sample, peak_rss_kib
from .server import ServerProcess, chat_server
from .settings import WARMUP_S, BenchConfig, WorkloadError
from .stats import latency_ms, micros_per, per_second

BROADCAST_TIMEOUT_S = 5.0  # a broadcast not received by all listeners by then is an error
MAX_BROADCASTS = 20_000  # bounds the run in count as well as in time
SETUP_TIMEOUT_S = 300.0  # 1,000 logins, each announced to everyone online (presence)
TEXT_BYTES = 64


class Round:
    """The broadcast in flight and what the listeners report about it."""

    def __init__(self, listeners: int) -> None:
        self.listeners = listeners
        self.number = -1
        self.sent_at = 0.0
        self.reached = 0
        self.everyone: asyncio.Future[float] | None = None  # time the last listener had it
        self.latencies: array[float] | None = None  # per delivery, while measuring

    def begin(self, number: int, measuring: array[float] | None) -> asyncio.Future[float]:
        self.number, self.reached, self.latencies = number, 0, measuring
        self.everyone = asyncio.get_running_loop().create_future()
        self.sent_at = time.perf_counter()
        return self.everyone

    def arrived(self, number: int, now: float) -> None:
        if number != self.number:
            return  # a late copy of a broadcast that timed out
        if self.latencies is not None:
            self.latencies.append(now - self.sent_at)
        self.reached += 1
        if self.reached == self.listeners and self.everyone and not self.everyone.done():
            self.everyone.set_result(now)


class Listener(Connection):
    wants_events = True

    def __init__(self, round_: Round) -> None:
        super().__init__()
        self.round = round_

    def event_received(self, line: bytes) -> None:
        if not line.startswith(b'{"ev":"broadcast"') and self.event_name(line) != b"broadcast":
            super().event_received(line)
            return
        tag = maybe_tag(line)
        if tag is not None:
            self.round.arrived(tag[1], time.perf_counter())


def params(config: BenchConfig) -> dict[str, Any]:
    return {
        "listeners": config.clients or 1000,
        "duration_s": config.duration_s or 10.0,
        "warmup_s": WARMUP_S,
        "max_broadcasts": MAX_BROADCASTS,
        "broadcast_timeout_s": BROADCAST_TIMEOUT_S,
        "text_bytes": TEXT_BYTES,
        "password_hash": CHEAP_HASH,
    }


def run(config: BenchConfig) -> dict[str, Any]:
    p = params(config)
    if p["listeners"] < 1:
        raise WorkloadError("fanout needs at least 1 listener")
    names = ["broadcaster"] + [f"u{i}" for i in range(p["listeners"])]
    budget = WARMUP_S + p["duration_s"] + BROADCAST_TIMEOUT_S + SETUP_TIMEOUT_S
    # One sender broadcasts as fast as its replies come back, far past a person's pace: the
    # per-connection request rate (broadcast counts against it) is lifted (0).
    hashes = dict.fromkeys(names, cheap_hash())
    with chat_server(config, hashes, extra=["--request-rate", "0"]) as server:
        return run_async(_drive(server, names, p["duration_s"]), budget)


async def _drive(server: ServerProcess, names: list[str], duration_s: float) -> dict[str, Any]:
    listeners = len(names) - 1
    round_ = Round(listeners)
    factories = [Connection] + [functools.partial(Listener, round_)] * listeners
    connections = await connect_and_login(factories, names, server.endpoint)
    broadcaster = connections[0]
    await settle(connections)
    latencies: array[float] = array("d")
    all_reached: list[float] = []
    errors: list[str] = []
    measure_from = time.perf_counter() + WARMUP_S
    measure_until = measure_from + duration_s
    before: Sample | None = None
    for number in range(MAX_BROADCASTS):
        now = time.perf_counter()
        if now >= measure_until:
            break
        measuring = now >= measure_from
        if measuring and before is None:
            before = Sample.take(server.pid)
        everyone = round_.begin(number, latencies if measuring else None)
        text = tagged_text(0, number, TEXT_BYTES).decode()
        reply = await broadcaster.request({"op": "broadcast", "text": text}, BROADCAST_TIMEOUT_S)
        if not reply.get("ok") or reply.get("delivered_to") != listeners:
            errors.append(f"reply {reply}")
        try:
            reached_at = await asyncio.wait_for(everyone, BROADCAST_TIMEOUT_S)
        except TimeoutError:
            errors.append(f"broadcast {number} reached {round_.reached} of {listeners}")
            continue
        if measuring:
            all_reached.append(reached_at - round_.sent_at)
    if before is None:
        raise WorkloadError("no broadcast was sent after the warm-up")
    span = before.until(Sample.take(server.pid))
    errors += [
        f"{c.__class__.__name__} closed by the server" for c in connections if c.unexpected_close
    ]
    close_all(connections)
    deliveries = len(latencies)
    figures: dict[str, Any] = {
        "deliveries_per_s": per_second(deliveries, span.wall_s),
        **latency_ms(latencies),
        **latency_ms(all_reached, prefix="all_reached_"),
        "broadcasts": len(all_reached),
        "listeners": listeners,
        "deliveries": deliveries,
        "errors": len(errors),
        "server_cpu_us_per_delivery": micros_per(span.server_cpu_s, deliveries),
        "generator_cpu_s": round(span.generator_cpu_s, 3),
        "seconds": round(span.wall_s, 3),
        "server_cpu_s": round(span.server_cpu_s, 3),
        "server_peak_rss_mib": round(peak_rss_kib(server.pid) / 1024, 1),
    }
    if errors:
        figures["first_error"] = errors[0]
    return figures
