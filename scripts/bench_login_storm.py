#!/usr/bin/env python3
"""Does a storm of logins disturb the users already online?

Starts `chat-server` on a fresh SQLite file, logs in PAIRS sender/recipient pairs that keep
messaging (one message in flight each), measures their send->ok latency for a few seconds,
then fires STORM logins at once from other connections and measures again while they run.
Prints both latency distributions and how long the storm took. Run:

    .venv/bin/python scripts/bench_login_storm.py --pairs 5 --storm 200
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from service.auth import hash_password
from service.db import migrate_to_head
from service.store import Store
from service.timeutil import utc_now
from tests.support.client import TestClient
from tests.support.server import spawn_server

PASSWORD = "benchmark password"


def chatter(
    sender: TestClient, to: str, stop: threading.Event, out: list[tuple[float, float]]
) -> None:
    while not stop.is_set():
        started = time.perf_counter()
        reply = sender.request("message", to=to, text="still here?")
        assert reply["ok"], reply
        out.append((started, time.perf_counter() - started))


def drain(recipient: TestClient, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            frame = recipient.read_frame(0.2)
        except TimeoutError:
            continue
        if frame and frame.get("ev") == "message":
            recipient.send_raw(b'{"op":"ack","msg_id":%d}\n' % frame["msg_id"])


def describe(label: str, samples: list[float]) -> str:
    ordered = sorted(samples)
    p99 = ordered[max(0, int(len(ordered) * 0.99) - 1)]
    return (f"{label}: {len(ordered)} messages, p50 {statistics.median(ordered) * 1e3:.1f} ms, "
            f"p99 {p99 * 1e3:.1f} ms, max {ordered[-1] * 1e3:.1f} ms")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--storm", type=int, default=200)
    parser.add_argument("--calm-seconds", type=float, default=3.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db_url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        migrate_to_head(db_url)
        store = Store.open(db_url, group_commit=False)
        shared_hash = hash_password(PASSWORD)
        names = [f"online{i}" for i in range(args.pairs * 2)]
        names += [f"storm{i}" for i in range(args.storm)]
        for name in names:
            store.create_user(name, shared_hash, utc_now())
        store.close()
        server = spawn_server(db_url, Path(tmp), "--log-level", "WARNING")
        try:
            online = []
            for i in range(args.pairs * 2):
                client = TestClient(server.host, server.port, timeout_s=60)
                client.login(f"online{i}", PASSWORD)
                online.append(client)
            storm = [TestClient(server.host, server.port, timeout_s=120) for _ in range(args.storm)]
            stop = threading.Event()
            samples: list[tuple[float, float]] = []
            threads = []
            for i in range(args.pairs):
                threads.append(
                    threading.Thread(
                        target=chatter, args=(online[2 * i], f"online{2 * i + 1}", stop, samples)
                    )
                )
                threads.append(threading.Thread(target=drain, args=(online[2 * i + 1], stop)))
            for thread in threads:
                thread.start()
            stop.wait(args.calm_seconds)
            storm_start = time.perf_counter()
            for i, client in enumerate(storm):
                client.send(
                    {"op": "login", "id": "storm", "user": f"storm{i}", "password": PASSWORD}
                )
            for client in storm:
                assert client.reply_to("storm")["ok"]
            storm_end = time.perf_counter()
            stop.set()
            for thread in threads:
                thread.join()
        finally:
            server.terminate()
    calm = [latency for started, latency in samples if started < storm_start]
    during = [latency for started, latency in samples if storm_start <= started < storm_end]
    print(f"{args.storm} logins took {storm_end - storm_start:.1f} s "
          f"({args.pairs} pairs chatting meanwhile)")  # fmt: skip
    print(describe("before the storm", calm))
    print(describe("during the storm", during))


if __name__ == "__main__":
    main()
