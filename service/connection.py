"""One client connection: its reader thread, its outbox, and the exception boundary.

The reader thread owns the session: it decodes frames, runs their handlers one at a time, and
ends the session however it ends. Other threads only ever `deliver_nowait()` to it (never
blocking) or `request_end()` it. Live deliveries are held back during a login so the backlog
of stored messages goes out first, in order.
"""

from __future__ import annotations

import contextlib
import logging
import select
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import wait as wait_futures
from typing import Any

from service import messages as m
from service.context import Context, Pending, Services
from service.errors import ErrorCode, RequestError, RequestId, error_reply, ok_reply
from service.handlers import HANDLERS, leave
from service.outbox import Flusher, Outbox
from service.protocol import FrameDecoder, FrameError, encode
from service.session import BYE_TEXTS, PIPELINED_OPS, EndReason, SessionState

log = logging.getLogger(__name__)

RECV_BYTES = 65_536
ACK_WAIT_S = 5.0  # at the end, acks already received are committed before the user leaves
PACED_WAIT_S = 10.0  # a backlog waits this long for the client to read before giving up
MAX_IN_FLIGHT = 64  # pipelined requests of one connection awaiting their commit
INTERNAL = RequestError(ErrorCode.INTERNAL, "The server could not do that; nothing was changed.")


