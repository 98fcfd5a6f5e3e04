"""chat-server entry point: arguments -> ServerConfig -> migrate -> serve; signals -> stop()."""

from __future__ import annotations

import argparse
import gc
import logging
import os
import resource
import signal
import sys
import threading
from dataclasses import dataclass, replace
from types import FrameType
from typing import Any

from service.config import DB_ENVVAR, MAX_TOKEN_DAYS, ServerConfig, StartupError
from service.server import DESCRIPTOR_RESERVE, ChatServer
from service.store.db import describe_url

log = logging.getLogger("parley")

WANTED_DESCRIPTORS = 20_000  # one per connection: 10,000 idle users and room to spare
# Below this the server would serve a handful of connections and look broken: it does not
# start. The descriptors it keeps for itself (service/server.py), and room for 50 users.
MIN_DESCRIPTORS = DESCRIPTOR_RESERVE + 50


_DEFAULTS = ServerConfig()


@dataclass(frozen=True, slots=True)
class Option:
    """One option of chat-server. Adding an option is adding one of these to OPTIONS: its
    type and default come from the ServerConfig field it sets, and "{default}" in `help` shows
    that default."""

    flag: str  # "--max-connections"
    help: str
    field: str | None  # the ServerConfig field ("argon2.time_cost": a part of one); None: not one
    metavar: str | None = None
    group: str | None = None  # a heading of GROUPS; None: among the general options
    choices: tuple[str, ...] | None = None
    action: str | None = None  # "store_true"/"store_false": a switch, no value; "append":
    # repeatable, the values in a tuple
    value_type: type | None = None  # when the field's default (None) does not say it
    default: Any = None  # of an option that sets no field (--log-level); the others: the field's
    # The assignment-style positional of the same meaning ("PORT"), and its help: either may
    # be given, both only with one value.
    positional: str | None = None
    positional_help: str = ""

    @property
    def dest(self) -> str:
        """Where argparse puts the value: the field, or the flag's name (`--log-level`)."""
        name = self.field or self.flag.removeprefix("--")
        return name.replace(".", "_").replace("-", "_")

    def config_default(self) -> Any:
        if self.field is None:
            return self.default
        value: Any = _DEFAULTS
        for part in self.field.split("."):
            value = getattr(value, part)
        return value


