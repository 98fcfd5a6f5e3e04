"""ChatServer: the shell around the connections: bind, start the threads, stop gracefully.

Threads, and why each exists (docs/ARCHITECTURE.md):
- `reactor`: owns every socket (accept, read, schedule, finish partial writes, timers);
- `db-writer`: group commit; answers direct messages after their commit;
- `worker-*`: requests that read or wait on the database, one at a time per connection;
- `auth-*`: login and register, apart and fair per address (service/limits/auth_pool.py), so a
  storm of password hashes delays nobody else;
- `ticker`: housekeeping (private requests that expire, old nonces, expired login tokens,
  unknown names, sessions of accounts an operator deleted).

`start()` returns once the socket listens (port 0 picks a free one: see `address`, and
`web_address` for the web port). It checks in an order that changes nothing it should not:
the TLS files (and the web client's files), then the port and the web port, then the
database; whatever fails is a StartupError of one sentence. Connections wait in the entrance
(service/net/entrance.py) until their session starts. `stop()` is idempotent: stop
accepting, end every session with `bye shutdown`, close the active periods, and release the
database.
"""

from __future__ import annotations

import logging
import os
import resource
import socket
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from service.config import ServerConfig, StartupError
from service.core.account_watch import DeletionWatch, ending
from service.core.context import Services
from service.core.handlers.private import end_private_on_shutdown, expire_private_requests
from service.core.hub import Hub
from service.core.session import EndReason
from service.credentials.decoy_cost import DecoyCosts
from service.limits.auth_pool import AuthPool
from service.limits.guard import Guard
from service.limits.throttle import LogLimiter
from service.net.adapter import SessionAdapter
from service.net.entrance import Entrance
from service.net.reactor import Reactor
from service.net.runtime import Runtime
from service.net.tls import server_context
from service.net.web.site import Site, load_assets
from service.pipeline.answerer import Answerer
from service.pipeline.items import Round
from service.store import Store, db
from service.store.change_marker import ChangeMarker
from service.store.instance_lock import InstanceLock, take_instance_lock
from service.wire.timeutil import utc_now

log = logging.getLogger(__name__)

TICK_S = 1.0  # how often unanswered private requests are checked for expiry
IDLE_CHECK_S = 0.25  # how often idle sessions and overdue closes are looked for
NONCE_PRUNE_EVERY = timedelta(hours=1)
UNKNOWN_NAMES_EVICT_EVERY = timedelta(minutes=1)  # between two, at most a minute of guesses
WATCH_LOG_EVERY_S = 60.0  # while the deleted-account watch cannot look: a line per minute
LISTEN_BACKLOG = 1024
WORKERS = 4  # serial requests; each mostly waits on the database
# Catch-ups wait on the client's reading (a page at a time): many threads, each mostly idle,
# so that clients that log in and read slowly delay one another's catch-up, not logins.
CATCH_UP_WORKERS = 32
# logins mostly wait on the database; argon2 is bounded in service/credentials/passwords.py
AUTH_WORKERS = 4
CRASH_END_REASON = "server_restart"  # the end reason of periods a crash left open
DESCRIPTOR_RESERVE = 100  # descriptors kept for the database, the log and our own sockets
GUARD_PRUNE_S = 60.0  # how often the guard forgets addresses whose buckets refilled


def _listen(host: str, port: int) -> socket.socket:
    try:
        return socket.create_server((host, port), backlog=LISTEN_BACKLOG, reuse_port=False)
    except OSError as error:  # strerror alone: create_server appends the address to it
        reason = os.strerror(error.errno) if error.errno else str(error)
        raise StartupError(f"cannot listen on {host}:{port}: {reason}") from None