class Connection:
    def __init__(
        self,
        sock: socket.socket,
        address: tuple[Any, ...],
        services: Services,
        flusher: Flusher,
        on_closed: Callable[[Connection], None],
    ) -> None:
        sock.setblocking(False)
        self._sock = sock
        self._peer_host = str(address[0])
        self.peer = f"{address[0]}:{address[1]}"
        self._services = services
        self._config = services.config
        self._outbox = Outbox(sock, flusher, self._config.outbox_limit_bytes)
        self._decoder = FrameDecoder()
        self._state = SessionState(self._config.timeout_s, last_activity=time.monotonic())
        self._ending: EndReason | None = None  # set once; by this thread or request_end()
        self._end_after_reply: EndReason | None = None
        self._live_lock = threading.Lock()
        self._held: list[tuple[int | None, bytes]] | None = None  # (msg_id, frame) during login
        self._held_bytes = 0  # bounded like the outbox
        self._backlog_last_id = 0  # messages up to this id came in the backlog: not again live
        self._acks: list[Future[bool]] = []
        self._in_flight = 0  # pipelined requests whose reply is not sent yet
        self._in_flight_done = threading.Condition()
        self._on_closed = on_closed
        self._thread = threading.Thread(target=self._run, name=f"conn {self.peer}", daemon=True)

    @property
    def peer_host(self) -> str:
        return self._peer_host

    def owns(self, sock: socket.socket) -> bool:
        return self._sock is sock

    def start(self) -> None:
        self._thread.start()

    def join(self, timeout_s: float) -> None:
        self._thread.join(timeout_s)

    def request_end(self, reason: EndReason) -> None:
        """Ask the reader thread to end this session (any thread; returns at once)."""
        if self._ending is None:
            self._ending = reason
        try:
            self._sock.shutdown(socket.SHUT_RD)  # wakes the reader's poll with EOF
        except OSError:
            pass

    # --- Link: what handlers and the hub may ask of this connection --------------------------

    def send_event(self, event: dict[str, Any]) -> None:
        self._send(event)

    def deliver_nowait(self, event: dict[str, Any]) -> bool:
        data, msg_id = encode(event), _message_id(event)
        with self._live_lock:
            if self._held is not None:
                if self._held_bytes + len(data) > self._config.outbox_limit_bytes:
                    self.request_end(EndReason.SLOW_CONSUMER)
                    return False
                self._held.append((msg_id, data))
                self._held_bytes += len(data)
                return True
        if self._in_backlog(msg_id):
            return True  # the backlog carried it already
        return self._send_bytes(data)

    def hold_live(self) -> None:
        with self._live_lock:
            self._held, self._held_bytes = [], 0

    def release_live(self, backlog_last_id: int) -> None:
        """Send what was held, in order, then deliver live. Deliveries that arrive meanwhile
        join the queue; the waiting for room happens outside the lock, so no sender waits."""
        self._backlog_last_id = backlog_last_id
        while True:
            with self._live_lock:
                batch = self._held or []
                self._held, self._held_bytes = ([], 0) if batch else (None, 0)
            if not batch:
                return
            for msg_id, data in batch:
                if not self._in_backlog(msg_id) and not self._send_paced_bytes(data):
                    with self._live_lock:
                        self._held = None
                    return

    def _in_backlog(self, msg_id: int | None) -> bool:
        return msg_id is not None and msg_id <= self._backlog_last_id

    def send_paced(self, event: dict[str, Any]) -> bool:
        """Send, waiting while the outbox is full: for a long backlog to a client that reads.
        False (and the session ends as a slow consumer) if it does not drain in time."""
        return self._send_paced_bytes(encode(event))

    def _send_paced_bytes(self, data: bytes) -> bool:
        if self._outbox.send_waiting(data, PACED_WAIT_S):
            return True
        self.request_end(EndReason.SLOW_CONSUMER)
        return False

    def track_ack(self, done: Future[bool]) -> None:
        self._acks = [ack for ack in self._acks if not ack.done()]
        self._acks.append(done)

    def end_after_reply(self, reason: EndReason) -> None:
        self._end_after_reply = reason

    def _send(self, frame: dict[str, Any]) -> bool:
        return self._send_bytes(encode(frame))

    def _send_bytes(self, data: bytes) -> bool:
        if self._outbox.send_nowait(data):
            return True
        if self._outbox.overflowed:
            self.request_end(EndReason.SLOW_CONSUMER)
        return False

    # --- the reader thread -------------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._send(self._hello())
            self._read_until_end()
        except Exception:
            log.exception("connection %s failed; closing it", self.peer)
            self._ending = self._ending or EndReason.DISCONNECTED
        finally:
            self._finish()

    def _hello(self) -> dict[str, Any]:
        return {
            "ev": "hello",
            "proto": "chat/1",
            "server": self._config.server_banner,
            "signup": self._config.allow_signup,
        }

    def _read_until_end(self) -> None:
        poller = select.poll()
        poller.register(self._sock, select.POLLIN)
        while self._ending is None:
            remaining_s = self._state.idle_remaining(time.monotonic())
            if remaining_s <= 0:
                self._ending = EndReason.TIMEOUT
                return
            if not poller.poll(max(1, int(remaining_s * 1000) + 1)):
                continue
            try:
                data = self._sock.recv(RECV_BYTES)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data:
                self._ending = self._ending or EndReason.DISCONNECTED
                return
            for item in self._decoder.feed(data):
                if self._ending is not None:
                    return
                if isinstance(item, FrameError):
                    self._on_frame_error(item)
                else:
                    self._on_request(item)

    def _on_frame_error(self, error: FrameError) -> None:
        self._send({"ev": "error", "error": error.problem.value, "text": error.text})
        if error.is_fatal or self._state.note_bad_frame(self._config.max_bad_frames):
            self._ending = EndReason.PROTOCOL_ERROR  # chat/1 precise point 8

    def _on_request(self, frame: dict[str, Any]) -> None:
        wants_reply = "id" in frame
        request_id: int | str | None = None
        ctx = Context(self._services, self._state, self)
        op = frame.get("op")
        if not (isinstance(op, str) and op in PIPELINED_OPS):
            self._wait_in_flight()  # replies and their effects stay in request order
        elif self._in_flight >= MAX_IN_FLIGHT:
            self._wait_in_flight(below=MAX_IN_FLIGHT)  # one client cannot fill the writer
        try:
            request_id = m.request_id(frame)
            outcome = self._dispatch(ctx, frame)
        except Exception as error:
            self._complete(ctx, wants_reply, request_id, error)
            return
        if isinstance(outcome, Pending):
            with self._in_flight_done:
                self._in_flight += 1
            outcome.future.add_done_callback(
                lambda done: self._complete_pending(ctx, wants_reply, request_id, outcome, done)
            )
            return
        self._complete(ctx, wants_reply, request_id, outcome)
        if self._end_after_reply is not None:
            self._ending = self._end_after_reply

    def _complete_pending(
        self,
        ctx: Context,
        wants_reply: bool,
        request_id: RequestId,
        pending: Pending,
        done: Future[Any],
    ) -> None:
        """Runs on the writer thread once the commit landed (or failed)."""
        try:
            error = done.exception()
            outcome = pending.then(done.result()) if error is None else error
        except Exception as failure:
            outcome = failure
        try:
            self._complete(ctx, wants_reply, request_id, outcome)
        finally:
            with self._in_flight_done:
                self._in_flight -= 1
                self._in_flight_done.notify_all()

    def _complete(
        self,
        ctx: Context,
        wants_reply: bool,
        request_id: RequestId,
        outcome: dict[str, Any] | BaseException,
    ) -> None:
        """Reply (when an id asked for one), then run the request's follow-ups."""
        if isinstance(outcome, RequestError):
            reply = error_reply(request_id, outcome)
        elif isinstance(outcome, BaseException):
            log.error("request from %s failed", self.peer, exc_info=outcome)
            reply = error_reply(request_id, INTERNAL)
        else:
            reply = ok_reply(request_id, outcome)
        if wants_reply:
            self._send(reply)
        if reply["ok"]:
            for follow_up in ctx.follow_ups:
                follow_up()

    def _wait_in_flight(self, timeout_s: float | None = None, below: int = 1) -> None:
        with self._in_flight_done:
            self._in_flight_done.wait_for(lambda: self._in_flight < below, timeout_s)

    def _dispatch(self, ctx: Context, frame: dict[str, Any]) -> dict[str, Any] | Pending:
        """chat/1 precise point 1: unknown_op, then not_logged_in, then bad_request."""
        op = m.op_name(frame)
        request_type = m.REQUEST_TYPES.get(op)
        if request_type is None:
            raise RequestError(ErrorCode.UNKNOWN_OP, f"This server does not know {op!r}.")
        if not self._state.may_run(op):
            raise RequestError(ErrorCode.NOT_LOGGED_IN, "Log in first.")
        request = m.parse_fields(request_type, frame)
        self._state.note_request(op, time.monotonic())
        return HANDLERS[op](ctx, request)

    def _finish(self) -> None:
        reason = self._ending or EndReason.DISCONNECTED
        try:
            self._wait_in_flight(ACK_WAIT_S)
            wait_futures(self._acks, timeout=ACK_WAIT_S)
            leave(self._services, self._state, self, reason)
        except Exception:
            log.exception("could not end the session of %s cleanly", self.peer)
        if reason.sends_bye:
            bye = {"ev": "bye", "reason": reason.value, "text": BYE_TEXTS[reason]}
            self._outbox.send_final(encode(bye))
            self._outbox.wait_drained(self._config.shutdown_grace_s)
        self._outbox.close()
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()
        self._on_closed(self)


def _message_id(event: dict[str, Any]) -> int | None:
    msg_id = event.get("msg_id") if event.get("ev") == "message" else None
    return msg_id if isinstance(msg_id, int) else None
