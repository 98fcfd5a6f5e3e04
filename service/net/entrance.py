"""Where an accepted connection waits before its chat session starts, on either port.

Every connection, on chat/1's port or the web port, is counted against the per-address cap
first (closed without a word past it), then goes through the TLS handshake when the server
has a certificate, then: on chat/1's port a TCP session (service/net/connection.py) starts
at once; on the web port an HTTP exchange (service/net/web/exchange.py) answers requests
until one upgrades to a WebSocket session. Until its session starts, a connection is an
*opening* (a handshake or an exchange) with a deadline, which the server checks with its
sessions' idle timeouts and closes at shutdown. All on the reactor thread.
"""

from __future__ import annotations

import logging
import socket
import ssl
import time
from collections.abc import Callable
from typing import Any, Protocol

from service.limits.guard import Kind
from service.net.adapter import SessionAdapter
from service.net.connection import Connection
from service.net.runtime import Runtime
from service.net.tls import Handshake
from service.net.web.exchange import HttpExchange
from service.net.web.outbox import WsOutbox
from service.net.web.site import Site
from service.net.web.websocket import WebSocketConnection
from service.wire.addresses import source_key

log = logging.getLogger(__name__)

Start = Callable[[socket.socket, tuple[Any, ...], str, float], None]


class Opening(Protocol):
    def close_if_overdue(self, now: float) -> None: ...

    def fail(self, reason: str) -> None: ...


class Entrance:
    def __init__(
        self,
        runtime: Runtime,
        tls: ssl.SSLContext | None,
        stopping: Callable[[], bool],
        on_session: Callable[[SessionAdapter], None],
        site: Site | None = None,
    ) -> None:
        self._runtime = runtime
        self._tls = tls
        self._stopping = stopping
        self._on_session = on_session  # the server keeps it and starts it
        self._site = site  # the web port's answers, if it has one
        self._openings: set[Opening] = set()

    def accept_chat(self, sock: socket.socket, address: tuple[Any, ...]) -> None:
        self._take(sock, address, self._start_chat)

    def accept_web(self, sock: socket.socket, address: tuple[Any, ...]) -> None:
        self._take(sock, address, self._start_web)

    def check_deadlines(self, now: float) -> None:
        for opening in list(self._openings):
            opening.close_if_overdue(now)

    def close_all(self) -> None:
        """The server is stopping: every opening closes without a word."""
        for opening in list(self._openings):
            opening.fail("the server is shutting down")

    # --- on the reactor thread -------------------------------------------------------------

    def _take(self, sock: socket.socket, address: tuple[Any, ...], start: Start) -> None:
        guard, now = self._runtime.guard, time.monotonic()
        source = source_key(str(address[0]))
        if self._stopping() or not guard.connection_opened(source, now):
            sock.close()  # over the per-address cap: closed without a word (and logged)
            return
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self._tls is not None:
                self._start_handshake(sock, address, source, now, start)
            else:
                start(sock, address, source, now)
        except OSError as error:  # the client gave up already
            log.debug("could not take a connection: %s", error)
            sock.close()
            self._closed(source)

    def _closed(self, source: str) -> None:
        """A connection that never became a session is gone."""
        self._runtime.guard.connection_closed(source)
        if not self._stopping():
            self._runtime.reactor.resume_accepting()

    def _start_chat(
        self, sock: socket.socket, address: tuple[Any, ...], source: str, accepted_at: float
    ) -> None:
        self._on_session(Connection(sock, address, self._runtime, accepted_at))

    def _start_web(
        self, sock: socket.socket, address: tuple[Any, ...], source: str, accepted_at: float
    ) -> None:
        assert self._site is not None, "a web listener without a site"
        runtime = self._runtime
        exchange = HttpExchange(
            sock, address, source, self._site, runtime.reactor, runtime.guard,
            runtime.services.config.login_timeout_s, self._upgraded, self._exchange_closed,
        )  # fmt: skip
        self._openings.add(exchange)
        exchange.start()

    def _upgraded(
        self, exchange: HttpExchange, sock: socket.socket, outbox: WsOutbox, trailing: bytes
    ) -> None:
        self._openings.discard(exchange)
        session = WebSocketConnection(
            sock, exchange.address, self._runtime, outbox, trailing, time.monotonic()
        )
        log.debug("WebSocket from %s", session.peer)
        self._on_session(session)

    def _exchange_closed(self, exchange: HttpExchange) -> None:
        self._openings.discard(exchange)
        self._closed(exchange.source)

    def _start_handshake(
        self, sock: socket.socket, address: tuple[Any, ...], source: str, accepted_at: float,
        start: Start,
    ) -> None:  # fmt: skip
        assert self._tls is not None
        sock.setblocking(False)
        tls_sock = self._tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        deadline = accepted_at + self._runtime.services.config.login_timeout_s

        def done(handshake: Handshake) -> None:
            self._openings.discard(handshake)
            try:
                start(handshake.sock, address, source, accepted_at)
            except OSError:
                handshake.close()
                self._closed(source)

        def failed(handshake: Handshake, reason: str) -> None:
            self._openings.discard(handshake)
            self._closed(source)
            self._runtime.guard.note(Kind.HANDSHAKE, source, time.monotonic(),
                                     f"TLS handshake with {source} failed: {reason}")  # fmt: skip

        handshake = Handshake(tls_sock, self._runtime.reactor, deadline, done, failed)
        self._openings.add(handshake)
        handshake.start()
