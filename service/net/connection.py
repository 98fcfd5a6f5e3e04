"""One client connection: its socket, session, output, and the requests waiting their turn.

No thread of its own. Which thread does what:
- the reactor reads, decodes and schedules (`pump`): `message` and `ack` (and the rooms' `say`
  and `read`) go into the round's batch for the writer (up to MAX_IN_FLIGHT at once), `ping`
  is answered at once, and every
  other request runs on a worker, one at a time, once the pipelined ones before it are done,
  so each client sees the effects of its requests in order. Requests other than `message`
  and `ack` take a token from the connection's request bucket first, and `login`/`register`
  pass the per-address login limits before they queue for the auth pool (service/limits/guard.py);
  `message` and `ack` are paced by the window instead: past MAX_IN_FLIGHT, and MAX_WAITING
  decoded, the reactor stops reading the socket until the writer catches up;
- the reactor answers pipelined requests after their commit (service/pipeline/answerer.py);
- a worker runs a serial request's handler and its follow-ups, and the end of the session.
The scheduling state (`_waiting`, `_in_flight`, `_busy`, `_ending`) belongs to the reactor;
other threads change it only through `reactor.post()`. This is also the exception boundary:
a request that fails unexpectedly is answered `internal` and the connection stays up.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from service.core.context import Context, Services
from service.core.handlers.dispatch import leave, run_request
from service.core.hub import Live, RoomLive
from service.core.session import (
    AUTH_OPS,
    BYE_TEXTS,
    INLINE_OPS,
    PIPELINED_OPS,
    WINDOWED_OPS,
    EndReason,
    SessionState,
    admit,
)
from service.limits.auth_pool import AuthPool
from service.limits.guard import Guard, Kind
from service.net.delivery import Delivery
from service.net.outbox import Outbox
from service.net.reactor import Reactor
from service.net.tls import WOULD_BLOCK
from service.pipeline.items import Ack, DirectMessage, Read, Round, Say
from service.store.message_record import MessageRecord
from service.store.room_statements import ReadRecord, SayRecord
from service.wire import events
from service.wire import requests as m
from service.wire.addresses import source_key
from service.wire.codec import Decoded, FrameDecoder, FrameError, encode
from service.wire.errors import INTERNAL, ErrorCode, RequestError, RequestId, error_reply, ok_reply

log = logging.getLogger(__name__)

RECV_BYTES = 65_536
MAX_IN_FLIGHT = 64  # pipelined requests of one connection awaiting their commit
MAX_WAITING = 256  # decoded requests waiting their turn before we stop reading the socket
# The refusals of a login or register that count toward --max-refused-logins: the peer's own
# guesses and register's answers about its request. `rate_limited` and `internal` are the
# server's conditions, which a client retries on the same connection, so they never count.
COUNTED_REFUSALS = frozenset(
    code.value
    for code in (
        ErrorCode.BAD_CREDENTIALS,
        ErrorCode.LOCKED,
        ErrorCode.USER_EXISTS,
        ErrorCode.BAD_USERNAME,
        ErrorCode.WEAK_PASSWORD,
        ErrorCode.SIGNUP_CLOSED,
    )
)


@dataclass(slots=True)
class Runtime:
    """What every connection of one server shares besides Services."""

    services: Services
    reactor: Reactor
    workers: Executor  # serial requests and session ends
    auth: AuthPool  # login and register (password hashing), fair per address
    catch_ups: Executor  # a login's backlog and room catch-up, paced by the client's reading
    guard: Guard  # the abuse limits; the reactor's alone
    on_closed: Callable[[Connection], None]
    hot: Round = field(default_factory=Round)  # this reactor round's pipelined requests


class Connection:
    def __init__(
        self,
        sock: socket.socket,
        address: tuple[Any, ...],
        runtime: Runtime,
        accepted_at: float | None = None,
    ) -> None:
        sock.setblocking(False)
        self._sock = sock
        self._fd = sock.fileno()
        # TLS: bytes OpenSSL has decrypted and not handed out yet, which select cannot see
        self._tls_pending: Callable[[], int] | None = getattr(sock, "pending", None)
        self.peer_host = str(address[0])
        self.peer = f"{address[0]}:{address[1]}"
        self.source = source_key(self.peer_host)  # what the per-address limits count
        self._runtime = runtime
        self._reactor = runtime.reactor
        config = runtime.services.config
        self._outbox = Outbox(sock, config.outbox_limit_bytes, self._on_output_waiting)
        self.delivery = Delivery(self._outbox, lambda: self.request_end(EndReason.SLOW_CONSUMER))
        self._decoder = FrameDecoder()
        now = time.monotonic()
        self.state = SessionState(config.timeout_s, last_activity=now)
        self._login_deadline = (accepted_at or now) + config.login_timeout_s
        self._requests = runtime.guard.request_bucket(now)  # None: requests are not limited
        self._refused_logins = 0  # logins and registers refused on this connection
        self._waiting: deque[Decoded] = deque()
        self._in_flight = 0  # pipelined requests handed to the writer, not yet answered
        self._busy = False  # a serial request runs on a worker
        self._writing = False  # the reactor watches for writability (output is waiting)
        self._watched = (False, False)  # (read, write) as last told to the reactor
        self._ending: EndReason | None = None
        self._end_after_reply: EndReason | None = None
        self._finishing = False
        self._eof = False  # the peer sent its last byte (or the connection broke)
        self._closed = False
        self.close_deadline: float | None = None  # set once the goodbye is queued

    def fileno(self) -> int:
        return self._fd

    # --- output, from any thread -----------------------------------------------------------

    def send_event(self, event: dict[str, Any]) -> None:
        self.send_bytes(encode(event))

    def send_bytes(self, data: bytes) -> bool:
        if self._outbox.send_nowait(data):
            return True
        if self._outbox.overflowed:
            self.request_end(EndReason.SLOW_CONSUMER)
        return False

    def deliver_encoded(self, items: Sequence[Live], first: bytes = b"") -> bool:
        """Live events from others (the hub, the writer): held during a login."""
        return self.delivery.live(items, first)

    def deliver_room(self, room: str, data: bytes, items: Sequence[RoomLive]) -> bool:
        """Live room messages (the writer's fan-out): held during a login."""
        return self.delivery.room_live(room, data, items)

    def end_after_reply(self, reason: EndReason) -> None:
        self._end_after_reply = reason

    def request_end(self, reason: EndReason) -> None:
        """Ask for this session to end (any thread; returns at once)."""
        self._reactor.post(lambda: self.end(reason))

    def _on_output_waiting(self) -> None:
        self._reactor.flush_soon(self)

    # --- the reactor's side ----------------------------------------------------------------

    def start(self) -> None:
        config = self._runtime.services.config
        self.send_event(events.hello(config.server_banner, config.allow_signup))
        self._update_watch()

    def on_readable(self) -> None:
        try:
            data = self._sock.recv(RECV_BYTES)
        except WOULD_BLOCK:
            return
        except OSError:
            data = b""
        if not data:  # the peer is done sending: answer what it sent, then end
            self._eof = True
        else:
            self._waiting.extend(self._decoder.feed(data))
            if self._tls_pending is not None and self._tls_pending():
                self._reactor.post(self._read_tls_pending)  # the rest, next round
        self.pump()

    def _read_tls_pending(self) -> None:
        if not self._closed and self._watched[0]:  # still reading (not held back, not ending)
            self.on_readable()

    def on_failure(self) -> None:
        """Our own bug surfaced while reading or writing: end this connection only."""
        self.end(EndReason.DISCONNECTED)

    def on_writable(self) -> None:
        """Write what waits (the socket is writable, or output came this round)."""
        if self._closed:
            return
        if self._outbox.flush_nowait():
            if self.close_deadline is not None:
                self._close()
            elif self._writing:
                self._writing = False
                self._update_watch()
        elif not self._writing:  # the socket is full: go on when it is writable
            self._writing = True
            self._update_watch()

    def _update_watch(self) -> None:
        if self._closed:
            return
        reading = self._ending is None and not self._eof and len(self._waiting) < MAX_WAITING
        if (reading, self._writing) != self._watched:  # most calls change nothing
            self._watched = (reading, self._writing)
            self._reactor.watch(self, read=reading, write=self._writing)

    def pump(self) -> None:
        """Start whatever requests may start now, in order."""
        waiting = self._waiting
        while waiting and self._ending is None and not self._busy:
            item = waiting[0]
            if isinstance(item, FrameError):
                waiting.popleft()
                self._on_frame_error(item)
                continue
            op = item.get("op")
            if not isinstance(op, str):
                op = ""  # answered bad_request in turn, like any request that is not ours
            if op in PIPELINED_OPS:
                if self._in_flight >= MAX_IN_FLIGHT:
                    break
                if op in WINDOWED_OPS:  # message, ack: paced by the window alone
                    waiting.popleft()
                    self._start_windowed(item, op)
                    continue
                if self._in_flight and not self._has_request_token():
                    break  # its refusal must not overtake the replies before it
                waiting.popleft()
                if self._within_rate(item):  # say, read: a say reaches a whole room
                    self._start_pipelined(item)
                continue
            if op in INLINE_OPS:
                if self._in_flight:
                    break  # its reply must not overtake those of the messages before it
                start = self._run_inline
            elif self._in_flight:
                break
            else:
                start = self._start_serial
            waiting.popleft()
            if self._within_rate(item):
                start(item)
        if self._eof and not (self._waiting or self._busy or self._in_flight):
            self.end(EndReason.DISCONNECTED)
        if self._ending is not None:
            self._maybe_finish()
        else:
            self._update_watch()

    def _has_request_token(self) -> bool:
        return self._requests is None or self._requests.has_token(time.monotonic())

    def _within_rate(self, frame: dict[str, Any]) -> bool:
        """Take a token from the request bucket; without one the request is answered
        `rate_limited` and the connection carries on (service/limits/guard.py)."""
        bucket = self._requests
        if bucket is None:
            return True
        now = time.monotonic()
        if bucket.try_take(now):
            return True
        self._refuse(frame, self._runtime.guard.request_refusal(bucket, self.source, now))
        return False

    def _on_frame_error(self, error: FrameError) -> None:
        self.send_event(events.frame_error(error.problem.value, error.text))
        if error.is_fatal or self.state.note_bad_frame(
            self._runtime.services.config.max_bad_frames
        ):
            self.end(EndReason.PROTOCOL_ERROR)  # chat/1 precise point 8

    def _run_inline(self, frame: dict[str, Any]) -> None:
        ctx = Context(self._runtime.services, self.state, self)
        self._run_handler(ctx, frame)

    def _start_windowed(self, frame: dict[str, Any], op: str) -> None:
        """A `message` or `ack`, most of the traffic. A plain one (logged in, an id that is
        an integer, a string or absent, fields that need no further checks) goes straight
        into the round's batch; anything else takes the general path, which gives the same
        result or the error to answer."""
        request_id, user_id, user = frame.get("id"), self.state.user_id, self.state.user
        if user_id is None or user is None or not m.has_valid_id(frame):
            self._start_pipelined(frame)
            return
        if op == "ack":
            msg_id = m.plain_ack(frame)
            if msg_id is None:
                self._start_pipelined(frame)
                return
            self.state.note_request(op, time.monotonic())
            self._add_ack(msg_id, user_id, request_id, "id" in frame)
            return
        fields = m.plain_message(frame)
        if fields is None:
            self._start_pipelined(frame)
            return
        self.state.note_request(op, time.monotonic())
        self._add_message(MessageRecord(user_id, user, *fields), request_id, "id" in frame)

    def _start_pipelined(self, frame: dict[str, Any]) -> None:
        wants_reply = "id" in frame
        request_id: RequestId = None
        try:
            request_id = m.request_id(frame)
            request = admit(frame, self.state, time.monotonic())
        except RequestError as refusal:
            if wants_reply:
                self.send_bytes(encode(error_reply(request_id, refusal)))
            return
        user_id = self.state.user_id
        assert user_id is not None and self.state.user is not None, "admitted after login"
        if isinstance(request, m.Ack):
            self._add_ack(request.msg_id, user_id, request_id, wants_reply)
        elif isinstance(request, m.Message):
            record = MessageRecord(user_id, self.state.user, request.to, request.text,
                                   request.nonce)  # fmt: skip
            self._add_message(record, request_id, wants_reply)
        elif isinstance(request, m.Say):  # chat/1 rooms
            say = SayRecord(user_id, self.state.user, request.room, request.text, request.nonce)
            self._runtime.hot.items.append(Say(self, request_id, wants_reply, say))
            self._in_flight += 1
        else:
            assert isinstance(request, m.Read), request
            read = ReadRecord(user_id, request.room, request.seq)
            self._runtime.hot.items.append(Read(self, request_id, wants_reply, read))
            self._in_flight += 1

    def _add_message(self, record: MessageRecord, request_id: RequestId, wants_reply: bool) -> None:
        self._runtime.hot.items.append(DirectMessage(self, request_id, wants_reply, record))
        self._in_flight += 1

    def _add_ack(self, msg_id: int, user_id: int, request_id: RequestId, wants_reply: bool) -> None:
        self._runtime.hot.items.append(Ack(self, request_id, wants_reply, msg_id, user_id))
        self._in_flight += 1

    def pipelined_done(self, count: int) -> None:
        """The writer answered `count` of this connection's pipelined requests."""
        self._in_flight -= count
        if self._ending is not None:
            self._maybe_finish()
        elif self._waiting or self._eof:
            self.pump()

    def _start_serial(self, frame: dict[str, Any]) -> None:
        op = frame.get("op")
        if isinstance(op, str) and op in AUTH_OPS and not self.state.logged_in:
            self._start_auth(op, frame)
            return
        self._busy = True
        self._runtime.workers.submit(self._run_serial, frame)

    def _start_auth(self, op: str, frame: dict[str, Any]) -> None:
        """A login or register: refused before any hashing when its address has failed too
        often or too many wait already (service/limits/guard.py), else queued fairly per address,
        in the suspects' lane if its address failed lately (service/limits/auth_pool.py)."""
        guard, now, source = self._runtime.guard, time.monotonic(), self.source
        refusal = guard.admit_login(source, now)
        if refusal is None:
            job, suspect = partial(self._run_auth, op, frame), guard.is_suspect(source, now)
            if not self._runtime.auth.submit_nowait(source, job, suspect=suspect):
                refusal = guard.login_not_queued(source, now)
        if refusal is not None:
            self._refuse(frame, refusal)  # rate_limited: the server's condition, not counted
            return
        self._busy = True

    def _refuse(self, frame: dict[str, Any], refusal: RequestError) -> None:
        """Answer `frame` with `refusal` without running it (a request without `id` gets no
        reply; one whose `id` is unusable gets bad_request, as always)."""
        if "id" not in frame:
            return
        try:
            request_id = m.request_id(frame)
        except RequestError as bad_id:
            self.send_event(error_reply(None, bad_id))
            return
        self.send_event(error_reply(request_id, refusal))

    def _run_serial(self, frame: dict[str, Any]) -> None:
        """On a worker: one request, its reply, then its follow-ups."""
        try:
            if self._ending is None:  # ended while it waited (the login deadline, say)
                self._run_follow_ups(self._run_handler(self._context(), frame))
        finally:
            self._reactor.post(self._serial_done)

    def _run_auth(self, op: str, frame: dict[str, Any]) -> None:
        """On an auth thread: judge a login or register and reply, unless its address has
        spent its failures meanwhile, and count it before the address's next one starts.
        Its catch-up (the backlog, the rooms) goes to a pool of its own, so the auth slot and
        the address's turn are free as soon as the password is judged: a client that logs
        in and never reads holds a catch-up thread (until the slow-consumer rule ends it),
        never the logins of others."""
        follow_ups: list[Callable[[], object]] = []
        reply: dict[str, Any] | None = None
        guard = self._runtime.guard
        try:
            if self._ending is None:  # ended while it waited (the login deadline, say)
                refusal = guard.start_login(self.source, time.monotonic())
                if refusal is not None:
                    self._refuse(frame, refusal)
                else:
                    try:
                        reply, follow_ups = self._answer(self._context(), frame)
                    finally:
                        logged_in, now = self.state.logged_in, time.monotonic()
                        guard.login_finished(self.source, op, logged_in, now)
        finally:
            if reply is not None and reply.get("error") in COUNTED_REFUSALS:
                self._reactor.post(self._auth_refused)
            handed_over = False
            try:
                if follow_ups:
                    self._runtime.catch_ups.submit(self._run_catch_up, follow_ups)
                    handed_over = True  # the catch-up ends the turn
            finally:  # also when the pool has shut down: the session must not stay busy
                if not handed_over:
                    self._reactor.post(self._serial_done)

    def _run_catch_up(self, follow_ups: list[Callable[[], object]]) -> None:
        try:
            self._run_follow_ups(follow_ups)
        finally:
            self._reactor.post(self._serial_done)

    def _context(self) -> Context:
        return Context(self._runtime.services, self.state, self)

    def _auth_refused(self) -> None:
        """A login or register was refused for its own sake (COUNTED_REFUSALS): past
        --max-refused-logins of them the connection ends (`bye protocol_error`), so one
        connection cannot make the server judge passwords as fast as it can send them."""
        if self.state.logged_in:
            return
        self._refused_logins += 1
        if self._refused_logins >= self._runtime.services.config.max_refused_logins:
            self.end(EndReason.PROTOCOL_ERROR)

    def _serial_done(self) -> None:
        self._busy = False
        if self._end_after_reply is not None:
            self.end(self._end_after_reply)
        self.pump()

    def _run_handler(self, ctx: Context, frame: dict[str, Any]) -> list[Callable[[], object]]:
        """Run one request and send its reply; what is to follow it (after an ok)."""
        return self._answer(ctx, frame)[1]

    def _answer(
        self, ctx: Context, frame: dict[str, Any]
    ) -> tuple[dict[str, Any], list[Callable[[], object]]]:
        """Run one request and send its reply (if it has an id); the reply, and what is to
        follow it (after an ok)."""
        wants_reply = "id" in frame
        request_id: RequestId = None
        try:
            request_id = ctx.request_id = m.request_id(frame)
            request = admit(frame, self.state, time.monotonic())
            outcome: dict[str, Any] | BaseException = run_request(ctx, request)
        except Exception as error:
            outcome = error
        if isinstance(outcome, RequestError):
            reply = error_reply(request_id, outcome)
        elif isinstance(outcome, BaseException):
            log.error("request from %s failed", self.peer, exc_info=outcome)
            reply = error_reply(request_id, INTERNAL)
        else:
            reply = ok_reply(request_id, outcome)
        if wants_reply:
            self.send_event(reply)
        return reply, (ctx.follow_ups if reply["ok"] else [])

    def _run_follow_ups(self, follow_ups: list[Callable[[], object]]) -> None:
        for follow_up in follow_ups:
            try:
                follow_up()
            except Exception:  # e.g. the backlog could not be read: end this session
                log.exception("after a request of %s; ending the session", self.peer)
                self.delivery.drop_held()  # stored messages stay stored
                self.request_end(EndReason.DISCONNECTED)
                return

    # --- the end ---------------------------------------------------------------------------

    def end(self, reason: EndReason) -> None:
        """On the reactor: stop taking requests; the session ends once none is running."""
        if self._ending is None:
            self._ending = reason
            self._waiting.clear()
            self._update_watch()
        self._maybe_finish()

    def check_idle(self, now: float) -> None:
        if self._ending is not None:
            return
        if self.state.idle_remaining(now) <= 0:
            self.end(EndReason.TIMEOUT)
        elif not self.state.logged_in and now >= self._login_deadline and not self._busy:
            self._runtime.guard.note(Kind.LOGIN_TIMEOUT, self.source, now, f"closed connections "
                                     f"from {self.source} that did not log in within the "
                                     "login deadline (--login-timeout)")  # fmt: skip
            self.end(EndReason.TIMEOUT)

    def _maybe_finish(self) -> None:
        if self._ending is None or self._busy or self._in_flight or self._finishing:
            return
        self._finishing = True
        self._runtime.workers.submit(self._finish, self._ending)

    def _finish(self, reason: EndReason) -> None:
        """On a worker: offline, peers told, period closed; then the goodbye, then the close."""
        try:
            leave(self._runtime.services, self.state, self, reason)
        except Exception:
            log.exception("could not end the session of %s cleanly", self.peer)
        if reason.sends_bye:
            self._outbox.send_final(encode(events.bye(reason.value, BYE_TEXTS[reason])))
        grace_s = self._runtime.services.config.shutdown_grace_s
        self._reactor.post(lambda: self._close_when_drained(time.monotonic() + grace_s))

    def _close_when_drained(self, deadline: float) -> None:
        self.close_deadline = deadline
        if not self._outbox.has_pending:
            self._close()
            return
        self._writing = True
        self._update_watch()

    def close_if_overdue(self, now: float) -> None:
        if self.close_deadline is not None and now >= self.close_deadline:
            self._close()

    def force_close(self) -> None:
        """The server is going away: close now, whatever is running or unsent."""
        self._close()

    def _close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._watched = (False, False)
        self._reactor.watch(self, read=False, write=False)
        self._outbox.close()
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()
        log.debug("connection from %s closed", self.peer)
        self._runtime.on_closed(self)
