"""chat/1 error codes, and the one place a refusal becomes a wire reply.

A RequestError is a refusal the protocol defines (the peer asked for something it may not
have). Our own bugs are not RequestErrors: they propagate to the connection boundary, which
answers `internal`.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from service.wire.codec import json_string

RequestId = int | str | None


class ErrorCode(Enum):
    """Error codes of chat/1 replies and `error` events, valued by their wire words."""

    ALREADY_LOGGED_IN = "already_logged_in"  # this connection is logged in already
    LOCKED = "locked"  # too many wrong passwords; carries retry_after
    BAD_CREDENTIALS = "bad_credentials"  # wrong password or unknown user; carries attempts_left
    ONLINE_ELSEWHERE = "online_elsewhere"  # one login per user
    SIGNUP_CLOSED = "signup_closed"  # register while the server does not allow it
    USER_EXISTS = "user_exists"  # register with a taken name
    BAD_USERNAME = "bad_username"  # register with a name outside the username rule
    WEAK_PASSWORD = "weak_password"  # register with a password too short
    NO_SUCH_USER = "no_such_user"  # the named user does not exist
    SELF = "self"  # the request names its own sender
    BLOCKED = "blocked"  # the other user blocks you
    TOO_LONG = "too_long"  # text over the limit; never truncated
    ALREADY_BLOCKED = "already_blocked"  # block twice
    NOT_BLOCKED = "not_blocked"  # unblock without a block
    OFFLINE = "offline"  # startprivate to a user not online
    ALREADY_PRIVATE = "already_private"  # a session or pending request already exists
    NO_SUCH_REQUEST = "no_such_request"  # private_answer for no pending request of yours
    NO_PRIVATE_SESSION = "no_private_session"  # stopprivate without a session
    BAD_REQUEST = "bad_request"  # missing or ill-typed field
    NOT_LOGGED_IN = "not_logged_in"  # op needs a login
    UNKNOWN_OP = "unknown_op"  # op not in chat/1
    RATE_LIMITED = "rate_limited"  # too many requests
    INTERNAL = "internal"  # our fault; nothing was half-done
    BAD_ROOM_NAME = "bad_room_name"  # join with a name outside the room name rule
    TOO_MANY_ROOMS = "too_many_rooms"  # join past a user's limit of rooms
    NO_SUCH_ROOM = "no_such_room"  # the room does not exist (or its name is malformed)
    NOT_MEMBER = "not_member"  # the op needs membership of the room


class RequestError(Exception):
    """A refusal defined by chat/1, with a sentence meant to be shown to a person as is."""

    def __init__(self, code: ErrorCode, text: str, **extra: Any) -> None:
        super().__init__(text)
        self.code = code
        self.text = text
        self.extra = extra


INTERNAL = RequestError(ErrorCode.INTERNAL, "The server could not do that; nothing was changed.")


def too_long(limit: int) -> RequestError:
    """chat/1: longer text is refused, never truncated."""
    return RequestError(ErrorCode.TOO_LONG, f"A message may be at most {limit} characters.")


def error_reply(request_id: RequestId, error: RequestError) -> dict[str, Any]:
    """The only builder of `{"re": id, "ok": false, ...}` frames."""
    return {
        "re": request_id,
        "ok": False,
        "error": error.code.value,
        "text": error.text,
        **error.extra,
    }


def ok_reply(request_id: RequestId, fields: dict[str, Any]) -> dict[str, Any]:
    return {"re": request_id, "ok": True, **fields}


def message_ok(request_id: int | str, msg_id: int, delivered: bool) -> bytes:
    """The ok reply to `message`, encoded: the fast path of `encode(ok_reply(...))`, which it
    equals byte for byte (tests/unit/test_fast_encoding.py holds them equal); without a dict,
    because it is written once per direct message."""
    re = json_string(request_id) if isinstance(request_id, str) else f"{request_id:d}"
    flag = "true" if delivered else "false"
    return f'{{"re":{re},"ok":true,"msg_id":{msg_id:d},"delivered":{flag}}}\n'.encode()
