"""chat-server entry point: arguments -> ServerConfig -> migrate -> serve; signals -> stop()."""

from __future__ import annotations

import argparse
import gc
import logging
import resource
import signal
import sys
import threading
from types import FrameType

from service.config import DEFAULT_DB_URL, DEFAULT_PORT, ServerConfig
from service.db import MigrationRefused, describe_url
from service.server import ChatServer

log = logging.getLogger("parley")

WANTED_DESCRIPTORS = 20_000  # one per connection: 10,000 idle users and room to spare


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chat-server",
        description="Parley chat server (chat/1). Example: chat-server 5000 60 300",
    )
    parser.add_argument(
        "port_pos",
        nargs="?",
        type=int,
        metavar="PORT",
        help=f"TCP port to listen on (default {DEFAULT_PORT}; 0 picks a free one)",
    )
    parser.add_argument(
        "block_pos",
        nargs="?",
        type=float,
        metavar="BLOCK_DURATION",
        help="seconds an account stays locked after too many wrong passwords",
    )
    parser.add_argument(
        "timeout_pos",
        nargs="?",
        type=float,
        metavar="TIMEOUT",
        help="seconds of inactivity before a session is logged out",
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1; 0.0.0.0 for all)",
    )
    parser.add_argument("--port", type=int, help="same as PORT")
    parser.add_argument("--block-duration", type=float, help="same as BLOCK_DURATION (default 60)")
    parser.add_argument("--timeout", type=float, help="same as TIMEOUT (default 300)")
    parser.add_argument(
        "--db",
        default=DEFAULT_DB_URL,
        help=f"SQLAlchemy database URL (default {DEFAULT_DB_URL}, a file in the working directory)",
    )
    parser.add_argument(
        "--max-attempts",
        type=int,
        default=3,
        help="consecutive wrong passwords that lock an account (default 3)",
    )
    parser.add_argument(
        "--allow-signup",
        dest="allow_signup",
        action="store_true",
        default=False,
        help="let unknown users create an account with `register`",
    )
    parser.add_argument(
        "--no-signup",
        dest="allow_signup",
        action="store_false",
        help="only accounts made with chat-admin can log in (the default)",
    )
    parser.add_argument(
        "--sqlite-synchronous",
        choices=["full", "normal"],
        default="full",
        help="SQLite only: full (the default) fsyncs every commit, so an ok survives a power "
        "loss; normal survives a crash of the server but may lose the last commits on power "
        "loss",
    )
    parser.add_argument(
        "--log-level",
        default="INFO",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="default INFO",
    )
    return parser  # fmt: skip


def _pick(parser: argparse.ArgumentParser, name: str, positional: float | None,
          option: float | None, default: float) -> float:  # fmt: skip
    if positional is not None and option is not None and positional != option:
        parser.error(f"{name} given twice with different values ({positional} and {option})")
    if option is not None:
        return option
    return positional if positional is not None else default


def config_from_args(argv: list[str] | None = None) -> tuple[ServerConfig, str]:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        config = ServerConfig(
            host=args.host,
            port=int(_pick(parser, "port", args.port_pos, args.port, DEFAULT_PORT)),
            block_duration_s=_pick(
                parser, "block duration", args.block_pos, args.block_duration, 60.0
            ),
            timeout_s=_pick(parser, "timeout", args.timeout_pos, args.timeout, 300.0),
            db_url=args.db,
            max_attempts=args.max_attempts,
            allow_signup=args.allow_signup,
            sqlite_synchronous=args.sqlite_synchronous,
        )
    except ValueError as error:
        parser.error(str(error))
    return config, args.log_level


def raise_descriptor_limit(wanted: int) -> int:
    """Raise the soft limit on open files toward `wanted`, as far as the hard limit allows;
    returns the limit in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return wanted
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):
            return soft
        return target
    return soft


def main(argv: list[str] | None = None) -> int:
    config, log_level = config_from_args(argv)
    logging.basicConfig(
        level=log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    descriptors = raise_descriptor_limit(WANTED_DESCRIPTORS)
    if descriptors < WANTED_DESCRIPTORS:
        log.warning("open files are limited to %d (ulimit -n), so at most about %d connections; "
                    "raise the hard limit for more", descriptors, descriptors - 64)  # fmt: skip
    server = ChatServer(config)
    try:
        server.start()
    except OSError as error:
        log.error("cannot listen on %s:%s: %s", config.host, config.port, error.strerror)
        return 1
    except MigrationRefused as refusal:  # e.g. two names equal ignoring case (schema 0003)
        log.error("cannot upgrade the database %s: %s", describe_url(config.db_url), refusal)
        return 1
    # Everything alive now (SQLAlchemy, Alembic, the models) lives as long as the process: keep
    # it out of every garbage collection, so a collection costs what the requests left behind.
    gc.collect()
    gc.freeze()
    host, port = server.address
    # Printed whatever the log level: operators and scripts learn the port (0 picks one) here.
    signup = "open" if config.allow_signup else "closed"
    print(f"chat-server: listening on {host}:{port} (database {describe_url(config.db_url)}, "
          f"sign-up {signup})", file=sys.stderr, flush=True)  # fmt: skip

    stop_requested = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stop_requested.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    while not stop_requested.wait(0.5):
        pass
    log.info("shutting down")
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
