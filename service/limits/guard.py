"""The server's abuse limits as the reactor applies them, and their log lines.

- connections: at most `max_connections` open in total (held under the descriptor limit by
  the server) and `max_connections_per_address` from one address;
- logins: failed logins and registrations per address, a token bucket checked *before* a
  password is hashed: when the login is queued, and again when its turn comes (logins of one
  address are judged one at a time, service/limits/fair_queue.py), so a hundred guesses sent at once
  get no further than one at a time would. Waiting costs nothing and a login that succeeds
  costs nothing: a class behind one NAT logging in at once queues and gets in, in turn
  (--login-queue-per-address). A failure costs a token, and so does every `register` (it
  hashes a password and makes an account). An address that failed lately is a suspect: its
  logins hash apart (service/limits/auth_pool.py). Why a class's typos leave its correct logins
  alone while a guesser is still stopped: docs/OPERATING.md, "Security";
- requests: a token bucket per connection for the requests that are not pipelined (`message`
  and `ack` are paced by their own window, see service/core/engine.py).

A refusal is a RequestError(`rate_limited`) with `retry_after`, and at most one log line per
`refusal_log_interval_s` per address and kind of refusal, however many there are: an attack
must not become a log flood. Addresses are counted by `service.wire.addresses.source_key`.

The reactor calls everything here; the auth threads also call the login methods
(`start_login`, `login_finished`), so the login buckets and the log are under one lock.
Pure apart from logging; `now` is monotonic seconds.
"""

from __future__ import annotations

import logging
import threading
from enum import Enum

from service.config import ServerConfig
from service.limits.throttle import BucketTable, LogLimiter, TokenBucket, whole_seconds
from service.wire.errors import ErrorCode, RequestError

log = logging.getLogger("parley.limits")

MAX_ADDRESSES = 10_000  # login buckets and log entries kept, the least recently used go first


class Kind(Enum):
    """What was refused; the log says each at most once per interval per address."""

    CONNECTION = "connection"  # over the per-address connection cap: closed at once
    LOGIN = "login"  # too many failed logins from the address
    LOGIN_QUEUE = "login_queue"  # too many logins waiting to be hashed
    REQUESTS = "requests"  # a connection's requests over its rate
    LOGIN_TIMEOUT = "login_timeout"  # connected, but did not log in within the deadline
    HANDSHAKE = "handshake"  # the TLS handshake failed
    WEB = "web"  # a web request refused: a foreign Origin, a head too large or malformed
    WEBSOCKET = "websocket"  # a WebSocket closed for what its client sent (binary, too large)


class Guard:
    def __init__(self, config: ServerConfig, max_connections: int) -> None:
        self.max_connections = max(1, min(config.max_connections, max_connections))
        self.open_connections = 0
        self._per_address = config.max_connections_per_address
        self._open: dict[str, int] = {}  # source key -> connections open from there
        self._lock = threading.Lock()  # for _logins and _log: the auth threads use them too
        self._logins = BucketTable(
            config.login_failures_per_minute / 60, config.login_failure_burst, MAX_ADDRESSES
        )
        self._request_rate = config.request_rate
        self._request_burst = config.request_burst
        self._log = LogLimiter(config.refusal_log_interval_s, MAX_ADDRESSES)

    # --- connections -------------------------------------------------------------------------

    def accept_refusal(self) -> str | None:
        """Why no connection may be accepted now, or None if one may."""
        if self.open_connections < self.max_connections:
            return None
        return (f"{self.open_connections} connections are open, the most allowed "
                "(--max-connections, or what the descriptor limit leaves)")  # fmt: skip

    def connection_opened(self, source: str, now: float) -> bool:
        """Count a new connection from `source`; False (not counted) if it must be closed."""
        count = self._open.get(source, 0)
        if count >= self._per_address:
            self.note(Kind.CONNECTION, source, now, f"refused a connection from {source}: "
                      f"{count} are open from there (--max-connections-per-address)")  # fmt: skip
            return False
        self._open[source] = count + 1
        self.open_connections += 1
        return True

    def connection_closed(self, source: str) -> None:
        count = self._open.get(source, 0) - 1
        assert count >= 0, f"closed more connections from {source} than were opened"
        if count:
            self._open[source] = count
        else:
            del self._open[source]
        self.open_connections -= 1

    # --- logins and registrations ------------------------------------------------------------

    def admit_login(self, source: str, now: float) -> RequestError | None:
        """On the reactor, before a login or register is queued: `rate_limited` if `source`
        has no failure left to spend, else None. Waiting holds nothing: `start_login` checks
        again when its turn comes."""
        return self.start_login(source, now)

    def start_login(self, source: str, now: float) -> RequestError | None:
        """On an auth thread, just before a password is hashed: the same check, now that the
        logins of `source` before this one are judged and counted."""
        with self._lock:
            bucket = self._logins.get(source, now)
            if bucket.has_token(now):
                return None
            seconds = whole_seconds(bucket.seconds_until_token(now))
        self.note(Kind.LOGIN, source, now, f"refused logins from {source}: too many failed "
                  "logins and registrations (--login-failure-burst)")  # fmt: skip
        return RequestError(
            ErrorCode.RATE_LIMITED,
            f"Too many failed logins from your address. Try again in {seconds} s.",
            retry_after=seconds,
        )

    def is_suspect(self, source: str, now: float) -> bool:
        """Whether `source` failed lately; its logins then hash in the suspects' lane
        (service/limits/auth_pool.py)."""
        with self._lock:
            return not self._logins.get(source, now).is_full(now)

    def login_not_queued(self, source: str, now: float) -> RequestError:
        """An admitted login found the queue full; the refusal to send."""
        self.note(Kind.LOGIN_QUEUE, source, now, f"refused logins from {source}: too many "
                  "waiting to be checked (--login-queue, --login-queue-per-address)")  # fmt: skip
        return RequestError(
            ErrorCode.RATE_LIMITED,
            "The server has too many logins waiting. Try again in 1 s.",
            retry_after=1,
        )

    def login_finished(self, source: str, op: str, logged_in: bool, now: float) -> None:
        """After a started `login` or `register` (on its auth thread, before the next login
        of `source` may start): spend a token unless it was a login that succeeded."""
        if not (op == "login" and logged_in):
            with self._lock:
                self._logins.get(source, now).charge(now)

    def forget_idle(self, now: float) -> None:
        """Drop what refilled completely (it holds nothing); keeps the tables small."""
        with self._lock:
            self._logins.forget_full(now)

    # --- requests ----------------------------------------------------------------------------

    def request_bucket(self, now: float) -> TokenBucket | None:
        """A new connection's request bucket; None when requests are not limited."""
        if not self._request_rate:
            return None
        return TokenBucket(self._request_rate, self._request_burst, now)

    def request_refusal(self, bucket: TokenBucket, source: str, now: float) -> RequestError:
        seconds = whole_seconds(bucket.seconds_until_token(now))
        self.note(Kind.REQUESTS, source, now, f"refused requests from {source}: over "
                  "--request-rate on a connection")  # fmt: skip
        return RequestError(
            ErrorCode.RATE_LIMITED,
            f"Too many requests at once. Try again in {seconds} s.",
            retry_after=seconds,
        )

    # --- the log -----------------------------------------------------------------------------

    def note(self, kind: Kind, source: str, now: float, text: str) -> None:
        """Log `text` unless a line of this kind about `source` was logged within the interval;
        the next line says how many were left out."""
        with self._lock:
            count = self._log.note((kind, source), now)
        if count is None:
            return
        if count > 1:
            text += f" ({count - 1} more since the last such line)"
        log.warning("%s", text)
