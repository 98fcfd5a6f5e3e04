"""ChatServer: the shell around the connections: bind, accept, tick, and stop gracefully.

`start()` returns once the socket listens (port 0 picks a free one: see `address`). `stop()` is
idempotent: stop accepting, end every session with `bye shutdown`, join the threads, close
the active periods, and release the database.
"""

from __future__ import annotations

import logging
import selectors
import socket
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from service.brokering import expire_private_requests
from service.config import ServerConfig
from service.connection import Connection
from service.context import Services
from service.db import migrate_to_head
from service.hub import Hub
from service.lockout import UnknownNames
from service.outbox import Flusher
from service.session import EndReason
from service.store import Store
from service.timeutil import utc_now

log = logging.getLogger(__name__)

TICK_S = 1.0  # how often unanswered private requests are checked for expiry
NONCE_PRUNE_EVERY = timedelta(hours=1)
UNKNOWN_NAMES_EVICT_EVERY = timedelta(minutes=1)  # between two, at most a minute of guesses
LISTEN_BACKLOG = 512


class ChatServer:
    def __init__(self, config: ServerConfig, clock: Callable[[], datetime] = utc_now) -> None:
        self.config = config
        self._clock = clock
        self._lock = threading.Lock()  # guards _connections and the started/stopped flags
        self._connections: set[Connection] = set()
        self._stopped = threading.Event()
        self._started = False
        self._threads: list[threading.Thread] = []
        self._listener: socket.socket | None = None
        self._wake_r, self._wake_w = socket.socketpair()
        self._services: Services | None = None
        self._flusher: Flusher | None = None

    @property
    def address(self) -> tuple[str, int]:
        assert self._listener is not None, "start() first"
        host, port = self._listener.getsockname()[:2]
        return str(host), int(port)

    def start(self) -> None:
        migrate_to_head(self.config.db_url)
        store = Store.open(self.config.db_url, group_commit=True)
        closed = store.end_open_periods(self._clock())
        if closed:
            log.info("closed %d active periods left open by an earlier stop", closed)
        store.prune_nonces(self._clock())
        self._services = Services(self.config, store, Hub(), self._clock, UnknownNames(store))
        self._listener = socket.create_server(
            (self.config.host, self.config.port), backlog=LISTEN_BACKLOG, reuse_port=False
        )
        self._flusher = Flusher()
        with self._lock:
            self._started = True
        self._spawn(self._accept_loop, "accept")
        self._spawn(self._tick_loop, "ticker")

    def _spawn(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    def wait_stopped(self, timeout_s: float | None = None) -> bool:
        return self._stopped.wait(timeout_s)

    def _accept_loop(self) -> None:
        assert self._listener is not None and self._services is not None
        with selectors.DefaultSelector() as selector:
            selector.register(self._listener, selectors.EVENT_READ)
            selector.register(self._wake_r, selectors.EVENT_READ)
            while not self._stopped.is_set():
                for key, _ in selector.select():
                    if key.fileobj is self._wake_r:
                        return
                    try:
                        self._accept_one()
                    except Exception:  # e.g. no thread could be started: refuse this one only
                        log.exception("could not take a new connection; still accepting")

    def _accept_one(self) -> None:
        assert self._listener is not None and self._services is not None
        assert self._flusher is not None
        try:
            sock, address = self._listener.accept()
        except OSError as error:  # e.g. the client gave up, or out of descriptors
            log.warning("accept failed: %s", error)
            return
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            connection = Connection(sock, address, self._services, self._flusher, self._forget)
            with self._lock:
                if self._stopped.is_set():
                    sock.close()
                    return
                self._connections.add(connection)
            connection.start()
        except BaseException:
            self._forget_socket(sock)
            raise

    def _forget_socket(self, sock: socket.socket) -> None:
        with self._lock:
            self._connections = {c for c in self._connections if not c.owns(sock)}
        sock.close()

    def _forget(self, connection: Connection) -> None:
        with self._lock:
            self._connections.discard(connection)

    def _tick_loop(self) -> None:
        assert self._services is not None
        last_prune = last_evict = self._clock()
        while not self._stopped.wait(TICK_S):
            try:
                expire_private_requests(self._services)
                now = self._clock()
                if now - last_evict >= UNKNOWN_NAMES_EVICT_EVERY:
                    last_evict = now
                    self._services.unknown_names.evict_oldest()
                if now - last_prune >= NONCE_PRUNE_EVERY:
                    last_prune = now
                    self._services.store.prune_nonces(now)
            except Exception:
                log.exception("periodic housekeeping failed; will retry")

    def stop(self) -> None:
        with self._lock:
            if self._stopped.is_set() or not self._started:
                self._stopped.set()
                return
            self._stopped.set()
            connections = list(self._connections)
        self._wake_w.send(b"\0")
        for thread in self._threads:
            thread.join(timeout=5)
        for connection in connections:
            connection.request_end(EndReason.SHUTDOWN)
        for connection in connections:
            connection.join(self.config.shutdown_grace_s + 5)
        assert self._services is not None and self._flusher is not None
        self._services.store.end_open_periods(self._clock())
        self._services.store.close()
        self._flusher.stop()
        if self._listener is not None:
            self._listener.close()
        self._wake_r.close()
        self._wake_w.close()
        log.info("stopped")
