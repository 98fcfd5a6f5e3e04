"""One chat/1 TCP connection: the adapter that carries out its session engine's actions.

What runs when, and in which order, is the engine's (service/core/engine.py, sans-IO); this
class owns the socket and the threads. No thread of its own. Which thread does what:
- the reactor reads and decodes, feeds the engine and carries out its actions (`pump`):
  adds `message`, `ack`, `say` and `read` to the round's batch for the writer, answers `ping`,
  hands serial requests to a worker and logins to the auth pool, sends refusals, and watches
  the socket for reading only while the engine says `reading`;
- the reactor answers pipelined requests after their commit (service/pipeline/answerer.py)
  and reports them (`pipelined_done`);
- a worker runs a serial request's handler and its follow-ups, and the end of the session.
The engine belongs to the reactor: other threads change it only through `reactor.post()`
(a worker only reads whether the session is ending, to skip a request it would waste). This
is also the exception boundary: a request that fails unexpectedly is answered `internal` and
the connection stays up.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from service.core.context import Context, Services
from service.core.engine import (
    ADD_PIPELINED,
    ADD_WINDOWED,
    COUNTED_REFUSALS,
    FINISH,
    FRAME_ERROR,
    JUDGE_LOGIN,
    REFUSE,
    RUN_INLINE,
    RUN_SERIAL,
    SessionEngine,
)
from service.core.handlers.dispatch import answer_request, leave
from service.core.hub import Live, RoomLive
from service.core.session import BYE_TEXTS, EndReason, SessionState, admit
from service.limits.auth_pool import AuthPool
from service.limits.guard import Guard
from service.net.delivery import Delivery
from service.net.outbox import Outbox
from service.net.reactor import Reactor
from service.net.tls import WOULD_BLOCK
from service.pipeline.items import KINDS, Ack, DirectMessage, Refused, Round
from service.store.message_record import MessageRecord
from service.wire import events
from service.wire import requests as m
from service.wire.addresses import source_key
from service.wire.codec import FrameDecoder, encode
from service.wire.errors import INTERNAL, RequestError, RequestId, error_reply

log = logging.getLogger(__name__)

RECV_BYTES = 65_536


@dataclass(slots=True)
class Runtime:
    """What every connection of one server shares besides Services."""

    services: Services
    reactor: Reactor
    workers: Executor  # serial requests and session ends
    auth: AuthPool  # login and register (password hashing), fair per address
    catch_ups: Executor  # a login's backlog and room catch-up, paced by the client's reading
    guard: Guard  # the abuse limits: the reactor's, and the auth threads' around a login
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
        # A TCP client can listen for a peer-to-peer chat (chat/1 precise point 16).
        self.state = SessionState(config.timeout_s, last_activity=now, can_private=True)
        self._engine = SessionEngine(
            self.state,
            runtime.guard,
            self.source,
            now,
            login_deadline=(accepted_at or now) + config.login_timeout_s,
            max_bad_frames=config.max_bad_frames,
            max_refused_logins=config.max_refused_logins,
        )
        self._writing = False  # the reactor watches for writability (output is waiting)
        self._watched = (False, False)  # (read, write) as last told to the reactor
        # Set by a handler on its worker (logout), read on the reactor once it is done.
        self._end_after_reply: EndReason | None = None
        self._closed = False
        self.close_deadline: float | None = None  # set once the goodbye is queued

    def fileno(self) -> int:
        return self._fd

    @property
    def can_private(self) -> bool:
        """Whether this session may be offered peer-to-peer chats (the hub asks)."""
        return self.state.can_private

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
            self._engine.receive_eof()
        else:
            self._engine.receive(self._decoder.feed(data))
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
        reading = self._engine.reading
        if (reading, self._writing) != self._watched:  # most calls change nothing
            resumed = reading and not self._watched[0]
            self._watched = (reading, self._writing)
            self._reactor.watch(self, read=reading, write=self._writing)
            if resumed and self._tls_pending is not None and self._tls_pending():
                # bytes OpenSSL decrypted while reading was paused: epoll will not say so
                self._reactor.post(self._read_tls_pending)

    def pump(self) -> None:
        """Carry out what the engine says may start now, in order (service/core/engine.py)."""
        next_action, now = self._engine.next_action, time.monotonic()
        while (action := next_action(now)) is not None:
            kind, item, detail = action
            if kind is ADD_WINDOWED:  # a run of message/ack frames: most of the traffic
                self._start_windowed(item, now)
            elif kind is ADD_PIPELINED:
                try:
                    self._start_pipelined(item)
                except Exception:
                    self._start_failed(item)
            elif kind is RUN_INLINE:
                self._run_inline(item)
            elif kind is RUN_SERIAL:
                self._runtime.workers.submit(self._run_serial, item)
            elif kind is JUDGE_LOGIN:
                self._start_auth(item, detail)
            elif kind is REFUSE:
                self._refuse(item, detail)
            elif kind is FRAME_ERROR:
                self.send_event(events.frame_error(item.problem.value, item.text))
            else:
                assert kind is FINISH
                self._runtime.workers.submit(self._finish, detail)
        self._update_watch()

    def _start_failed(self, frame: dict[str, Any]) -> None:
        """Our bug while adding a request to the round (it never got there): it is answered
        `internal` and counted as answered, so the session can still finish; the rest of
        the run, and the connection, go on."""
        log.exception("a request from %s could not be started", self.peer)
        self._refuse_in_turn(frame, INTERNAL)

    def _refuse_in_turn(self, frame: dict[str, Any], refusal: RequestError) -> None:
        """Refuse a request the engine handed out for the round without adding it: in its
        place among the replies still to come (a Refused item of the round, so it never
        overtakes them), or at once when nothing else is in flight."""
        if "id" in frame and self._engine.in_flight > 1:
            try:
                request_id = m.request_id(frame)
            except RequestError:
                pass  # an unusable id: answered at once, as always
            else:
                self._runtime.hot.items.append(Refused(self, request_id, True, refusal))
                return
        self._refuse(frame, refusal)  # first: should it raise, nothing was counted twice
        self._engine.answered_at_once()

    def _run_inline(self, frame: dict[str, Any]) -> None:
        ctx = Context(self._runtime.services, self.state, self)
        self._run_handler(ctx, frame)

    def _start_windowed(self, frames: list[dict[str, Any]], now: float) -> None:
        """A run of `message` and `ack` frames, most of the traffic. A plain one (logged in, an
        id that is an integer, a string or absent, fields that need no further checks) goes
        straight into the round's batch; anything else takes the general path, which gives the
        same result or the error to answer. What is the same for the whole run is looked up
        once (this loop runs for every frame); each frame is its own exception boundary."""
        state = self.state
        user_id, user = state.user_id, state.user
        add = self._runtime.hot.items.append
        for frame in frames:
            try:  # free unless it raises (3.11)
                request_id = frame.get("id")
                wants_reply = request_id is not None or "id" in frame
                if (
                    user_id is None
                    or user is None
                    or (wants_reply and type(request_id) is not int and type(request_id) is not str)
                ):  # (m.has_valid_id, written out)
                    self._start_pipelined(frame)
                elif frame["op"] == "ack":
                    msg_id = m.plain_ack(frame)
                    if msg_id is None:
                        self._start_pipelined(frame)
                    else:  # an ack keeps no session alive (chat/1): no note_request
                        add(Ack(self, request_id, wants_reply, msg_id, user_id))
                elif (fields := m.plain_message(frame)) is None:
                    self._start_pipelined(frame)
                else:
                    state.note_request("message", now)
                    record = MessageRecord(user_id, user, *fields)
                    add(DirectMessage(self, request_id, wants_reply, record))
            except Exception:
                self._start_failed(frame)

    def _start_pipelined(self, frame: dict[str, Any]) -> None:
        wants_reply = "id" in frame
        request_id: RequestId = None
        try:
            request_id = m.request_id(frame)
            request = admit(frame, self.state, time.monotonic())
        except RequestError as refusal:
            self._refuse_in_turn(frame, refusal)
            return
        user_id, user = self.state.user_id, self.state.user
        assert user_id is not None and user is not None, "admitted after login"
        kind = KINDS[type(request)]  # the pipeline's class for this op
        self._runtime.hot.items.append(
            kind.start(self, request_id, wants_reply, request, user_id, user)
        )

    def pipelined_done(self, count: int) -> None:
        """The writer answered `count` of this connection's pipelined requests."""
        if self._engine.pipelined_done(count):
            self.pump()

    def _start_auth(self, frame: dict[str, Any], suspect: bool) -> None:
        """A login or register the engine admitted: queued fairly per address, in the
        suspects' lane if its address failed lately (service/limits/auth_pool.py)."""
        job = partial(self._run_auth, frame["op"], frame)
        if not self._runtime.auth.submit_nowait(self.source, job, suspect=suspect):
            # rate_limited: the server's condition, not counted
            self._refuse(frame, self._engine.login_not_queued(time.monotonic()))

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
            if self._engine.ending is None:  # ended while it waited (the login deadline, say)
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
            if self._engine.ending is None:  # ended while it waited (the login deadline, say)
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
        self._engine.login_refused()  # past --max-refused-logins the session ends
        self.pump()

    def _serial_done(self) -> None:
        self._engine.serial_done(self._end_after_reply)
        self.pump()

    def _run_handler(self, ctx: Context, frame: dict[str, Any]) -> list[Callable[[], object]]:
        """Run one request and send its reply; what is to follow it (after an ok)."""
        return self._answer(ctx, frame)[1]

    def _answer(
        self, ctx: Context, frame: dict[str, Any]
    ) -> tuple[dict[str, Any], list[Callable[[], object]]]:
        """Run one request and send its reply (if it has an id); the reply, and what is to
        follow it (after an ok)."""
        reply, follow_ups = answer_request(ctx, frame, time.monotonic())
        if "id" in frame:
            try:
                self.send_event(reply)
            except Exception:  # our bug: fields that do not encode; the client still hears
                log.exception("the reply to a request from %s could not be encoded", self.peer)
                reply = error_reply(reply.get("re"), INTERNAL)
                self.send_event(reply)
                follow_ups = []
        return reply, follow_ups

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
        self._engine.end(reason)
        self.pump()

    def check_idle(self, now: float) -> None:
        if self._engine.ending is None:
            self._engine.check_idle(now)
            if self._engine.ending is not None:
                self.pump()

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
