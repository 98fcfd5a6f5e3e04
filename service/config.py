"""ServerConfig: every knob of chat-server, validated once at start.

The rest of the server trusts a ServerConfig: no module re-checks its values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

from service.credentials.hash_cost import DEFAULT_COST, HashCost
from service.wire.names import MAX_TEXT_CHARS, MIN_PASSWORD_CHARS
from service.wire.origins import parse_origin

DEFAULT_PORT = 5000
DEFAULT_DB_URL = "sqlite:///parley.db"  # a file in the working directory
DB_ENVVAR = "PARLEY_DB"  # the database when --db is not given, for chat-server and chat-admin
SERVER_NAME = "parley"
SERVER_VERSION = "0.1.0"
MAX_SESSIONS_PER_USER = 100  # --max-sessions-per-user's ceiling: a phone, a laptop, a few tabs
MAX_TOKEN_DAYS = 366  # --token-days' ceiling: a token unused for a year should not log in


@dataclass(frozen=True, slots=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT  # 0 picks a free port (tests)
    block_duration_s: float = 60.0  # how long a lockout lasts
    timeout_s: float = 300.0  # idle time before a session ends with `bye timeout`
    db_url: str = DEFAULT_DB_URL
    max_attempts: int = 3  # consecutive wrong passwords before a lockout
    # Sessions one user may have at once (chat/1 "Several sessions"); 1 is chat/1's one-login
    # rule: a second login is refused online_elsewhere unless it asks to `replace` the first.
    max_sessions_per_user: int = 1
    allow_signup: bool = False  # whether `register` is open
    # How long a remembered login's token lives (chat/1 "Staying signed in"), renewed by each
    # use: days, a decimal number (tests use a second's worth).
    token_days: float = 30.0
    max_text_chars: int = MAX_TEXT_CHARS  # chat/1 default limit, in code points
    min_password_chars: int = MIN_PASSWORD_CHARS  # `register` refuses shorter with weak_password
    private_request_ttl_s: float = 60.0  # an unanswered startprivate is declined after this
    outbox_limit_bytes: int = 1 << 20  # unsent bytes per connection before slow_consumer
    max_bad_frames: int = 20  # chat/1: the 21st bad frame closes the connection
    shutdown_grace_s: float = 2.0  # how long stop() waits for goodbyes to drain
    sqlite_synchronous: str = "full"  # "normal": an ok survives a crash, not a power loss
    # Abuse limits (docs/OPERATING.md, "Security"). Per address means per IPv4 address or IPv6 /64.
    max_connections: int = 15_000  # open at once, in total (also held under the descriptors)
    max_connections_per_address: int = 256  # open at once from one address
    login_timeout_s: float = 30.0  # a connection that has not logged in by then is closed
    login_failures_per_minute: float = 10.0  # failed logins (and registrations) refilled...
    login_failure_burst: int = 60  # ...into a bucket of this many per address
    login_queue: int = 1024  # logins and registrations waiting to be hashed, in total...
    login_queue_per_address: int = 256  # ...and from one address (a class behind one NAT)
    max_refused_logins: int = 10  # on one connection before login: then `bye protocol_error`
    request_rate: float = 50.0  # requests per second per connection (0: no limit); message
    request_burst: int = 200  # and ack are paced by their own window instead
    refusal_log_interval_s: float = 60.0  # at most one log line per address per kind of refusal
    room_creations_per_hour: int = 10  # new rooms one user may make an hour (0: no limit);
    # joining a room that exists is never limited
    tls_cert: str | None = None  # PEM certificate chain: serve chat/1 inside TLS
    tls_key: str | None = None  # its private key (PEM)
    # The web port: the web client's files and chat/1 over WebSocket (off unless a port is
    # given; 0 picks a free one), on web_host (None: the same as `host`), HTTPS/WSS with TLS.
    web_port: int | None = None
    web_host: str | None = None
    web_origins: tuple[str, ...] = ()  # pages elsewhere that may open a WebSocket too
    argon2: HashCost = DEFAULT_COST  # hashing's cost (service/credentials/hash_cost.py)
    rehash: bool = True  # a stored hash of another cost is made anew at its next login
    allow_weak_hashing: bool = False  # tests only, no option: argon2 below OWASP's floor

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65_535:
            raise ValueError(f"port must be between 0 and 65535, not {self.port}")
        if self.block_duration_s <= 0:
            raise ValueError("block duration must be a positive number of seconds")
        if self.timeout_s <= 0:
            raise ValueError("timeout must be a positive number of seconds")
        if self.max_attempts < 1:
            raise ValueError("max attempts must be at least 1")
        if not 1 <= self.max_sessions_per_user <= MAX_SESSIONS_PER_USER:
            raise ValueError(
                f"max sessions per user must be between 1 and {MAX_SESSIONS_PER_USER}, "
                f"not {self.max_sessions_per_user}"
            )
        if not (math.isfinite(self.token_days) and 0 < self.token_days <= MAX_TOKEN_DAYS):
            raise ValueError(
                f"token days must be a positive number of days up to {MAX_TOKEN_DAYS}, "
                f"not {self.token_days:g}"
            )
        if not 1 <= self.max_text_chars <= MAX_TEXT_CHARS:
            raise ValueError("the text limit may only lower chat/1's 4000 characters")
        if self.sqlite_synchronous not in ("full", "normal"):
            raise ValueError("sqlite synchronous must be full or normal")
        if self.outbox_limit_bytes < 65_536 * 2:
            raise ValueError("the outbox must hold at least two whole frames")
        self._check_limits()
        problem = self.argon2.problem()
        if problem is not None and not self.allow_weak_hashing:
            raise ValueError(problem)
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("TLS needs both a certificate and its key")
        self._check_web()

    def _check_web(self) -> None:
        if self.web_port is not None and not 0 <= self.web_port <= 65_535:
            raise ValueError(f"web port must be between 0 and 65535, not {self.web_port}")
        for origin in self.web_origins:
            if parse_origin(origin.removesuffix("/")) is None:
                raise ValueError(f"web origin {origin!r} is not scheme://host[:port] with "
                                 "http or https (e.g. https://chat.example.org)")  # fmt: skip

    def _check_limits(self) -> None:
        at_least_one = {
            "max connections": self.max_connections,
            "max connections per address": self.max_connections_per_address,
            "login failure burst": self.login_failure_burst,
            "login queue": self.login_queue,
            "login queue per address": self.login_queue_per_address,
            "max refused logins": self.max_refused_logins,
        }
        for name, value in at_least_one.items():
            if value < 1:
                raise ValueError(f"{name} must be at least 1")
        if self.login_timeout_s <= 0 or self.refusal_log_interval_s <= 0:
            raise ValueError("the login timeout and the log interval must be positive seconds")
        if self.login_failures_per_minute <= 0:
            raise ValueError("login failures per minute must be positive")
        if self.room_creations_per_hour < 0:
            raise ValueError("room creations per hour must be 0 (no limit) or more")
        if self.request_rate < 0 or self.request_burst < 1:
            raise ValueError("the request rate must be 0 (no limit) or more, its burst 1 or more")

    @property
    def idle_timeout_whole_s(self) -> int:
        """The timeout as the login reply states it (`idle_timeout`): whole seconds, rounded
        down so that a client warning its user ahead of it is never late, and at least 1."""
        return max(1, math.floor(self.timeout_s))

    @property
    def token_lifetime(self) -> timedelta:
        return timedelta(days=self.token_days)

    @property
    def web_listen_host(self) -> str:
        return self.host if self.web_host is None else self.web_host

    @property
    def server_banner(self) -> str:
        return f"{SERVER_NAME} {SERVER_VERSION}"


class StartupError(Exception):
    """The server cannot start; the text says why, as one sentence for the operator."""
