"""dm and dm-paired: direct-message throughput and latency between online users.

`dm`: N clients each keep `window` messages in flight to recipients drawn at random, every
frame in a write of its own, a message in flight until its recipient has it (SoloChatter): the
load an outside generator of independent clients puts on the server.
`dm-paired`: N clients in a ring, client i sends to client (i+1) % N, a slot frees at the `ok`,
and an `ack` shares a write with the next `message` (Chatter): what this generator measured
before `dm` existed, kept to compare with earlier figures.
In both, after a warm-up, for `duration` seconds: a message counts when its recipient has read
it; latency is receipt minus send. Server CPU per message includes its ack.
"""

from __future__ import annotations

import asyncio
import functools
from array import array
from collections.abc import Callable, Sequence
from typing import Any

from .chatter import TEXT_BYTES, Chatter, SoloChatter, Tally, wind_down
from .client import connect_and_login, run_async, settle
from .database import CHEAP_HASH, cheap_hash
from .machine import Sample, allowed_cpus, peak_rss_kib
from .server import ServerProcess, chat_server
from .settings import WARMUP_S, BenchConfig, WorkloadError
from .stats import latency_ms, micros_per, per_second

SETUP_TIMEOUT_S = 120.0  # logins and shutdown, on top of warm-up and measurement


def params(config: BenchConfig) -> dict[str, Any]:
    return {**paired_params(config), "recipients": "random", "writes": "one per frame"}


def paired_params(config: BenchConfig) -> dict[str, Any]:
    return {
        "clients": config.clients or 50,
        "window": config.window or 2,
        "duration_s": config.duration_s or 10.0,
        "warmup_s": WARMUP_S,
        "text_bytes": TEXT_BYTES,
        "password_hash": CHEAP_HASH,
    }


def run(config: BenchConfig) -> dict[str, Any]:
    return _run(config, _solo_chatters)


def run_paired(config: BenchConfig) -> dict[str, Any]:
    return _run(config, _paired_chatters)


ChatterFactories = Callable[[list[str], Tally, int], Sequence[Callable[[], Any]]]


def _solo_chatters(names: list[str], tally: Tally, window: int) -> list[Callable[[], Any]]:
    crowd: dict[int, SoloChatter] = {}  # by index, as they are made: a receipt frees a slot

    def make(i: int) -> SoloChatter:
        crowd[i] = SoloChatter(i, names, crowd, tally, window)
        return crowd[i]

    return [functools.partial(make, i) for i in range(len(names))]


def _paired_chatters(names: list[str], tally: Tally, window: int) -> list[Callable[[], Any]]:
    return [
        functools.partial(Chatter, i, names[(i + 1) % len(names)], tally, window)
        for i in range(len(names))
    ]


def _run(config: BenchConfig, chatters: ChatterFactories) -> dict[str, Any]:
    p = paired_params(config)
    if p["clients"] < 2:
        raise WorkloadError("dm needs at least 2 clients")
    names = [f"u{i}" for i in range(p["clients"])]
    with chat_server(config, dict.fromkeys(names, cheap_hash())) as server:
        tally = Tally(len(names))
        drive = _drive(server, names, chatters(names, tally, p["window"]), tally, p["duration_s"])
        return run_async(drive, WARMUP_S + p["duration_s"] + SETUP_TIMEOUT_S)


async def _drive(
    server: ServerProcess,
    names: list[str],
    factories: Sequence[Callable[[], Any]],
    tally: Tally,
    duration_s: float,
) -> dict[str, Any]:
    chatters: list[Any] = await connect_and_login(factories, names, server.endpoint)
    await settle(chatters)
    for chatter in chatters:
        chatter.start()
    await asyncio.sleep(WARMUP_S)
    latencies: array[float] = array("d")
    before = Sample.take(server.pid)
    tally.window = latencies
    await asyncio.sleep(duration_s)
    tally.window = None
    span = before.until(Sample.take(server.pid))
    await wind_down(chatters, tally)
    messages = len(latencies)
    return {
        "msgs_per_s": per_second(messages, span.wall_s),
        **latency_ms(latencies),
        "server_cpu_us_per_msg": micros_per(span.server_cpu_s, messages),
        "generator_cpu_s": round(span.generator_cpu_s, 3),
        **tally.figures(),
        "messages": messages,
        "seconds": round(span.wall_s, 3),
        "server_cpu_s": round(span.server_cpu_s, 3),
        "server_peak_rss_mib": round(peak_rss_kib(server.pid) / 1024, 1),
        "server_cpus": allowed_cpus(server.pid),
    }
