"""What the command line asked for, shared by every workload; and the one failure type."""

from __future__ import annotations

from dataclasses import dataclass

PASSWORD = "bench password 1"  # every benchmark account's password
WARMUP_S = 1.0  # dm and fanout run this long before measuring, to fill pipes and caches
TRANSPORTS = ("tcp", "ws")  # chat/1 over TCP, or over WebSocket on the web port (/chat)


class WorkloadError(Exception):
    """A workload could not produce figures (server did not start, a deadline passed...).

    The CLI reports it as {"error": text} for that workload and runs the others."""


@dataclass(frozen=True, slots=True)
class BenchConfig:
    duration_s: float | None = None  # None: each workload's own default
    clients: int | None = None  # None: each workload's own default
    window: int | None = None  # dm's requests in flight per client; None: its default
    messages: int | None = None  # offline's backlog size; None: its default
    db_server_url: str | None = None  # PostgreSQL server; None: a temporary SQLite file
    sqlite_synchronous: str = "full"  # passed to chat-server as --sqlite-synchronous
    transport: str = "tcp"  # one of TRANSPORTS: how every client of the run connects
