"""One connection on the web port before it is a chat session: HTTP/1.1 through h11 (sans-IO).

It answers what service/net/web/site.py says to each request (files, errors, keep-alive for
the next request), and on an accepted upgrade on /chat it sends the 101 and hands the socket,
its outbox and any bytes already read to a WebSocket session (`on_upgrade`). Bounded like a
login: a request head may be at most MAX_HEAD_BYTES (more is 431 and the close), and must
come whole within --login-timeout of the connection (or of the previous response); a slow
head is closed and logged per address like a slow login. A request with a body is answered
and the connection closed, without reading the body.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import Any

import h11

from service.limits.guard import Guard, Kind
from service.net.reactor import Reactor
from service.net.socket_side import SocketSide
from service.net.web.outbox import WsOutbox
from service.net.web.site import Reply, Site, Upgrade

MAX_HEAD_BYTES = 8_192  # a request line and its headers; browsers send well under 2 KiB
DRAIN_S = 2.0  # a response still unsent this long after the close was decided is dropped
REASONS = {200: b"OK", 101: b"Switching Protocols", 304: b"Not Modified", 400: b"Bad Request",
           403: b"Forbidden", 404: b"Not Found", 405: b"Method Not Allowed",
           426: b"Upgrade Required", 431: b"Request Header Fields Too Large"}  # fmt: skip

OnUpgrade = Callable[["HttpExchange", socket.socket, WsOutbox, bytes], None]


class HttpExchange(SocketSide):
    def __init__(
        self,
        sock: socket.socket,
        address: tuple[Any, ...],
        source: str,
        site: Site,
        reactor: Reactor,
        guard: Guard,
        head_timeout_s: float,
        on_upgrade: OnUpgrade,
        on_closed: Callable[[HttpExchange], None],
    ) -> None:
        limit = max(site.largest_asset_bytes + MAX_HEAD_BYTES, 1 << 16)
        outbox = WsOutbox(sock, limit, self._on_output_waiting)
        super().__init__(sock, address, reactor, outbox, limit)
        self._ws_outbox = outbox
        self.address = address
        self.source = source
        self._site = site
        self._guard = guard
        self._head_timeout_s = head_timeout_s
        self._on_upgrade = on_upgrade
        self._on_done = on_closed
        self._http = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD_BYTES)
        self._upgrade: Upgrade | None = None  # accepted, to be answered once h11 pauses
        self._reading = True
        self._started = False  # bytes of the current request came
        self._fed = 0  # bytes given to h11 since the current request began
        self.deadline = time.monotonic() + head_timeout_s  # for the current request's head

    def start(self) -> None:
        self._update_watch()

    def _wants_reading(self) -> bool:
        return self._reading

    def _received(self, data: bytes) -> None:
        self._started = True
        self._fed += len(data)
        self._http.receive_data(data)

    def _received_eof(self) -> None:
        self._http.receive_data(b"")

    def _after_reading(self) -> None:
        self._step()
        self._update_watch()

    def _step(self) -> None:
        """Act on every event h11 has for us now."""
        while self._reading:
            try:
                event = self._http.next_event()
            except h11.RemoteProtocolError as error:
                self._refuse_head(error.error_status_hint, str(error))
                return
            if event is h11.NEED_DATA:
                return
            if event is h11.PAUSED:
                if self._upgrade is not None:
                    try:
                        self._switch(self._upgrade)  # the socket is the session's now
                    except h11.LocalProtocolError:  # not an upgrade to h11: nothing sent
                        self._finish()
                return
            if isinstance(event, h11.Request):
                if self._fed - len(self._http.trailing_data[0]) > MAX_HEAD_BYTES:
                    self._refuse_head(431, "a request head over 8 KiB")  # (came in one piece)
                    return
                self._answer(event)
            elif isinstance(event, h11.EndOfMessage):
                self._next_or_close()
            elif isinstance(event, h11.ConnectionClosed):
                self._finish()

    def _answer(self, request: h11.Request) -> None:
        headers = list(request.headers)
        result = self._site.answer(request.method, request.target, headers)
        if isinstance(result, Upgrade):
            self._upgrade = result  # sent when h11 has the whole request (PAUSED)
            return
        if result.problem is not None:
            self._guard.note(Kind.WEB, self.source, time.monotonic(),
                             f"refused a WebSocket from {self.peer}: {result.problem}")  # fmt: skip
        self._respond(result)
        if _has_body(headers):
            self._finish()  # a body we will not read: no next request on this connection

    def _respond(self, reply: Reply) -> None:
        response = h11.Response(status_code=reply.status, headers=reply.headers,
                                reason=REASONS.get(reply.status, b""))  # fmt: skip
        data = self._http.send(response) or b""
        if reply.body:
            data += self._http.send(h11.Data(data=reply.body)) or b""
        data += self._http.send(h11.EndOfMessage()) or b""
        if not self._ws_outbox.send_raw_nowait(data):
            self._finish()

    def _next_or_close(self) -> None:
        """The request is read: with its response sent, on to the next one on this
        connection (keep-alive), or close if either side said so."""
        http = self._http
        if http.our_state is h11.DONE and http.their_state is h11.DONE:
            http.start_next_cycle()
            self._fed = len(http.trailing_data[0])
            self._started = bool(self._fed)
            self.deadline = time.monotonic() + self._head_timeout_s
        elif http.our_state is h11.MUST_CLOSE or http.their_state is h11.MUST_CLOSE:
            self._finish()

    def _refuse_head(self, status: int, why: str) -> None:
        """A head h11 could not read (too large, malformed): the status it suggests, if a
        response may still go, then the close."""
        why = why[:200]  # h11 quotes what it could not read
        self._guard.note(Kind.WEB, self.source, time.monotonic(),
                         f"closed a web connection from {self.peer}: {why} ({status})")  # fmt: skip
        if self._http.our_state in (h11.IDLE, h11.SEND_RESPONSE):
            try:
                self._respond(self._site.error(status, None, b"Your request could not be read."))
            except h11.LocalProtocolError:
                pass  # no response fits h11's state: the close says it
        self._finish()

    def _switch(self, upgrade: Upgrade) -> None:
        """Send the 101 and hand everything over to the WebSocket session."""
        response = h11.InformationalResponse(status_code=101, headers=upgrade.headers,
                                             reason=REASONS[101])  # fmt: skip
        switching = self._http.send(response) or b""
        self._ws_outbox.send_raw_nowait(switching)
        trailing, _ = self._http.trailing_data
        sock, _outbox = self._release()
        self._on_upgrade(self, sock, self._ws_outbox, bytes(trailing))

    def _finish(self) -> None:
        """No more requests: close once what was answered is written."""
        self._reading = False
        self._close_when_drained(time.monotonic() + DRAIN_S)

    # --- deadlines and the end -------------------------------------------------------------

    def close_if_overdue(self, now: float) -> None:
        """A response that would not drain, or a head that did not come in time: a connection
        that idles between requests is closed quietly, a slow head is logged."""
        super().close_if_overdue(now)
        if self._closed or self.close_deadline is not None or now < self.deadline:
            return
        if self._started:
            self._guard.note(Kind.LOGIN_TIMEOUT, self.source, now, f"closed web connections "
                             f"from {self.source} that did not send a whole request head in "
                             "time (--login-timeout)")  # fmt: skip
        self._close()

    def fail(self, reason: str) -> None:
        """The server is stopping (or our bug): close now, without a word."""
        self._close()

    def _on_closed(self) -> None:
        self._on_done(self)


def _has_body(headers: list[tuple[bytes, bytes]]) -> bool:
    return any(
        name == b"transfer-encoding" or (name == b"content-length" and value.strip() != b"0")
        for name, value in headers
    )
