"""idle: what a logged-in connection that does nothing costs the server.

The server's RSS with one logged-in client, then with all of them (logged in concurrently, a
bounded number at a time), each read once RSS stops growing. Then a sample of the idle
connections must still answer `ping`: a server that keeps sockets open but no longer serves
them must not look cheap.
"""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

from .client import Connection, close_all, connect, connect_and_login, run_async
from .database import CHEAP_HASH, cheap_hash
from .machine import peak_rss_kib, rss_kib, thread_count
from .server import ServerProcess, chat_server
from .settings import BenchConfig, WorkloadError

LOGIN_CONCURRENCY = 200  # logins in flight at once
PING_SAMPLE = 100  # idle connections asked to ping at the end
PING_TIMEOUT_S = 10.0
RSS_STABLE_KIB = 256  # RSS is stable when it moved less than this...
RSS_STABLE_INTERVAL_S = 1.0  # ...over this long...
RSS_STABLE_TIMEOUT_S = 30.0  # ...or this long has passed (then the figure says "not stable")
PHASE_TIMEOUT_S = 900.0  # logins of 10,000 clients, each announced to everyone online


def params(config: BenchConfig) -> dict[str, Any]:
    return {
        "connections": config.clients or 10_000,
        "login_concurrency": LOGIN_CONCURRENCY,
        "ping_sample": PING_SAMPLE,
        "password_hash": CHEAP_HASH,
    }


def run(config: BenchConfig) -> dict[str, Any]:
    p = params(config)
    if p["connections"] < 2:
        raise WorkloadError("idle needs at least 2 connections")
    names = [f"u{i}" for i in range(p["connections"])]
    with chat_server(config, dict.fromkeys(names, cheap_hash())) as server:
        return run_async(_drive(server, names), PHASE_TIMEOUT_S)


async def _drive(server: ServerProcess, names: list[str]) -> dict[str, Any]:
    baseline = await connect(Connection, server.endpoint)
    await baseline.login(names[0])
    rss_before, _ = await wait_rss_stable(server.pid)
    started = time.perf_counter()
    others = await connect_and_login(
        [Connection] * (len(names) - 1), names[1:], server.endpoint, LOGIN_CONCURRENCY
    )
    login_all_s = time.perf_counter() - started
    rss_after, stable = await wait_rss_stable(server.pid)
    threads = thread_count(server.pid)
    connections = [baseline, *others]
    answered = await _ping_sample(connections)
    closed = sum(1 for c in connections if c.unexpected_close)
    close_all(connections)
    added = len(others)
    return {
        "connections": len(connections),
        "rss_per_conn_kib": round((rss_after - rss_before) / added, 2),
        "login_all_s": round(login_all_s, 3),
        "logins_per_s": round(added / login_all_s, 1),
        "server_rss_mib": round(rss_after / 1024, 1),
        "server_rss_baseline_mib": round(rss_before / 1024, 1),
        "server_peak_rss_mib": round(peak_rss_kib(server.pid) / 1024, 1),
        "rss_stable": stable,
        "server_threads": threads,
        "pings_answered": answered,
        "pings_sent": min(PING_SAMPLE, len(connections)),
        "errors": closed + min(PING_SAMPLE, len(connections)) - answered,
    }


async def wait_rss_stable(pid: int) -> tuple[int, bool]:
    """The server's RSS (KiB) once it moved less than RSS_STABLE_KIB in RSS_STABLE_INTERVAL_S;
    and whether it settled before RSS_STABLE_TIMEOUT_S."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + RSS_STABLE_TIMEOUT_S
    previous = rss_kib(pid)
    while True:
        await asyncio.sleep(RSS_STABLE_INTERVAL_S)
        current = rss_kib(pid)
        if abs(current - previous) < RSS_STABLE_KIB:
            return current, True
        if loop.time() >= deadline:
            return current, False
        previous = current


async def _ping_sample(connections: list[Connection]) -> int:
    sample = random.Random(1).sample(connections, min(PING_SAMPLE, len(connections)))

    async def ping(connection: Connection) -> bool:
        try:
            reply = await connection.request({"op": "ping"}, PING_TIMEOUT_S)
        except (TimeoutError, ConnectionError):
            return False
        return reply.get("ok") is True

    return sum(await asyncio.gather(*(ping(c) for c in sample)))