def descriptor_room() -> int:
    """How many connections the descriptor limit leaves room for."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return sys.maxsize
    return soft - DESCRIPTOR_RESERVE


class ChatServer:
    def __init__(self, config: ServerConfig, clock: Callable[[], datetime] = utc_now) -> None:
        self.config = config
        self._clock = clock
        self._connections: set[SessionAdapter] = set()  # the reactor's alone
        self._entrance: Entrance | None = None  # connections before their session; ditto
        self._all_closed = threading.Event()
        self._stopped = threading.Event()
        self._started = False
        self._lock = threading.Lock()  # guards the started/stopped flags
        self._listener: socket.socket | None = None
        self._web_listener: socket.socket | None = None  # the web port, if asked for
        self._instance_lock: InstanceLock | None = None  # held from start() to stop()
        self._runtime: Runtime | None = None
        self._ticker: threading.Thread | None = None

    @property
    def address(self) -> tuple[str, int]:
        assert self._listener is not None, "start() first"
        host, port = self._listener.getsockname()[:2]
        return str(host), int(port)

    @property
    def web_address(self) -> tuple[str, int] | None:
        """Where the web port listens, or None without one."""
        if self._web_listener is None:
            return None
        host, port = self._web_listener.getsockname()[:2]
        return str(host), int(port)

    @property
    def services(self) -> Services:
        assert self._runtime is not None, "start() first"
        return self._runtime.services

    @property
    def max_connections(self) -> int:
        """The cap in force: --max-connections, or less if the descriptor limit says so."""
        assert self._runtime is not None, "start() first"
        return self._runtime.guard.max_connections

    def start(self) -> None:
        """Listen and serve; StartupError (one sentence) if the server cannot."""
        config = self.config
        tls = server_context(config)  # before the port: a bad certificate changes nothing
        site = None if config.web_port is None else Site(load_assets(), tls is not None,
                                                         config.web_origins)  # fmt: skip
        listener = _listen(config.host, config.port)
        try:
            if config.web_port is not None:
                self._web_listener = _listen(config.web_listen_host, config.web_port)
            services = self._open_services()
        except BaseException:
            listener.close()
            if self._web_listener is not None:
                self._web_listener.close()
                self._web_listener = None
            raise
        self._listener = listener
        guard = Guard(config, descriptor_room())
        reactor = Reactor(
            listener, lambda s, a: self._enter().accept_chat(s, a), self._end_round,
            guard.accept_refusal, config.refusal_log_interval_s,
        )  # fmt: skip
        if self._web_listener is not None:
            reactor.add_listener(self._web_listener, lambda s, a: self._enter().accept_web(s, a))
        self._runtime = Runtime(
            services,
            reactor,
            ThreadPoolExecutor(WORKERS, thread_name_prefix="worker"),
            AuthPool(AUTH_WORKERS, config.login_queue, config.login_queue_per_address),
            ThreadPoolExecutor(CATCH_UP_WORKERS, thread_name_prefix="catch_up"),
            guard,
            self._forget,
        )
        self._entrance = Entrance(
            self._runtime, tls, self._stopped.is_set, self._start_session, site
        )
        answerer = Answerer(services.hub, config.max_text_chars, reactor.post)
        services.store.group_writer.on_hot_committed(answerer)
        reactor.call_every(IDLE_CHECK_S, self._check_idle)
        reactor.call_every(GUARD_PRUNE_S, lambda: guard.forget_idle(time.monotonic()))
        with self._lock:
            self._started = True
        reactor.start()
        self._ticker = threading.Thread(target=self._tick_loop, name="ticker", daemon=True)
        self._ticker.start()

    def _open_services(self) -> Services:
        """The database, after the port is ours: a second server on a busy port touches
        nothing. Nothing is written before the checks that can refuse have passed."""
        url = self.config.db_url
        if (problem := db.url_problem(url)) is not None:  # e.g. a bare path: no traceback
            raise StartupError(problem)
        for warning in db.check_usable(url):
            log.warning("%s", warning)
        with db.startup_errors(url):
            lock = take_instance_lock(url)  # before the first write: one server per database
            try:
                db.migrate_to_head(url)
                store = Store.open(
                    url,
                    group_commit=True,
                    max_text_chars=self.config.max_text_chars,
                    synchronous=self.config.sqlite_synchronous,
                )
            except BaseException:
                lock.release()
                raise
        self._instance_lock = lock
        closed = store.periods.end_open_periods(self._clock(), CRASH_END_REASON)
        if closed:
            periods = "active period" if closed == 1 else "active periods"
            log.info("closed %d %s left open by an earlier stop", closed, periods)
        store.nonces.prune(self._clock())
        store.login_tokens.prune(self._clock())
        hub = Hub(on_announcement=lambda: self._reactor_post(hub.fan_out))
        decoys = DecoyCosts(self.config.argon2, store.users.hash_costs())
        return Services(self.config, store, hub, self._clock, decoys)

    def _reactor_post(self, call: Callable[[], None]) -> None:
        """Presence is fanned out by the reactor, once per round (see Hub.announce)."""
        if self._runtime is not None:
            self._runtime.reactor.post(call)

    def wait_stopped(self, timeout_s: float | None = None) -> bool:
        return self._stopped.wait(timeout_s)

    # --- on the reactor thread -------------------------------------------------------------

    def _start_session(self, session: SessionAdapter) -> None:
        log.debug("connection from %s", session.peer)
        self._connections.add(session)
        session.start()

    def _enter(self) -> Entrance:
        assert self._entrance is not None, "start() first"
        return self._entrance

    def _forget(self, connection: SessionAdapter) -> None:
        self._connections.discard(connection)
        assert self._runtime is not None
        self._runtime.guard.connection_closed(connection.source)
        if not self._stopped.is_set():
            self._runtime.reactor.resume_accepting()
        if self._stopped.is_set() and not self._connections:
            self._all_closed.set()

    def _end_round(self) -> None:
        """Hand the round's direct messages and acks (and room says, reads) to the writer."""
        assert self._runtime is not None
        hot = self._runtime.hot
        if hot.items:
            self._runtime.hot = Round()
            self._runtime.services.store.group_writer.submit_hot(hot)

    def _check_idle(self) -> None:
        now = time.monotonic()
        self._enter().check_deadlines(now)
        for connection in list(self._connections):
            try:
                connection.check_idle(now)
                connection.close_if_overdue(now)
            except Exception:  # one connection's trouble must not stop the others' timeouts
                log.exception("checking connection %s failed", connection.peer)
                connection.force_close()

    def _end_all(self) -> None:
        assert self._runtime is not None
        self._runtime.reactor.stop_accepting()
        self._enter().close_all()
        if not self._connections:
            self._all_closed.set()
        try:  # queued ahead of every `bye`, which the sessions' ends send later
            end_private_on_shutdown(self._runtime.services)
        except Exception:  # a goodbye detail: the shutdown itself must go on
            log.exception("could not tell private peers about the shutdown")
        for connection in list(self._connections):
            connection.end(EndReason.SHUTDOWN)

    def _force_close_all(self, done: threading.Event) -> None:
        for connection in list(self._connections):
            connection.force_close()
        done.set()

    # --- housekeeping ----------------------------------------------------------------------

    def _tick_loop(self) -> None:
        services = self.services
        last_prune = last_evict = self._clock()
        deletions, marker = DeletionWatch(), services.store.change_marker()
        watch_log = LogLimiter(WATCH_LOG_EVERY_S)
        while not self._stopped.wait(TICK_S):
            # The watch reads the database: when it cannot (PostgreSQL down), the rest of the
            # housekeeping goes on, and the log gets a line per interval, not one per tick.
            try:
                self._watch_deletions(deletions, marker)
            except Exception:
                if (failures := watch_log.note("watch", time.monotonic())) is not None:
                    log.warning("could not look for deleted accounts (%d times since the last "
                                "such line); will retry", failures, exc_info=True)  # fmt: skip
            try:
                expire_private_requests(services)
                now = self._clock()
                if now - last_evict >= UNKNOWN_NAMES_EVICT_EVERY:
                    last_evict = now
                    services.store.users.evict_unknown_names()
                if now - last_prune >= NONCE_PRUNE_EVERY:  # and expired login tokens
                    last_prune = now
                    services.store.nonces.prune(now)
                    services.store.login_tokens.prune(now)
            except Exception:
                log.exception("periodic housekeeping failed; will retry")
        marker.close()

    def _watch_deletions(self, deletions: DeletionWatch, marker: ChangeMarker) -> None:
        """If due, look; the look counts as done only if it succeeded (else it is due again)."""
        now, moved = time.monotonic(), marker.read()  # the marker before the look
        if deletions.due(now, moved):
            self._end_deleted_sessions()
            deletions.looked(now, moved)

    def _end_deleted_sessions(self) -> None:
        """An operator deleted or kicked accounts that are online: their sessions end now
        (`bye account_deleted` / `bye kicked`, offline for everyone with the last session),
        not at some later request."""
        assert self._runtime is not None
        online = self.services.hub.online_users()
        existing = self.services.store.users.account_marks(online)
        self._runtime.reactor.post(lambda: self._end_sessions_gone(frozenset(online), existing))

    def _end_sessions_gone(
        self, looked_at: frozenset[str], existing: dict[str, tuple[int, int]]
    ) -> None:
        """On the reactor, which owns the connections: end those among the users looked at
        whose account is gone (by name or by id: deleted and made anew under its name) or
        whose epoch an operator moved (kicked)."""
        sessions: dict[tuple[str, int, int], list[SessionAdapter]] = {}
        for c in list(self._connections):
            state = c.state
            if state.user in looked_at and state.user_id is not None:
                key = (state.user, state.user_id, state.session_epoch)
                sessions.setdefault(key, []).append(c)
        for session, reason in ending(sessions, existing).items():
            for connection in sessions[session]:
                connection.end(reason)

    def stop(self) -> None:
        with self._lock:
            if self._stopped.is_set() or not self._started:
                self._stopped.set()
                return
            self._stopped.set()
        runtime = self._runtime
        assert runtime is not None and self._ticker is not None
        runtime.reactor.post(self._end_all)
        if not self._all_closed.wait(self.config.shutdown_grace_s + 5):
            log.warning("%d connections did not end in time; closing them", len(self._connections))
            closed = threading.Event()
            runtime.reactor.post(lambda: self._force_close_all(closed))
            closed.wait(5)
        runtime.reactor.stop()
        self._ticker.join(timeout=5)
        runtime.workers.shutdown(wait=True, cancel_futures=True)
        runtime.auth.shutdown()
        runtime.catch_ups.shutdown(wait=True, cancel_futures=True)
        runtime.services.store.periods.end_open_periods(self._clock(), EndReason.SHUTDOWN.value)
        runtime.services.store.close()
        if self._instance_lock is not None:
            self._instance_lock.release()
        for listener in (self._listener, self._web_listener):
            if listener is not None:
                listener.close()
        runtime.reactor.close()
        log.info("stopped")
