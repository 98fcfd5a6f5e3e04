"""The writer's direct-message statements alone, replayed on a fresh SQLite file: CPU per
message and bytes written per commit, without sockets, threads or the reactor.

    python -m scripts.writer_replay [--messages N] [--batch B] [--users U] [--json]

It runs the very statements the server's writer runs for `dm` (MessageStatements.save_all and
ack_all, inside BEGIN IMMEDIATE, the writer's savepoint and COMMIT, on an engine made as the
server makes it: WAL, synchronous=FULL, foreign keys), and its step of the full-text indexes'
merging (service/store/index_merges.py): commits of B messages between random
pairs of U users, each commit also acknowledging the B messages of the one before, as `dm`'s
recipients do. The texts are `dm`'s (64 characters). It uses the `service` package of the
directory it runs in (`python -m` puts that first, before PYTHONPATH), so `cd <tree> &&
python -m scripts.writer_replay` measures that tree's schema and statements
(docs/BENCHMARKS.md, "The direct-message record's cost on `dm`"): run trees in turn, several
times, and compare medians. CPU is the process's (user and system: the WAL's
writes, the checkpoints and the fsyncs count), bytes are what it wrote (/proc/self/io), both
from the first commit to the last; setting up users and the schema is not counted.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text

from service.store.db import make_engine, migrate_to_head, writing
from service.store.index_merges import DM_INDEX, IndexMerges
from service.store.message_record import MessageRecord
from service.store.message_statements import MessageStatements, SavedMessage

TEXT_CHARS = 64  # as scripts/loadgen's dm: a tag "sender:seq:" and padding


def _bytes_written() -> int:
    """What this process has written to storage so far (Linux)."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("write_bytes:"):
            return int(line.split()[1])
    raise RuntimeError("/proc/self/io has no write_bytes")


def replay(messages: int, batch: int, users: int, seed: int = 1) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'replay.db'}"
        migrate_to_head(url)
        engine = writing(make_engine(url, connections=1))
        try:
            return _run(engine, messages, batch, users, random.Random(seed))
        finally:
            engine.dispose()


def _run(engine: Any, messages: int, batch: int, users: int, rnd: random.Random) -> dict[str, Any]:
    names = [f"u{i}" for i in range(users)]
    now = datetime.now(UTC)
    with engine.begin() as connection:
        for name in names:
            connection.execute(
                text("INSERT INTO users (name, password_hash, created_at, failed_attempts) "
                     "VALUES (:name, 'x', :at, 0)"),
                {"name": name, "at": now.replace(tzinfo=None)},
            )  # fmt: skip
        rows = connection.execute(text("SELECT name, id FROM users"))
        ids = {name: int(user_id) for name, user_id in rows}
    statements = MessageStatements(engine.dialect, remember_checks=True)
    merges = IndexMerges(engine.dialect.name)
    commits = messages // batch
    pending: list[tuple[int, int]] = []  # (msg_id, recipient_id): acked by the next commit
    seq = 0
    with engine.connect() as connection:
        cpu, wall, written = time.process_time(), time.perf_counter(), _bytes_written()
        for _ in range(commits):
            records = []
            for _ in range(batch):
                sender, recipient = rnd.sample(names, 2)
                seq += 1
                tag = f"{ids[sender]}:{seq}:"
                records.append(MessageRecord(ids[sender], sender, recipient,
                                             tag.ljust(TEXT_CHARS, "x"), None))  # fmt: skip
            with connection.begin():
                cursor = connection.connection.cursor()
                cursor.execute("SAVEPOINT replay")  # as the writer's hot batch
                statements.ack_all(connection, pending)
                outcomes = statements.save_all(connection, records, datetime.now(UTC), 4_000)
                cursor.execute("RELEASE SAVEPOINT replay")
                merges.added(DM_INDEX, statements.take_rows_added())
                merges.step(cursor)
            pending = []
            for record, outcome in zip(records, outcomes, strict=True):
                assert isinstance(outcome, SavedMessage), outcome
                pending.append((outcome.msg_id, ids[record.recipient]))
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        written = _bytes_written() - written
    count = commits * batch
    return {
        "messages": count,
        "batch": batch,
        "users": users,
        "cpu_us_per_msg": round(cpu / count * 1e6, 1),
        "wall_us_per_msg": round(wall / count * 1e6, 1),
        "kib_written_per_commit": round(written / commits / 1024, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=30_000, help="messages stored (30,000)")
    parser.add_argument("--batch", type=int, default=30, help="messages a commit (30)")
    parser.add_argument("--users", type=int, default=50, help="users, pairs drawn at random (50)")
    parser.add_argument("--json", action="store_true", help="one JSON object, no table")
    args = parser.parse_args(argv)
    result = replay(args.messages, args.batch, args.users)
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:24} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
