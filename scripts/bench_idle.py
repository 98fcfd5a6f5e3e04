#!/usr/bin/env python3
"""Memory per idle logged-in connection of a real chat-server process.

Creates N accounts (one argon2 hash shared by all, to save time), starts `chat-server` on a
fresh SQLite file, reads its resident memory, logs in N connections that then sit idle, and
reads it again. Prints the growth per connection. Logins cost one argon2 verification each,
so N=1000 takes about half a minute on two cores. Run:

    .venv/bin/python scripts/bench_idle.py --connections 1000
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from service.auth import hash_password
from service.db import migrate_to_head
from service.store import Store
from service.timeutil import utc_now
from tests.support.client import TestClient
from tests.support.server import spawn_server

PASSWORD = "benchmark password"


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--connections", type=int, default=1000)
    args = parser.parse_args()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # the server inherits it
    with tempfile.TemporaryDirectory() as tmp:
        db_url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        migrate_to_head(db_url)
        store = Store.open(db_url, group_commit=False)
        shared_hash = hash_password(PASSWORD)
        for i in range(args.connections):
            store.create_user(f"u{i}", shared_hash, utc_now())
        store.close()
        server = spawn_server(db_url, Path(tmp), "--log-level", "WARNING")
        try:
            baseline = TestClient(server.host, server.port)
            baseline.login("u0", PASSWORD)
            before = rss_kib(server.process.pid)
            clients = [baseline]
            for i in range(1, args.connections):
                client = TestClient(server.host, server.port, timeout_s=60)
                client.login(f"u{i}", PASSWORD)
                clients.append(client)
            after = rss_kib(server.process.pid)
            threads = len(list(Path(f"/proc/{server.process.pid}/task").iterdir()))
        finally:
            server.terminate()
    added = args.connections - 1
    print(
        f"{added} idle logged-in connections: server RSS {before} KiB -> {after} KiB, "
        f"{threads} threads"
    )
    print(f"memory per idle connection: {(after - before) / added:.1f} KiB")


if __name__ == "__main__":
    main()
