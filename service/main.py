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

from service.config import DEFAULT_DB_URL, DEFAULT_PORT, ServerConfig, StartupError
from service.credentials.hash_cost import HashCost
from service.server import DESCRIPTOR_RESERVE, ChatServer
from service.store.db import describe_url

log = logging.getLogger("parley")

WANTED_DESCRIPTORS = 20_000  # one per connection: 10,000 idle users and room to spare
# Below this the server would serve a handful of connections and look broken: it does not
# start. The descriptors it keeps for itself (service/server.py), and room for 50 users.
MIN_DESCRIPTORS = DESCRIPTOR_RESERVE + 50


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
    _add_tls_options(parser)
    _add_limit_options(parser)
    _add_hashing_options(parser)
    return parser  # fmt: skip


def _add_tls_options(parser: argparse.ArgumentParser) -> None:
    tls = parser.add_argument_group(
        "TLS", "Serve chat/1 inside TLS (1.2 or newer); clients then need chat-client --tls."
    )
    tls.add_argument(
        "--tls-cert",
        metavar="FILE",
        help="certificate chain, PEM (e.g. Let's Encrypt's fullchain.pem)",
    )
    tls.add_argument("--tls-key", metavar="FILE",
                     help="the certificate's private key, PEM (e.g. privkey.pem)")  # fmt: skip


_DEFAULTS = ServerConfig()


def _add_limit_options(parser: argparse.ArgumentParser) -> None:
    d = _DEFAULTS
    limits = parser.add_argument_group(
        "abuse limits",
        "Per address means per IPv4 address or IPv6 /64 network. Refusals are answered "
        "rate_limited (with retry_after) and logged at most once per interval per address.",
    )
    limits.add_argument(
        "--max-connections",
        type=int,
        default=d.max_connections,
        metavar="N",
        help=f"connections open at once, in total (default {d.max_connections}; "
        "fewer if the descriptor limit leaves less room); past it the server "
        "stops accepting for a moment",
    )
    limits.add_argument(
        "--max-connections-per-address",
        type=int,
        metavar="N",
        default=d.max_connections_per_address,
        help="connections open at once from one address (default "
        f"{d.max_connections_per_address}); more are closed at once",
    )
    limits.add_argument(
        "--login-timeout",
        type=float,
        default=d.login_timeout_s,
        metavar="SECONDS",
        help="a connection that has not logged in by then "
        f"is closed (default {d.login_timeout_s:g})",
    )
    limits.add_argument(
        "--login-failures-per-minute",
        type=float,
        metavar="N",
        default=d.login_failures_per_minute,
        help="failed logins, and registrations, allowed per address and minute "
        f"(default {d.login_failures_per_minute:g}), on top of a burst...",
    )
    limits.add_argument(
        "--login-failure-burst",
        type=int,
        default=d.login_failure_burst,
        metavar="N",
        help=f"...of this many (default {d.login_failure_burst}); "
        "past both, logins from there are refused before any password is hashed",
    )
    limits.add_argument(
        "--login-queue",
        type=int,
        default=d.login_queue,
        metavar="N",
        help="logins and registrations waiting to be checked, in total "
        f"(default {d.login_queue}); more are refused rate_limited",
    )
    limits.add_argument(
        "--login-queue-per-address",
        type=int,
        default=d.login_queue_per_address,
        metavar="N",
        help="of those, from one address (default "
        f"{d.login_queue_per_address}): a class behind one NAT logs in in turn",
    )
    limits.add_argument(
        "--max-refused-logins",
        type=int,
        default=d.max_refused_logins,
        metavar="N",
        help="refused logins one connection may make before it is closed with bye "
        f"protocol_error (default {d.max_refused_logins})",
    )
    limits.add_argument(
        "--request-rate",
        type=float,
        default=d.request_rate,
        metavar="N",
        help="requests per second one connection may make, `message` and `ack` "
        f"aside (default {d.request_rate:g}; 0 for no limit), on top of...",
    )
    limits.add_argument(
        "--request-burst",
        type=int,
        default=d.request_burst,
        metavar="N",
        help=f"...a burst of this many (default {d.request_burst})",
    )
    limits.add_argument(
        "--room-creations-per-hour",
        type=int,
        default=d.room_creations_per_hour,
        metavar="N",
        help=f"new rooms one user may create an hour (default {d.room_creations_per_hour}; "
        "0 for no limit); past it, a join that would create one is answered rate_limited, "
        "while joining a room that exists never is",
    )
    limits.add_argument("--refusal-log-interval", type=float, metavar="SECONDS",
                        default=d.refusal_log_interval_s,
                        help="at most one log line per address and kind of refusal in this "
                        f"time (default {d.refusal_log_interval_s:g})")  # fmt: skip


