"""One connection's chat/1 state, pure: who is logged in, what is allowed, when it idles out.

No sockets here: the connection feeds it requests and the clock, and asks it questions.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

from service.wire import requests as m
from service.wire.errors import ErrorCode, RequestError
from service.wire.private import CancelReason, StopReason

ALLOWED_BEFORE_LOGIN = frozenset({"login", "register", "ping"})  # chat/1 lifecycle step 2
KEEPS_IDLE = frozenset({"ping", "ack"})  # chat/1: these do not count as activity (`active` does)
# Handed to the writer without waiting: the connection reads on, a `message` is answered when
# its commit lands, an `ack` needs no answer. Any other request first waits for those, so each
# client still sees the effects of its requests in order.
PIPELINED_OPS = frozenset({"message", "ack", "say", "read"})  # say, read: chat/1 rooms
# Exempt from the request rate limit: paced by the in-flight window instead (`bench dm` sends
# hundreds per second per connection). `say` and `read` take a token: a say reaches a room.
WINDOWED_OPS = frozenset({"message", "ack"})
INLINE_OPS = frozenset({"ping"})  # answered at once by the reactor: no database, no waiting
AUTH_OPS = frozenset({"login", "register"})  # hash a password: their own bounded pool
# An operator may delete an account while it is logged in (chat-admin writes the database from
# another process). These requests first check that it still exists (one primary-key read on a
# worker) and end a deleted account's session; `message` learns it from its batch's own checks.
# `ping` and `ack` never reach a worker; they do not count as activity either, so a session of
# only those ends with the idle timeout. `logout` needs no check: it ends the session anyway.
CHECKS_ACCOUNT = frozenset(m.REQUEST_TYPES) - PIPELINED_OPS - INLINE_OPS - AUTH_OPS - {"logout"}


class EndReason(Enum):
    """Why a session ended; `bye` reasons are chat/1 wire words."""

    LOGOUT = "logout"  # the user asked
    TIMEOUT = "timeout"  # idle for the configured time
    SHUTDOWN = "shutdown"  # the server is stopping
    SLOW_CONSUMER = "slow_consumer"  # the client stopped reading its output
    PROTOCOL_ERROR = "protocol_error"  # an oversized frame, too many bad frames or refused logins
    DISCONNECTED = "disconnected"  # the connection dropped; no `bye` can be sent
    ACCOUNT_DELETED = "account_deleted"  # an operator deleted the account (precise point 17)
    KICKED = "kicked"  # an operator ended the user's sessions (`kick`, `passwd`): point 17
    REPLACED = "replaced"  # a login with `replace` took this session's place: point 17

    @property
    def sends_bye(self) -> bool:
        return self is not EndReason.DISCONNECTED

    @property
    def private_stopped_reason(self) -> StopReason:
        """What a private peer hears (chat/1 precise points 13 and 16)."""
        return _PEER_HEARS.get(self, StopReason.DISCONNECTED)

    @property
    def private_cancelled_reason(self) -> CancelReason:
        """What the addressee of this user's pending request hears (precise point 16)."""
        return _ADDRESSEE_HEARS.get(self, CancelReason.DISCONNECTED)


_PEER_HEARS = {
    EndReason.LOGOUT: StopReason.LOGOUT,
    EndReason.TIMEOUT: StopReason.TIMEOUT,
    EndReason.SHUTDOWN: StopReason.SHUTDOWN,
}
_ADDRESSEE_HEARS = {EndReason.LOGOUT: CancelReason.LOGOUT, EndReason.TIMEOUT: CancelReason.TIMEOUT}


BYE_TEXTS = {
    EndReason.LOGOUT: "Goodbye.",
    EndReason.TIMEOUT: "You were idle too long and have been logged out.",
    EndReason.SHUTDOWN: "The server is shutting down.",
    EndReason.SLOW_CONSUMER: "You were not reading your messages fast enough.",
    EndReason.PROTOCOL_ERROR: "Too many frames this server could not read, or too many "
    "refused logins.",
    EndReason.ACCOUNT_DELETED: "Your account has been deleted.",
    EndReason.KICKED: "An operator ended your session.",
    EndReason.REPLACED: "You logged in elsewhere, and that session took this one's place.",
}


@dataclass(slots=True)
class SessionState:
    timeout_s: float
    last_activity: float  # monotonic seconds of the last request that counts as activity
    user: str | None = None  # set once logged in; never changes after
    user_id: int | None = None  # the account's row id, for the message hot path
    # The account's session epoch at login: an operator's `kick` or `passwd` moves it, and the
    # server's watch ends the sessions whose epoch is older (service/core/account_watch.py).
    session_epoch: int = 0
    # The digest of the login token this session logged in with or was given (chat/1 "Staying
    # signed in"), so that `logout` with `forget` revokes it; None: it has none.
    token_digest: str | None = None
    # Whether this session can take peer-to-peer chats: set by its wire adapter (a TCP client
    # can listen; a web page or an IRC client cannot, chat/1 precise point 16).
    can_private: bool = False
    bad_frames: int = 0

    @property
    def logged_in(self) -> bool:
        return self.user is not None

    def may_run(self, op: str) -> bool:
        return self.logged_in or op in ALLOWED_BEFORE_LOGIN

    def note_request(self, op: str, now: float) -> None:
        if op not in KEEPS_IDLE:
            self.last_activity = now

    def idle_remaining(self, now: float) -> float:
        return self.last_activity + self.timeout_s - now

    def note_bad_frame(self, limit: int) -> bool:
        """Count a bad frame; True once there have been more than `limit`."""
        self.bad_frames += 1
        return self.bad_frames > limit


def admit(frame: dict[str, Any], state: SessionState, now: float) -> m.Request:
    """The request a frame asks for, checked in chat/1 precise point 1's order: unknown_op,
    then not_logged_in, then bad_request. Counts it as activity when it does."""
    op = m.op_name(frame)
    request_type = m.REQUEST_TYPES.get(op)
    if request_type is None:
        raise RequestError(ErrorCode.UNKNOWN_OP, f"This server does not know {op!r}.")
    if not state.may_run(op):
        raise RequestError(ErrorCode.NOT_LOGGED_IN, "Log in first.")
    request = m.parse_fields(request_type, frame)
    state.note_request(op, now)
    return request
