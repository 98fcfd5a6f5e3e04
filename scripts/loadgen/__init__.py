"""The load generator behind `scripts/bench`: seven workloads against a real chat-server process.

Each workload starts a fresh `chat-server` (`python -m service.main`) on a fresh database (a
temporary SQLite file, or a new PostgreSQL database with `--db-url`), makes its accounts,
drives the server over 127.0.0.1 from this one asyncio process (chat/1 over TCP, or with
`--transport ws` over WebSocket on the web port), stops it and reports figures.
Modules, one concern each:

    cli.py       arguments, the order of the run, exit status
    settings.py  BenchConfig (what the command line asked for), WorkloadError
    machine.py   pinning to CPUs, file-descriptor limit, /proc and getrusage readings
    database.py  a fresh database per workload and its accounts, inserted with SQLAlchemy Core
    server.py    the chat-server process: spawn, wait until it listens, stop
    client.py    chat/1 over asyncio Protocols, doing as little work per frame as it can
    websocket.py the WebSocket under a client.py connection (--transport ws): upgrade, frames
    stats.py     percentiles
    dm.py (dm, dm-paired), fanout.py, idle.py, login.py, offline.py, room.py   the workloads
    report.py    the Rich table

Password hashes. Accounts are inserted straight into the `users` table before the server
starts. All workloads except `login` give every account ONE shared argon2id hash made with
cheap parameters (time_cost=1, memory_cost=1 MiB, parallelism=1): the server verifies with
the parameters encoded in the hash, so 10,000 logins measure the server, not argon2. The
`login` workload gives its storm accounts a hash at chat-server's default (real) cost
(service/credentials/hash_cost.py: 19 MiB, 2 passes), because a login storm is what it measures.

What this package does not do: judge the figures (no thresholds), or talk to anything but
127.0.0.1 and the database server named by `--db-url`.
"""
