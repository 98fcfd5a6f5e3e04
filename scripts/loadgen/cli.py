"""`scripts/bench`: arguments, one workload after the other, the report, the exit status.

A workload that fails (the server did not start, a deadline passed, a connection broke)
reports {"error": text} and the others still run; the exit status is 1 if any failed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rich.console import Console

from . import dm, fanout, idle, login, offline, room, search
from .client import event_loop_factory
from .database import describe
from .machine import pin_generator, raise_descriptor_limit
from .report import render
from .server import server_command
from .settings import TRANSPORTS, BenchConfig, WorkloadError

Figures = dict[str, Any]


@dataclass(frozen=True)
class Workload:
    params: Callable[[BenchConfig], Figures]  # what it will do, for the report's config
    run: Callable[[BenchConfig], Figures]  # its figures; raises when it could not measure


WORKLOADS = {  # in the order a bare `scripts/bench` runs them
    "dm": Workload(dm.params, dm.run),
    "dm-paired": Workload(dm.paired_params, dm.run_paired),
    "fanout": Workload(fanout.params, fanout.run),
    "idle": Workload(idle.params, idle.run),
    "login": Workload(login.params, login.run),
    "offline": Workload(offline.params, offline.run),
    "room": Workload(room.params, room.run),
    "search": Workload(search.params, search.run),
}


def _positive(kind: type[int] | type[float]) -> Callable[[str], Any]:
    def parse(text: str) -> int | float:
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be positive, not {text}")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its error messages
    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scripts/bench",
        description="Benchmarks of chat-server: each workload starts a fresh server on a "
        "fresh database and drives it over 127.0.0.1 from one asyncio process.",
    )
    parser.add_argument(
        "workloads",
        nargs="*",
        metavar="WORKLOAD",
        help=f"any of {' '.join(WORKLOADS)} (default: all, in that order)",
    )
    parser.add_argument(
        "--duration",
        type=_positive(float),
        metavar="S",
        help="dm, dm-paired, fanout, room, search: seconds measured after a 1 s warm-up "
        "(default 10)",
    )
    parser.add_argument(
        "--clients",
        type=_positive(int),
        metavar="N",
        help="dm: clients (default 50); fanout: listeners (1000); "
        "idle: connections (10000); login: storm logins (200); room: members (1000); "
        "search: searchers (4)",
    )
    parser.add_argument(
        "--window",
        type=_positive(int),
        metavar="W",
        help="dm: messages in flight per client (default 2); "
        "room: messages in flight per sender (2)",
    )
    parser.add_argument(
        "--messages",
        type=_positive(int),
        metavar="N",
        help="offline: messages in the backlog (default 10000); search: messages in the "
        "corpus (1000000)",
    )
    parser.add_argument(
        "--transport",
        choices=TRANSPORTS,
        default="tcp",
        help="how every client connects: tcp, chat/1 lines on the chat port; ws, chat/1 "
        "over WebSocket on the web port (/chat), one frame per text message, as the web "
        "client does (default tcp; the server listens on both either way)",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object (keyed by workload, plus config) on stdout",
    )
    parser.add_argument(
        "--db-url",
        metavar="URL",
        help="a PostgreSQL server, e.g. postgresql+psycopg://postgres@127.0.0.1"
        ":5432/test: each workload creates (and drops) a fresh database there "
        "(default: a temporary SQLite file)",
    )
    parser.add_argument(
        "--sqlite-synchronous",
        choices=["full", "normal"],
        default="full",
        help="SQLite's synchronous pragma, passed to chat-server (default full)",
    )
    return parser  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    unknown = [name for name in args.workloads if name not in WORKLOADS]
    if unknown:
        parser.error(f"unknown workload {', '.join(unknown)}; choose from {' '.join(WORKLOADS)}")
    names = list(dict.fromkeys(args.workloads)) or list(WORKLOADS)
    config = BenchConfig(
        duration_s=args.duration,
        clients=args.clients,
        window=args.window,
        messages=args.messages,
        db_server_url=args.db_url,
        sqlite_synchronous=args.sqlite_synchronous,
        transport=args.transport,
    )
    pinning = pin_generator()
    open_files = raise_descriptor_limit()
    report: dict[str, Any] = {
        "config": {
            "transport": config.transport,
            "workloads": {name: WORKLOADS[name].params(config) for name in names},
            "server_command": server_command(config),
            "database": describe(config.db_server_url),
            "sqlite_synchronous": config.sqlite_synchronous,
            "nproc": os.cpu_count(),
            "pinning": pinning,
            "event_loop": event_loop_factory()[1],
            "python": platform.python_version(),
            "open_files_limit": open_files,
        }
    }
    for name in names:
        print(f"bench: {name}...", file=sys.stderr, flush=True)
        report[name] = _run_one(WORKLOADS[name], config)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        render(report, Console())
    return 1 if any("error" in report[name] for name in names) else 0


def _run_one(workload: Workload, config: BenchConfig) -> Figures:
    """The boundary: whatever goes wrong in one workload becomes its {"error": ...}."""
    try:
        return workload.run(config)
    except WorkloadError as error:
        return {"error": str(error)}
    except Exception as error:
        return {"error": f"{type(error).__name__}: {error}"}