def _shown(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


GROUPS = {  # heading -> what it says, in the order of the help
    "TLS": "Serve chat/1 inside TLS (1.2 or newer); clients then need chat-client --tls.",
    "web port": "Serve the web client and chat/1 over WebSocket (path /chat) on a port of "
    "its own; with TLS it is HTTPS and WSS, with the same certificate.",
    "abuse limits": "Per address means per IPv4 address or IPv6 /64 network. Refusals are "
    "answered rate_limited (with retry_after) and logged at most once per interval per "
    "address.",
    "password hashing": "argon2id's cost per login. Below OWASP's minimum (19456 KiB with 2 "
    "passes, or 46 MiB with 1, 12 MiB with 3, 9 MiB with 4, 7 MiB with 5) the server does not "
    "start. Stored hashes are made anew with these at their owner's next login.",
}

LIMITS, HASHING, WEB = "abuse limits", "password hashing", "web port"
OPTIONS = (
    Option("--host", "address to listen on (default {default}; 0.0.0.0 for all)", "host"),
    Option("--port", "same as PORT", "port", positional="PORT",
           positional_help="TCP port to listen on (default {default}; 0 picks a free one)"),
    Option("--block-duration", "same as BLOCK_DURATION (default {default})", "block_duration_s",
           positional="BLOCK_DURATION",
           positional_help="seconds an account stays locked after too many wrong passwords"),
    Option("--timeout", "same as TIMEOUT (default {default})", "timeout_s", positional="TIMEOUT",
           positional_help="seconds of inactivity before a session is logged out"),
    Option("--db", "SQLAlchemy database URL (default: $PARLEY_DB when set, as chat-admin "
           "reads it, else {default}, a file in the working directory)", "db_url"),
    Option("--max-attempts", "consecutive wrong passwords that lock an account (default "
           "{default})", "max_attempts"),
    Option("--max-sessions-per-user", "sessions one user may have at once, 1 to 100 (default "
           "{default}: one login per user); at the most, a login with replace ends the "
           "oldest", "max_sessions_per_user", "N"),
    Option("--token-days", "how long a remembered login (`remember`, chat/1 tokens) lasts "
           f"unused, in days, a decimal number up to {MAX_TOKEN_DAYS} (default {{default}}); "
           "each use renews it", "token_days", "DAYS"),
    Option("--allow-signup", "let unknown users create an account with `register`",
           "allow_signup", action="store_true"),
    Option("--no-signup", "only accounts made with chat-admin can log in (the default)",
           "allow_signup", action="store_false"),
    Option("--sqlite-synchronous", "SQLite only: full (the default) fsyncs every commit, so an "
           "ok survives a power loss; normal survives a crash of the server but may lose the "
           "last commits on power loss", "sqlite_synchronous", choices=("full", "normal")),
    Option("--log-level", "default {default}", None, default="INFO",
           choices=("DEBUG", "INFO", "WARNING", "ERROR")),
    Option("--tls-cert", "certificate chain, PEM (e.g. Let's Encrypt's fullchain.pem)",
           "tls_cert", "FILE", "TLS"),
    Option("--tls-key", "the certificate's private key, PEM (e.g. privkey.pem)", "tls_key",
           "FILE", "TLS"),
    Option("--web-port", "serve the web client on this port (0 picks a free one; default: "
           "off)", "web_port", "PORT", WEB, value_type=int),
    Option("--web-host", "address the web port listens on (default: the same as --host)",
           "web_host", "HOST", WEB),
    Option("--web-origin", "another page that may open a WebSocket, as scheme://host[:port] "
           "(repeatable; the page the web port serves may always)", "web_origins", "ORIGIN",
           WEB, action="append"),
    Option("--max-connections", "connections open at once, in total (default {default}; fewer "
           "if the descriptor limit leaves less room); past it the server stops accepting for "
           "a moment", "max_connections", "N", LIMITS),
    Option("--max-connections-per-address", "connections open at once from one address "
           "(default {default}); more are closed at once", "max_connections_per_address", "N",
           LIMITS),
    Option("--login-timeout", "a connection that has not logged in by then is closed (default "
           "{default})", "login_timeout_s", "SECONDS", LIMITS),
    Option("--login-failures-per-minute", "failed logins, and registrations, allowed per "
           "address and minute (default {default}), on top of a burst...",
           "login_failures_per_minute", "N", LIMITS),
    Option("--login-failure-burst", "...of this many (default {default}); past both, logins "
           "from there are refused before any password is hashed", "login_failure_burst", "N",
           LIMITS),
    Option("--login-queue", "logins and registrations waiting to be checked, in total "
           "(default {default}); more are refused rate_limited", "login_queue", "N", LIMITS),
    Option("--login-queue-per-address", "of those, from one address (default {default}): a "
           "class behind one NAT logs in in turn", "login_queue_per_address", "N", LIMITS),
    Option("--max-refused-logins", "refused logins one connection may make before it is closed "
           "with bye protocol_error (default {default})", "max_refused_logins", "N", LIMITS),
    Option("--request-rate", "requests per second one connection may make, `message` and "
           "`ack` aside (default {default}; 0 for no limit), on top of...", "request_rate", "N",
           LIMITS),
    Option("--request-burst", "...a burst of this many (default {default})", "request_burst",
           "N", LIMITS),
    Option("--room-creations-per-hour", "new rooms one user may create an hour (default "
           "{default}; 0 for no limit); past it, a join that would create one is answered "
           "rate_limited, while joining a room that exists never is",
           "room_creations_per_hour", "N", LIMITS),
    Option("--refusal-log-interval", "at most one log line per address and kind of refusal in "
           "this time (default {default})", "refusal_log_interval_s", "SECONDS", LIMITS),
    Option("--argon2-memory-kib", "memory per hash (default {default})", "argon2.memory_kib",
           "KIB", HASHING),
    Option("--argon2-time-cost", "passes over that memory (default {default})",
           "argon2.time_cost", "N", HASHING),
    Option("--argon2-parallelism", "lanes (default {default})", "argon2.parallelism", "N",
           HASHING),
    Option("--keep-stored-hashes", "keep every stored hash as it is, whatever its cost "
           "(benchmarks with cheap accounts; going back to an older server)", "rehash",
           group=HASHING, action="store_false"),
)  # fmt: skip


def _add_option(parser: argparse._ActionsContainer, option: Option) -> None:
    default = option.config_default()
    shown = option.help.format(default=_shown(default))
    if option.action == "append":
        parser.add_argument(option.flag, dest=option.dest, action="append", default=None,
                            metavar=option.metavar, help=shown)  # fmt: skip
        return
    if option.action is not None:
        parser.add_argument(option.flag, dest=option.dest, action=option.action,
                            default=default, help=shown)  # fmt: skip
        return
    # argparse's own metavar, as if `dest` were the flag's name: `--db DB`, `--timeout TIMEOUT`
    metavar = option.metavar
    if metavar is None and option.choices is None:
        metavar = option.flag.removeprefix("--").replace("-", "_").upper()
    value_type = option.value_type or (str if default is None else type(default))
    parser.add_argument(
        option.flag, dest=option.dest, type=value_type,
        metavar=metavar, choices=option.choices, help=shown,
        default=None if option.positional else default,  # None: _pick tells "not given"
    )  # fmt: skip


def _add_positional(parser: argparse.ArgumentParser, option: Option) -> None:
    default = option.config_default()
    help_text = option.positional_help.format(default=_shown(default))
    parser.add_argument(f"{option.dest}_positional", nargs="?", type=type(default),
                        metavar=option.positional, help=help_text)  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chat-server",
        description="Parley chat server (chat/1). Example: chat-server 5000 60 300",
    )
    groups = {name: parser.add_argument_group(name, text) for name, text in GROUPS.items()}
    for option in OPTIONS:
        if option.positional:
            _add_positional(parser, option)
        _add_option(groups[option.group] if option.group else parser, option)
    return parser