def _add_hashing_options(parser: argparse.ArgumentParser) -> None:
    cost = _DEFAULTS.argon2
    hashing = parser.add_argument_group(
        "password hashing",
        "argon2id's cost per login. Below OWASP's minimum (19456 KiB with 2 passes, or 46 MiB "
        "with 1, 12 MiB with 3, 9 MiB with 4, 7 MiB with 5) the server does not start. "
        "Stored hashes are made anew with these at their owner's next login.",
    )
    hashing.add_argument("--argon2-memory-kib", type=int, default=cost.memory_kib, metavar="KIB",
                         help=f"memory per hash (default {cost.memory_kib})")  # fmt: skip
    hashing.add_argument("--argon2-time-cost", type=int, default=cost.time_cost, metavar="N",
                         help=f"passes over that memory (default {cost.time_cost})")  # fmt: skip
    hashing.add_argument("--argon2-parallelism", type=int, default=cost.parallelism,
                         metavar="N", help=f"lanes (default {cost.parallelism})")  # fmt: skip
    hashing.add_argument("--keep-stored-hashes", dest="rehash", action="store_false",
                         help="keep every stored hash as it is, whatever its cost (benchmarks "
                         "with cheap accounts; going back to an older server)")  # fmt: skip


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
            tls_cert=args.tls_cert,
            tls_key=args.tls_key,
            max_connections=args.max_connections,
            max_connections_per_address=args.max_connections_per_address,
            login_timeout_s=args.login_timeout,
            login_failures_per_minute=args.login_failures_per_minute,
            login_failure_burst=args.login_failure_burst,
            login_queue=args.login_queue,
            login_queue_per_address=args.login_queue_per_address,
            max_refused_logins=args.max_refused_logins,
            request_rate=args.request_rate,
            request_burst=args.request_burst,
            refusal_log_interval_s=args.refusal_log_interval,
            rehash=args.rehash,
            argon2=HashCost(args.argon2_memory_kib, args.argon2_time_cost, args.argon2_parallelism),
            room_creations_per_hour=args.room_creations_per_hour,
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
    if descriptors < MIN_DESCRIPTORS:
        print(f"Error: open files are limited to {descriptors} (ulimit -n), and the server "
              f"needs at least {MIN_DESCRIPTORS}; raise the limit",
              file=sys.stderr, flush=True)  # fmt: skip
        return 1
    server = ChatServer(config)
    try:
        server.start()
    except StartupError as error:
        print(f"Error: {error}", file=sys.stderr, flush=True)
        return 1
    if server.max_connections < config.max_connections:
        log.warning("open files are limited to %d (ulimit -n), so at most %d connections; "
                    "raise the hard limit for more", descriptors,
                    server.max_connections)  # fmt: skip
    # Everything alive now (SQLAlchemy, Alembic, the models) lives as long as the process: keep
    # it out of every garbage collection, so a collection costs what the requests left behind.
    gc.collect()
    gc.freeze()
    host, port = server.address
    # Printed whatever the log level: operators and scripts learn the port (0 picks one) here.
    signup = "open" if config.allow_signup else "closed"
    tls = "TLS" if config.tls_cert else "no TLS"
    print(f"chat-server: listening on {host}:{port} ({tls}, database "
          f"{describe_url(config.db_url)}, sign-up {signup})",
          file=sys.stderr, flush=True)  # fmt: skip

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
