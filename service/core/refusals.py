"""The one table that turns the store's refusals into chat/1 errors.

The store answers in the domain (service/store/outcomes.py: Refusal); what a client reads is
decided here, for the handlers (block, rooms, private) and the pipeline (message, say, read)
alike. `name` is whatever the request named: the other user, or the room.
"""

from __future__ import annotations

from service.store.outcomes import Refusal
from service.wire.errors import ErrorCode, RequestError, too_long
from service.wire.rooms import MAX_ROOMS_PER_USER

_ERRORS: dict[Refusal, tuple[ErrorCode, str]] = {
    Refusal.ACCOUNT_GONE: (ErrorCode.NOT_LOGGED_IN, "Your account has been deleted."),
    Refusal.NO_SUCH_USER: (ErrorCode.NO_SUCH_USER, "There is no user {name}."),
    Refusal.SELF: (ErrorCode.SELF, "You cannot {self_action} yourself."),
    Refusal.BLOCKED: (ErrorCode.BLOCKED, "{name} has blocked you."),
    Refusal.ALREADY_BLOCKED: (ErrorCode.ALREADY_BLOCKED, "You already block {name}."),
    Refusal.NOT_BLOCKED: (ErrorCode.NOT_BLOCKED, "You do not block {name}."),
    Refusal.NO_SUCH_ROOM: (ErrorCode.NO_SUCH_ROOM, "There is no room {name}."),
    Refusal.NOT_MEMBER: (ErrorCode.NOT_MEMBER, "You are not in {name}; join it first."),
    Refusal.TOO_MANY_ROOMS: (
        ErrorCode.TOO_MANY_ROOMS,
        f"You are in {MAX_ROOMS_PER_USER} rooms, the most one may be in; leave one first.",
    ),
}
# What a request naming its own user would have done, by op (chat/1 `self`).
_SELF_ACTIONS = {
    "message": "send a message to",
    "block": "block or unblock",
    "unblock": "block or unblock",
    "startprivate": "start a private chat with",
    "dm_history": "read a conversation with",
    "search": "search your messages with",
}


def refusal_error(refusal: Refusal, op: str, name: str, max_chars: int = 0) -> RequestError:
    """chat/1's error for `op` refused with `refusal`; `max_chars` for TOO_LONG."""
    if refusal is Refusal.TOO_LONG:
        return too_long(max_chars)
    code, text = _ERRORS[refusal]
    return RequestError(code, text.format(name=name, self_action=_SELF_ACTIONS.get(op, "")))
