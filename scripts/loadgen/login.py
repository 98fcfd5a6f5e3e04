"""login: does a storm of logins disturb the users already online?

Ten pairs chat (one message in flight each, the recipient acks), measured for a calm spell
after a warm-up; then a storm of fresh connections all send `login` at once for accounts
with a real-cost argon2id hash (chat-server's default cost). Figures: how fast the storm was
served and how much the online users' message latency suffered meanwhile.
"""

from __future__ import annotations

import asyncio
import functools
import time
from array import array
from typing import Any

from .chatter import Chatter, Tally, wind_down
from .client import Connection, bounded_gather, close_all, connect, connect_and_login, run_async
from .database import cheap_hash, real_hash
from .machine import Sample, peak_rss_kib
from .server import ServerProcess, chat_server
from .settings import PASSWORD, WARMUP_S, BenchConfig, WorkloadError
from .stats import latency_ms, per_second

PAIRS = 10  # online sender/recipient pairs, one message in flight each
CALM_S = 2.0  # how long the online users' latency is measured before the storm
STORM_TIMEOUT_S = 300.0  # 200 real-cost verifications on one pinned core take a while
CONNECT_CONCURRENCY = 200


def params(config: BenchConfig) -> dict[str, Any]:
    return {
        "storm_logins": config.clients or 200,
        "online_pairs": PAIRS,
        "online_window": 1,
        "warmup_s": WARMUP_S,
        "calm_s": CALM_S,
        "password_hash": "storm: chat-server's default argon2id (19 MiB, 2 passes); online: cheap",
    }


def run(config: BenchConfig) -> dict[str, Any]:
    p = params(config)
    if p["storm_logins"] < 1:
        raise WorkloadError("login needs at least 1 storm login")
    online = [f"online{i}" for i in range(2 * PAIRS)]
    storm = [f"storm{i}" for i in range(p["storm_logins"])]
    hashes = dict.fromkeys(online, cheap_hash()) | dict.fromkeys(storm, real_hash())
    with chat_server(config, hashes) as server:
        return run_async(_drive(server, online, storm), STORM_TIMEOUT_S + 120)


async def _drive(server: ServerProcess, online: list[str], storm: list[str]) -> dict[str, Any]:
    tally = Tally(len(online))
    factories = [
        functools.partial(Chatter, i, online[i + 1] if i % 2 == 0 else None, tally)
        for i in range(len(online))
    ]
    chatters = await connect_and_login(factories, online, server.endpoint)
    stormers = await bounded_gather(
        [functools.partial(connect, Connection, server.endpoint)] * len(storm), CONNECT_CONCURRENCY
    )
    for chatter in chatters:
        chatter.start()
    await asyncio.sleep(WARMUP_S)
    calm: array[float] = array("d")
    tally.window = calm
    await asyncio.sleep(CALM_S)
    during: array[float] = array("d")
    tally.window = during
    before = Sample.take(server.pid)
    logins = (_timed_login(c, name) for c, name in zip(stormers, storm, strict=True))
    results = await asyncio.gather(*logins)
    span = before.until(Sample.take(server.pid))
    tally.window = None
    await wind_down(chatters, tally)
    close_all(stormers)
    refused = [why for _seconds, why in results if why]
    figures: dict[str, Any] = {
        "logins_per_s": per_second(len(storm), span.wall_s),
        **latency_ms(seconds for seconds, _why in results),
        **latency_ms(during, prefix="online_"),
        **latency_ms(calm, prefix="online_", suffix="_before"),
        "peak_rss_mib": round(peak_rss_kib(server.pid) / 1024, 1),
        "errors": tally.errors + len(refused),
        "storm_s": round(span.wall_s, 3),
        "logins": len(storm),
        "online_messages_before": len(calm),
        "online_messages_during": len(during),
        "server_cpu_s": round(span.server_cpu_s, 3),
        "generator_cpu_s": round(span.generator_cpu_s, 3),
    }
    if refused or tally.errors:
        figures["first_error"] = refused[0] if refused else tally.first_error
    return figures


async def _timed_login(connection: Connection, name: str) -> tuple[float, str]:
    """(seconds from `login` sent to its reply, why it failed or "")."""
    started = time.perf_counter()
    try:
        login = {"op": "login", "user": name, "password": PASSWORD}
        reply = await connection.request(login, STORM_TIMEOUT_S)  # queued behind real-cost hashes
    except (TimeoutError, ConnectionError) as error:
        return time.perf_counter() - started, f"login {name}: {str(error) or 'no reply in time'}"
    seconds = time.perf_counter() - started
    return seconds, "" if reply.get("ok") else f"login {name}: {reply.get('error')}"
