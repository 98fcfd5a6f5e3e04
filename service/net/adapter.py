"""One chat/1 session over some wire: the core every wire adapter shares, whatever its framing.

What runs when, and in which order, is the engine's (service/core/engine.py, sans-IO); this
class carries out its actions. The adapters are small subclasses that say how bytes become
decoded frames and how a session says goodbye: chat/1 over TCP (connection.py), one frame per
WebSocket message (web/websocket.py). No thread of its own. Which thread does what:
- the reactor reads and decodes, feeds the engine and carries out its actions (`pump`):
  adds `message`, `ack`, `say` and `read` to the round's batch for the writer, answers `ping`,
  hands serial requests to a worker and logins to the auth pool, sends refusals, and watches
  the socket for reading only while the engine says `reading`;
- the reactor answers pipelined requests after their commit (service/pipeline/answerer.py)
  and reports them (`pipelined_done`);
- a worker runs a serial request's handler and its follow-ups, and the end of the session
  (service/net/serial.py).
The engine belongs to the reactor: other threads change it only through `reactor.post()`
(a worker only reads whether the session is ending, to skip a request it would waste). This
is also the exception boundary: a request that fails unexpectedly is answered `internal` and
the connection stays up.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Sequence
from functools import partial
from typing import Any

from service.core.context import Context
from service.core.engine import (
    ADD_PIPELINED,
    ADD_WINDOWED,
    FINISH,
    FRAME_ERROR,
    JUDGE_LOGIN,
    REFUSE,
    RUN_INLINE,
    RUN_SERIAL,
    SessionEngine,
)
from service.core.hub import Live, RoomLive
from service.core.session import BYE_TEXTS, EndReason, SessionState, admit
from service.net.delivery import Delivery
from service.net.outbox import Outbox
from service.net.runtime import Runtime
from service.net.serial import SerialSide
from service.pipeline.items import KINDS, Ack, DirectMessage, Refused
from service.store.message_record import MessageRecord
from service.wire import events
from service.wire import requests as m
from service.wire.addresses import source_key
from service.wire.codec import encode
from service.wire.errors import INTERNAL, RequestError, RequestId, error_reply

log = logging.getLogger(__name__)


class SessionAdapter(SerialSide):
    def __init__(
        self,
        sock: socket.socket,
        address: tuple[Any, ...],
        runtime: Runtime,
        accepted_at: float | None = None,
        outbox: Outbox | None = None,
    ) -> None:
        config = runtime.services.config
        super().__init__(sock, address, runtime.reactor, outbox, config.outbox_limit_bytes)
        self.source = source_key(self.peer_host)  # what the per-address limits count
        self._runtime = runtime
        self.delivery = Delivery(self._outbox, lambda: self.request_end(EndReason.SLOW_CONSUMER))
        now = time.monotonic()
        self.state = SessionState(config.timeout_s, last_activity=now)
        self._engine = SessionEngine(
            self.state,
            runtime.guard,
            self.source,
            now,
            login_deadline=(accepted_at or now) + config.login_timeout_s,
            max_bad_frames=config.max_bad_frames,
            max_refused_logins=config.max_refused_logins,
        )
        # Set by a handler on its worker (logout), read on the reactor once it is done.
        self._end_after_reply: EndReason | None = None

    @property
    def can_private(self) -> bool:
        """Whether this session can take peer-to-peer chats (chat/1 precise point 16)."""
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

    # --- the reactor's side ----------------------------------------------------------------

    def start(self) -> None:
        config = self._runtime.services.config
        self.send_event(events.hello(config.server_banner, config.allow_signup))
        self._update_watch()

    def _wants_reading(self) -> bool:
        return self._engine.reading

    def _received_eof(self) -> None:
        self._engine.receive_eof()

    def _after_reading(self) -> None:
        self.pump()

    def on_failure(self) -> None:
        """Our own bug surfaced while reading or writing: end this connection only."""
        self.end(EndReason.DISCONNECTED)

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
                self._run_handler(self._context(), item)
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

    def _context(self) -> Context:
        return Context(self._runtime.services, self.state, self)

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

    def _say_goodbye(self, reason: EndReason) -> None:
        """On a worker, once the session has left: the last frame (`bye`), if there is one.
        A wire with its own closing words (a WebSocket's close frame) adds them here."""
        if reason.sends_bye:
            self._outbox.send_final(encode(events.bye(reason.value, BYE_TEXTS[reason])))

    def _on_closed(self) -> None:
        self._runtime.on_closed(self)
