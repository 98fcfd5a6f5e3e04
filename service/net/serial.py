"""The worker threads' side of a session: a serial request, a login, a catch-up, the end.

Part of every session adapter (service/net/adapter.py, which drives the engine on the
reactor and hands these out). What runs here reports back only through `reactor.post()`:
the engine belongs to the reactor. This is also the exception boundary of what runs on a
worker: a request that fails unexpectedly is answered `internal`, a follow-up that fails
ends this session only.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from service.core.context import Context
from service.core.engine import COUNTED_REFUSALS, SessionEngine
from service.core.handlers.dispatch import answer_request, leave
from service.core.session import EndReason, SessionState
from service.net.delivery import Delivery
from service.net.runtime import Runtime
from service.net.socket_side import SocketSide
from service.wire.errors import INTERNAL, RequestError, error_reply

log = logging.getLogger(__name__)


class SerialSide(SocketSide):
    # Set by the session adapter (service/net/adapter.py) before anything here runs.
    _engine: SessionEngine
    _runtime: Runtime
    _end_after_reply: EndReason | None  # set by a handler (logout), read once it is done
    state: SessionState
    source: str
    delivery: Delivery

    # What the session adapter provides (on the reactor, or from any thread for the sends).
    def pump(self) -> None:
        raise NotImplementedError

    def request_end(self, reason: EndReason) -> None:
        raise NotImplementedError

    def send_event(self, event: dict[str, Any]) -> None:
        raise NotImplementedError

    def _refuse(self, frame: dict[str, Any], refusal: RequestError) -> None:
        raise NotImplementedError

    def _context(self) -> Context:
        raise NotImplementedError

    def _say_goodbye(self, reason: EndReason) -> None:
        raise NotImplementedError

    # --- requests ---------------------------------------------------------------------------

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

    # --- the end ----------------------------------------------------------------------------

    def _finish(self, reason: EndReason) -> None:
        """On a worker: offline, peers told, period closed; then the goodbye, then the close."""
        try:
            ctx = self._context()
            leave(ctx.services, ctx.state, ctx.link, reason)
        except Exception:
            log.exception("could not end the session of %s cleanly", self.peer)
        self._say_goodbye(reason)
        grace_s = self._runtime.services.config.shutdown_grace_s
        self._reactor.post(lambda: self._close_when_drained(time.monotonic() + grace_s))