def _pick(parser: argparse.ArgumentParser, option: Option, args: argparse.Namespace) -> Any:
    """The value of an option with a positional twin: either, or both when they agree."""
    positional = getattr(args, f"{option.dest}_positional")
    given = getattr(args, option.dest)
    if positional is not None and given is not None and positional != given:
        name = option.flag.removeprefix("--").replace("-", " ")
        parser.error(f"{name} given twice with different values ({positional} and {given})")
    if given is not None:
        return given
    return positional if positional is not None else option.config_default()


def config_from_args(argv: list[str] | None = None) -> tuple[ServerConfig, str]:
    parser = build_parser()
    if environment_db := os.environ.get(DB_ENVVAR):  # the one chat-admin reads too
        parser.set_defaults(db_url=environment_db)
    args = parser.parse_args(argv)
    fields: dict[str, Any] = {}
    parts: dict[str, dict[str, Any]] = {}  # "argon2" -> {"time_cost": 3, ...}
    for option in OPTIONS:
        if option.field is None:
            continue
        value = _pick(parser, option, args) if option.positional else getattr(args, option.dest)
        if option.action == "append":
            value = tuple(value or ())
        whole, _, part = option.field.partition(".")
        if part:
            parts.setdefault(whole, {})[part] = value
        else:
            fields[whole] = value
    try:
        for whole, values in parts.items():
            fields[whole] = replace(getattr(_DEFAULTS, whole), **values)
        config = ServerConfig(**fields)
    except ValueError as error:
        parser.error(str(error))
    return config, args.log_level


def page_url(host: str, port: int, tls: bool) -> str:
    """The web client's address to open, for a port listening on `host` (on every address:
    this machine's name for itself will do)."""
    if host in ("0.0.0.0", "::", ""):
        host = "localhost"
    elif ":" in host:
        host = f"[{host}]"
    return f"{'https' if tls else 'http'}://{host}:{port}/"


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
    # Before the lines below: whoever learns the port from them may signal at once.
    stop_requested = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stop_requested.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    host, port = server.address
    # Printed whatever the log level: operators and scripts learn the port (0 picks one) here.
    signup = "open" if config.allow_signup else "closed"
    tls = "TLS" if config.tls_cert else "no TLS"
    print(f"chat-server: listening on {host}:{port} ({tls}, database "
          f"{describe_url(config.db_url)}, sign-up {signup})",
          file=sys.stderr, flush=True)  # fmt: skip
    if server.web_address is not None:
        web_host, web_port = server.web_address
        print(f"chat-server: web port listening on {web_host}:{web_port}; open "
              f"{page_url(web_host, web_port, config.tls_cert is not None)} in a browser",
              file=sys.stderr, flush=True)  # fmt: skip

    while not stop_requested.wait(0.5):
        pass
    log.info("shutting down")
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
