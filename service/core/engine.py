"""One session's order of work, sans-IO: decoded frames, completions and the clock in, actions out.

The rules every wire adapter must keep, in one place, so a TCP, WebSocket or IRC adapter reuses
them unchanged (the model is h2's state machine; the h11-style loop is `next_action`):
- requests start in arrival order. `message` and `ack` (WINDOWED_OPS) go into the round's batch
  at once, up to MAX_IN_FLIGHT awaiting their commit; `say` and `read` too, after a token from
  the request bucket. Any other request waits until none is in flight, then takes a token and
  runs: `ping` inline, `login`/`register` (before a login) in the auth pool, the rest on a
  worker, one at a time. So each client sees the effects of its requests in order, and a
  refusal (`rate_limited`) never overtakes the replies of the requests before it;
- past MAX_WAITING decoded requests the adapter stops reading (`reading`) until they drain;
- a session ends (`end`, or the peer's last byte once all it sent is answered, or the idle
  timeout, the login deadline, too many bad frames or counted refused logins); no request
  starts after that, and it finishes (FINISH, once) only when no lane is busy.

Nothing here reads a socket, starts a thread or reads the clock: every `now` is the caller's
(monotonic seconds). The adapter calls it from one thread (the reactor); what workers finish it
reports back through the reactor. Cheap by design: `message`/`ack` are most of the traffic, and
a run of them is one action (ADD_WINDOWED), allocating nothing per frame.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from enum import Enum
from typing import Any

from service.core.session import (
    AUTH_OPS,
    INLINE_OPS,
    PIPELINED_OPS,
    WINDOWED_OPS,
    EndReason,
    SessionState,
)
from service.limits.guard import Guard, Kind
from service.wire.codec import Decoded, FrameError
from service.wire.errors import ErrorCode, RequestError

MAX_IN_FLIGHT = 64  # pipelined requests of one session awaiting their commit
MAX_WAITING = 256  # decoded requests waiting their turn before the adapter stops reading
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


class Do(Enum):
    """What the adapter is to do with an action `(kind, item, detail)`."""

    ADD_WINDOWED = "add_windowed"  # (frames, None): messages/acks into the round, see below
    ADD_PIPELINED = "add_pipelined"  # (frame, op): a say/read into the round; pipelined_done
    RUN_INLINE = "run_inline"  # (frame, None): answer it now (ping)
    RUN_SERIAL = "run_serial"  # (frame, None): on a worker; serial_done after
    JUDGE_LOGIN = "judge_login"  # (frame, suspect): to the auth pool; serial_done after
    REFUSE = "refuse"  # (frame, RequestError): answer it with the error, run nothing
    FRAME_ERROR = "frame_error"  # (FrameError, None): send the `error` event
    FINISH = "finish"  # (None, EndReason): leave, say `bye`, close; the last action


# Module names for the kinds: `kind is ADD_WINDOWED` is one global lookup on the hot path.
ADD_WINDOWED, ADD_PIPELINED = Do.ADD_WINDOWED, Do.ADD_PIPELINED
RUN_INLINE, RUN_SERIAL, JUDGE_LOGIN = Do.RUN_INLINE, Do.RUN_SERIAL, Do.JUDGE_LOGIN
REFUSE, FRAME_ERROR, FINISH = Do.REFUSE, Do.FRAME_ERROR, Do.FINISH
Action = tuple[Do, Any, Any]  # (kind, item, detail) as Do's members say
# ADD_WINDOWED hands out a run of consecutive `message`/`ack` frames at once, in a list the
# engine reuses: valid until the next call of next_action. One action per run, not per frame,
# is what keeps the engine off the cost of the hot path.


class SessionEngine:
    """The scheduling state of one session. `source` is what the per-address limits count
    (service.wire.addresses.source_key); `guard` is consulted for the request bucket and the
    login limits, always with the caller's `now`."""

    def __init__(
        self,
        state: SessionState,
        guard: Guard,
        source: str,
        now: float,
        *,
        login_deadline: float,
        max_bad_frames: int,
        max_refused_logins: int,
    ) -> None:
        self.state = state
        self._guard = guard
        self._source = source
        self._requests = guard.request_bucket(now)  # None: requests are not limited
        self._login_deadline = login_deadline
        self._max_bad_frames = max_bad_frames
        self._max_refused_logins = max_refused_logins
        self._refused_logins = 0  # logins and registers refused on this session, counted
        self._waiting: deque[Decoded] = deque()
        self._in_flight = 0  # pipelined requests in the round, not yet answered
        self._busy = False  # a serial request (or a login) runs
        self._ending: EndReason | None = None
        self._eof = False  # the peer sent its last byte (or the transport broke)
        self._finishing = False  # FINISH was handed out
        self._run: list[dict[str, Any]] = []  # ADD_WINDOWED's frames, reused

    # --- what the adapter reads --------------------------------------------------------------

    @property
    def reading(self) -> bool:
        """Whether the adapter should read more from the peer now."""
        return self._ending is None and not self._eof and len(self._waiting) < MAX_WAITING

    @property
    def ending(self) -> EndReason | None:
        return self._ending

    @property
    def in_flight(self) -> int:
        return self._in_flight

    @property
    def busy(self) -> bool:
        return self._busy

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    # --- what the adapter feeds ----------------------------------------------------------------

    def receive(self, items: Iterable[Decoded]) -> None:
        """Decoded frames (and frame errors), in the order the peer sent them."""
        self._waiting.extend(items)

    def receive_eof(self) -> None:
        """The peer is done sending: what it sent is answered, then the session ends."""
        self._eof = True

    def pipelined_done(self, count: int) -> bool:
        """`count` requests of the round were answered; whether next_action may have work."""
        self._in_flight -= count
        assert self._in_flight >= 0, "answered more pipelined requests than were added"
        return bool(self._waiting) or self._eof or self._ending is not None

    def answered_at_once(self) -> None:
        """An ADD action's request was refused at once (admission) and never reached the
        round: it is in flight no more. The adapter calls it inside its loop over
        next_action, which goes on anyway, so nothing else is needed."""
        self._in_flight -= 1
        assert self._in_flight >= 0, "answered more than was handed out"

    def serial_done(self, end_after: EndReason | None = None) -> None:
        """A RUN_SERIAL or JUDGE_LOGIN finished (its reply and follow-ups are out);
        `end_after`: the handler asked for the session to end after its reply (logout)."""
        self._busy = False
        if end_after is not None:
            self.end(end_after)

    def login_not_queued(self, now: float) -> RequestError:
        """The auth pool had no room for a JUDGE_LOGIN: the refusal to answer it with."""
        self._busy = False
        return self._guard.login_not_queued(self._source, now)

    def login_refused(self) -> None:
        """A login or register was refused for its own sake (COUNTED_REFUSALS): past
        --max-refused-logins of them the session ends (`bye protocol_error`), so one session
        cannot make the server judge passwords as fast as it can send them."""
        if self.state.logged_in:
            return
        self._refused_logins += 1
        if self._refused_logins >= self._max_refused_logins:
            self.end(EndReason.PROTOCOL_ERROR)

    def end(self, reason: EndReason) -> None:
        """Stop taking requests (the first reason wins); FINISH follows once none runs."""
        if self._ending is None:
            self._ending = reason
            self._waiting.clear()

    def check_idle(self, now: float) -> None:
        """End the session if it idled too long, or did not log in within the deadline."""
        if self._ending is not None:
            return
        if self.state.idle_remaining(now) <= 0:
            self.end(EndReason.TIMEOUT)
        elif not self.state.logged_in and now >= self._login_deadline and not self._busy:
            source = self._source
            self._guard.note(Kind.LOGIN_TIMEOUT, source, now, f"closed connections from "
                             f"{source} that did not log in within the login deadline "
                             "(--login-timeout)")  # fmt: skip
            self.end(EndReason.TIMEOUT)

    # --- what the adapter is to do -------------------------------------------------------------

    def next_action(self, now: float) -> Action | None:
        """The next thing to do, or None until more is fed. Call until None."""
        waiting, run = self._waiting, self._run
        run.clear()
        while waiting and self._ending is None and not self._busy:
            item = waiting[0]
            if isinstance(item, FrameError):  # not a reply: it waits for nothing in flight
                if run:
                    break  # the run first
                waiting.popleft()
                if item.is_fatal or self.state.note_bad_frame(self._max_bad_frames):
                    self.end(EndReason.PROTOCOL_ERROR)  # chat/1 precise point 8
                return (FRAME_ERROR, item, None)
            op = item.get("op")
            if not isinstance(op, str):
                op = ""  # answered bad_request in turn, like any request that is not ours
            if op in PIPELINED_OPS:
                if self._in_flight >= MAX_IN_FLIGHT:
                    break
                if op in WINDOWED_OPS:  # message, ack: paced by the window alone
                    waiting.popleft()
                    self._in_flight += 1
                    run.append(item)
                    continue
                if run:
                    break  # the run first
                bucket = self._requests
                if self._in_flight and bucket is not None and not bucket.has_token(now):
                    break  # its refusal must not overtake the replies before it
                waiting.popleft()
                refusal = self._over_rate(now)
                if refusal is not None:
                    return (REFUSE, item, refusal)
                self._in_flight += 1  # say, read: a say reaches a whole room
                return (ADD_PIPELINED, item, op)
            if self._in_flight:  # (so also when the run is not empty)
                break  # its reply must not overtake those of the requests before it
            waiting.popleft()
            refusal = self._over_rate(now)
            if refusal is not None:
                return (REFUSE, item, refusal)
            if op in INLINE_OPS:
                return (RUN_INLINE, item, None)
            if op in AUTH_OPS and not self.state.logged_in:
                return self._start_login(item, now)
            self._busy = True
            return (RUN_SERIAL, item, None)
        if run:
            return (ADD_WINDOWED, run, None)
        if self._eof and self._ending is None and not (waiting or self._busy or self._in_flight):
            self._ending = EndReason.DISCONNECTED
        if self._ending is None or self._busy or self._in_flight or self._finishing:
            return None
        self._finishing = True
        return (FINISH, None, self._ending)

    def _over_rate(self, now: float) -> RequestError | None:
        """Take a token from the request bucket; without one, the `rate_limited` refusal
        (the session carries on; service/limits/guard.py)."""
        bucket = self._requests
        if bucket is None or bucket.try_take(now):
            return None
        return self._guard.request_refusal(bucket, self._source, now)

    def _start_login(self, frame: dict[str, Any], now: float) -> Action:
        """Refused before any hashing when its address has failed too often (not counted:
        the server's condition), else judged in the auth pool, in the suspects' lane if its
        address failed lately (service/limits/auth_pool.py)."""
        refusal = self._guard.admit_login(self._source, now)
        if refusal is not None:
            return (REFUSE, frame, refusal)
        self._busy = True
        return (JUDGE_LOGIN, frame, self._guard.is_suspect(self._source, now))
