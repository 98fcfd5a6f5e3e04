"""search: `search` latency over a big corpus (default 1,000,000 messages).

USERS accounts; the corpus (search_data.py: Zipf words, 80% in 200 rooms, 20% direct
messages, every user in 10 rooms with 20 contacts) is written in bulk before the server
starts. Then CLIENTS of the users log in and each sends one `search` at a time, for
`duration` seconds after a warm-up, in turn from a mix: a frequent word (in ~10% of all
messages), a rare one, a prefix, two words, a frequent word in one room of the caller's,
and a frequent word with one contact. Per request: latency from sending to its reply, overall
and per kind; searches per second; the server's CPU per search. The server runs with no
request rate limit (`--request-rate 0`), as a closed loop of a few clients needs.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from typing import Any

from .client import Connection, close_all, connect_and_login, run_async
from .database import CHEAP_HASH, cheap_hash
from .machine import Sample
from .search_data import Corpus, build, contacts_of, room_name, rooms_of, user_name
from .server import ServerProcess, chat_server
from .settings import WARMUP_S, BenchConfig, WorkloadError
from .stats import latency_ms, micros_per, per_second

USERS = 1_000
CLIENTS = 4  # searchers, each with one search in flight
MESSAGES = 1_000_000
BUILD_TIMEOUT_S = 1_800.0  # writing the corpus is not timed: it runs before the server


def params(config: BenchConfig) -> dict[str, Any]:
    return {
        "duration_s": config.duration_s or 10.0,
        "clients": min(config.clients or CLIENTS, USERS),
        "messages": config.messages or MESSAGES,
        "users": USERS,
        "password_hash": CHEAP_HASH,
    }


def queries(corpus: Corpus, user: int) -> list[tuple[str, dict[str, Any]]]:
    """The mix, by kind: what user `user` asks, in turn."""
    return [
        ("frequent", {"query": corpus.frequent}),
        ("rare", {"query": corpus.rare}),
        ("prefix", {"query": corpus.prefix}),
        ("two_words", {"query": f"{corpus.middle} {corpus.frequent}"}),
        ("in_room", {"query": corpus.frequent, "room": room_name(rooms_of(user)[0])}),
        ("with_user", {"query": corpus.frequent, "with": user_name(contacts_of(user, USERS)[0])}),
    ]  # fmt: skip


def run(config: BenchConfig) -> dict[str, Any]:
    p = params(config)
    corpus: list[Corpus] = []
    built: list[float] = []

    def prepare(url: str) -> None:
        started = time.perf_counter()
        corpus.append(build(url, USERS, p["messages"]))
        built.append(time.perf_counter() - started)

    hashes = dict.fromkeys((user_name(n) for n in range(USERS)), cheap_hash())
    with chat_server(config, hashes, prepare, extra=["--request-rate", "0"]) as server:
        figures = run_async(_drive(server, corpus[0], p), p["duration_s"] + 120)
    return {**figures, "corpus_build_s": round(built[0], 1)}


async def _drive(server: ServerProcess, corpus: Corpus, p: dict[str, Any]) -> dict[str, Any]:
    names = [user_name(n) for n in range(p["clients"])]
    clients = await connect_and_login([Connection] * len(names), names, server.endpoint)
    samples: dict[str, list[float]] = defaultdict(list)
    hits: dict[str, int] = {}
    errors: list[str] = []
    measuring = asyncio.Event()
    stop_at = asyncio.get_running_loop().time() + WARMUP_S + p["duration_s"]

    async def searcher(n: int, client: Connection) -> None:
        mix = queries(corpus, n)
        for turn in range(1 << 62):
            if asyncio.get_running_loop().time() >= stop_at:
                return
            kind, fields = mix[(turn + n) % len(mix)]
            started = time.perf_counter()
            reply = await client.request({"op": "search", **fields})
            elapsed = time.perf_counter() - started
            if not reply.get("ok"):
                errors.append(f"{kind}: {reply.get('error')} {reply.get('text')}")
                continue
            hits[kind] = len(reply.get("results", []))
            if measuring.is_set():
                samples[kind].append(elapsed)

    tasks = [asyncio.create_task(searcher(n, c)) for n, c in enumerate(clients)]
    await asyncio.sleep(WARMUP_S)
    measuring.set()
    before = Sample.take(server.pid)
    await asyncio.gather(*tasks)
    window = before.until(Sample.take(server.pid))
    close_all(clients)
    if errors and not any(samples.values()):
        raise WorkloadError(f"every search failed, e.g. {errors[0]}")
    every = [s for kind in samples.values() for s in kind]
    figures: dict[str, Any] = {
        "searches": len(every),
        "searches_per_s": per_second(len(every), window.wall_s),
        **latency_ms(every),
        "server_cpu_us_per_search": micros_per(window.server_cpu_s, len(every)),
        "errors": len(errors),
    }
    for kind, kind_samples in samples.items():
        shown = latency_ms(kind_samples, prefix=f"{kind}_")
        figures |= {k: v for k, v in shown.items() if "p50" in k or "p99" in k}
        figures[f"{kind}_hits"] = hits.get(kind, 0)
    figures["words"] = f"{corpus.frequent} / {corpus.rare} / {corpus.prefix}* / {corpus.middle}"
    return figures
