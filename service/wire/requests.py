"""chat/1 requests as typed values: one frozen dataclass per op, named after its wire word.

Parsing is table-driven and pure. It enforces types only (`bad_request`); what a value means
(does the user exist, is the text too long) is for the handlers. Unknown fields are ignored,
as chat/1 asks for forward compatibility.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any, ClassVar

from service.wire.addresses import is_peer_address
from service.wire.dm_history import DM_HISTORY_MAX, is_valid_dm_history_limit
from service.wire.errors import ErrorCode, RequestError, RequestId
from service.wire.paging import NAMES_LIMIT_MAX, ROOMS_LIMIT_MAX, is_valid_limit
from service.wire.rooms import HISTORY_MAX, is_valid_history_limit
from service.wire.search import LIMIT_MAX as SEARCH_LIMIT_MAX
from service.wire.search import QUERY_MAX_CHARS, is_valid_query
from service.wire.search import is_valid_limit as is_valid_search_limit

MAX_NONCE_CHARS = 128  # an idempotency key, not a payload


@dataclass(frozen=True, slots=True)
class Request:
    op: ClassVar[str]


@dataclass(frozen=True, slots=True)
class Login(Request):
    """`password`, or `token` instead (chat/1 "Staying signed in"): exactly one of them."""

    op = "login"
    user: str
    password: str | None = None
    replace: bool | None = None  # chat/1 "Several sessions": take the oldest session's place
    token: str | None = None  # a token a `remember` login was given
    remember: bool | None = None  # the ok reply carries a new token (implied with `token`)


@dataclass(frozen=True, slots=True)
class Register(Request):
    op = "register"
    user: str
    password: str
    remember: bool | None = None  # as for `login`


@dataclass(frozen=True, slots=True)
class Message(Request):
    op = "message"
    to: str
    text: str
    nonce: str | None = None


@dataclass(frozen=True, slots=True)
class Broadcast(Request):
    op = "broadcast"
    text: str


@dataclass(frozen=True, slots=True)
class WhoElse(Request):
    op = "whoelse"
    after: str | None = None  # chat/1 precise point 18: list names after this one
    limit: int | None = None  # None: NAMES_LIMIT_MAX (service/wire/paging.py)


@dataclass(frozen=True, slots=True)
class WhoElseSince(Request):
    op = "whoelsesince"
    seconds: int
    after: str | None = None
    limit: int | None = None  # None: NAMES_LIMIT_MAX


@dataclass(frozen=True, slots=True)
class Block(Request):
    op = "block"
    user: str


@dataclass(frozen=True, slots=True)
class Unblock(Request):
    op = "unblock"
    user: str


@dataclass(frozen=True, slots=True)
class BlockList(Request):
    op = "blocklist"


@dataclass(frozen=True, slots=True)
class Ack(Request):
    op = "ack"
    msg_id: int


@dataclass(frozen=True, slots=True)
class StartPrivate(Request):
    op = "startprivate"
    user: str


@dataclass(frozen=True, slots=True)
class PrivateAnswer(Request):
    op = "private_answer"
    request: str
    accept: bool
    host: str | None = None
    port: int | None = None


@dataclass(frozen=True, slots=True)
class StopPrivate(Request):
    op = "stopprivate"
    user: str


@dataclass(frozen=True, slots=True)
class Logout(Request):
    op = "logout"
    forget: bool | None = None  # revoke the token this session logged in with or was given


@dataclass(frozen=True, slots=True)
class Ping(Request):
    op = "ping"


@dataclass(frozen=True, slots=True)
class Active(Request):
    """The user did something the server does not see, such as a peer-to-peer message
    (chat/1 precise point 15): it counts as activity for the inactivity timeout."""

    op = "active"


REQUEST_TYPES: dict[str, type[Request]] = {
    cls.op: cls
    for cls in (
        Login, Register, Message, Broadcast, WhoElse, WhoElseSince, Block, Unblock, BlockList,
        Ack, StartPrivate, PrivateAnswer, StopPrivate, Logout, Ping, Active,
    )
}  # fmt: skip


# --- rooms (chat/1 "Rooms", feature `rooms`) ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class Join(Request):
    op = "join"
    room: str


@dataclass(frozen=True, slots=True)
class Leave(Request):
    op = "leave"
    room: str


@dataclass(frozen=True, slots=True)
class Say(Request):
    op = "say"
    room: str
    text: str
    nonce: str | None = None


@dataclass(frozen=True, slots=True)
class Read(Request):
    op = "read"
    room: str
    seq: int


@dataclass(frozen=True, slots=True)
class History(Request):
    op = "history"
    room: str
    before: int | None = None
    limit: int | None = None  # None: HISTORY_DEFAULT (service/wire/rooms.py)


@dataclass(frozen=True, slots=True)
class Rooms(Request):
    op = "rooms"
    after: str | None = None
    limit: int | None = None  # None: ROOMS_LIMIT_MAX


@dataclass(frozen=True, slots=True)
class Members(Request):
    op = "members"
    room: str
    after: str | None = None
    limit: int | None = None  # None: NAMES_LIMIT_MAX


REQUEST_TYPES.update({cls.op: cls for cls in (Join, Leave, Say, Read, History, Rooms, Members)})


# --- direct-message history (chat/1 "Direct-message history", feature `dm_history`) ----------


@dataclass(frozen=True, slots=True)
class DmHistory(Request):
    op = "dm_history"
    with_: str  # the wire's `with` (a Python keyword): a field's trailing `_` is not on the wire
    before: int | None = None  # a msg_id: only older messages
    limit: int | None = None  # None: DM_HISTORY_DEFAULT (service/wire/dm_history.py)


@dataclass(frozen=True, slots=True)
class Conversations(Request):
    op = "conversations"


REQUEST_TYPES.update({cls.op: cls for cls in (DmHistory, Conversations)})


# --- search (chat/1 "Search", feature `search`) ------------------------------------------------


@dataclass(frozen=True, slots=True)
class Search(Request):
    op = "search"
    query: str
    limit: int | None = None  # None: LIMIT_DEFAULT (service/wire/search.py)
    room: str | None = None  # search only this room
    with_: str | None = None  # search only the direct messages with this user (wire `with`)


REQUEST_TYPES[Search.op] = Search


def _bad(text: str) -> RequestError:
    return RequestError(ErrorCode.BAD_REQUEST, text)


def request_id(frame: dict[str, Any]) -> RequestId:
    """The frame's `id`: an integer or a string, or absent (no reply wanted)."""
    if not has_valid_id(frame):
        raise _bad("A request id must be an integer or a string.")
    value: RequestId = frame.get("id")
    return value


def has_valid_id(frame: dict[str, Any]) -> bool:
    """Whether the frame's `id` is one (or absent). Exact types, since JSON makes no subclasses
    but bool is one of int: cheaper than isinstance, and asked once per frame."""
    value = frame.get("id")
    return type(value) is int or type(value) is str or "id" not in frame


def op_name(frame: dict[str, Any]) -> str:
    op = frame.get("op")
    if not isinstance(op, str):
        raise _bad("A request needs an op, a string naming what to do.")
    return op


def _is_unicode(text: str) -> bool:
    """JSON \\u escapes can smuggle lone surrogates, which no UTF-8 store can keep."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_str(name: str, value: object) -> str:
    if not isinstance(value, str):
        raise _bad(f"{name} must be a string.")
    if not _is_unicode(value) or "\x00" in value:  # PostgreSQL cannot store NUL in text
        raise _bad(f"{name} is not valid Unicode text.")
    return value


MAX_INT = 2**63 - 1  # what databases store; larger integers are refused, not overflowed


# What each integer field must be, said once for a wrong type and a wrong value alike: the
# text goes to a person as is (chat/1 "the text of an error is meant to be shown").
_INT_RULES = {
    "seconds": "seconds must be a whole number of seconds, at least 1.",
    "msg_id": "msg_id must be the number of a message you received.",
    "port": "port must be a whole number from 1 to 65535.",
}


def _int_rule(name: str) -> str:
    return _INT_RULES.get(name, f"{name} must be a whole number.")


def _check_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _bad(_int_rule(name))
    if not -MAX_INT <= value <= MAX_INT:
        raise _bad(_int_rule(name))
    return value


def _check_bool(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise _bad(f"{name} must be true or false.")
    return value


_CHECKS = {"str": _check_str, "int": _check_int, "bool": _check_bool}
Check = Callable[[str, object], object]


def _field_checks(cls: type[Request]) -> tuple[tuple[str, str, bool, Check], ...]:
    """(field, wire name, optional, check) per field, read off the dataclass annotations; a
    wire name that is a Python keyword (`with`) is its field's name less a trailing `_`."""
    specs = []
    for spec in fields(cls):
        annotation = str(spec.type)
        optional = annotation.endswith(" | None")
        check = _CHECKS[annotation.removesuffix(" | None")]
        specs.append((spec.name, spec.name.removesuffix("_"), optional, check))
    return tuple(specs)


_FIELD_CHECKS = {cls: _field_checks(cls) for cls in REQUEST_TYPES.values()}  # built once


def parse_fields(cls: type[Request], frame: dict[str, Any]) -> Request:
    """Build the request dataclass, or raise bad_request naming the offending field."""
    fast = _FAST_PARSERS.get(cls)
    if fast is not None and (request := fast(frame)) is not None:
        return request
    return _parse_any(cls, frame)


def plain_message(frame: dict[str, Any]) -> tuple[str, str, str | None] | None:
    """A `message`'s (to, text, nonce) when its fields need no further checks, as almost
    every one (it is most of the traffic); None sends anything unusual to parse_fields, so
    the errors are the same."""
    to, text, nonce = frame.get("to"), frame.get("text"), frame.get("nonce")
    if not (isinstance(to, str) and isinstance(text, str)):
        return None
    if nonce is not None and not (
        isinstance(nonce, str) and len(nonce) <= MAX_NONCE_CHARS and nonce.isascii()
        and "\x00" not in nonce
    ):  # fmt: skip
        return None
    plain = to.isascii() and "\x00" not in to and "\x00" not in text
    if plain and (text.isascii() or _is_unicode(text)):
        return to, text, nonce
    return None


def plain_ack(frame: dict[str, Any]) -> int | None:
    """An `ack`'s msg_id when it needs no further checks (see plain_message)."""
    msg_id = frame.get("msg_id")
    if type(msg_id) is int and 0 <= msg_id <= MAX_INT:
        return msg_id
    return None


def _parse_message_fast(frame: dict[str, Any]) -> Message | None:
    fields = plain_message(frame)
    return None if fields is None else Message(*fields)


def _parse_ack_fast(frame: dict[str, Any]) -> Ack | None:
    msg_id = plain_ack(frame)
    return None if msg_id is None else Ack(msg_id)


_FAST_PARSERS: dict[type[Request], Callable[[dict[str, Any]], Request | None]] = {
    Message: _parse_message_fast,
    Ack: _parse_ack_fast,
}


def _parse_any(cls: type[Request], frame: dict[str, Any]) -> Request:
    values: dict[str, object] = {}
    for name, wire_name, optional, check in _FIELD_CHECKS[cls]:
        value = frame.get(wire_name)
        if value is None:
            if not optional:
                raise _bad(f"This request needs {wire_name}.")
            continue
        values[name] = check(wire_name, value)
    request = cls(**values)
    _check_ranges(request)
    return request


def _check_ranges(request: Request) -> None:
    match request:
        case WhoElseSince(seconds=seconds) if seconds < 1:
            raise _bad(_int_rule("seconds"))
        case Message(nonce=nonce) | Say(nonce=nonce) if (
            nonce is not None and len(nonce) > MAX_NONCE_CHARS
        ):
            raise _bad(f"nonce may be at most {MAX_NONCE_CHARS} characters.")
        case History(limit=limit) if limit is not None and not is_valid_history_limit(limit):
            raise _bad(f"limit must be between 1 and {HISTORY_MAX}.")
        case DmHistory(limit=limit) if limit is not None and not is_valid_dm_history_limit(limit):
            raise _bad(f"limit must be between 1 and {DM_HISTORY_MAX}.")
        case WhoElse(limit=limit) | WhoElseSince(limit=limit) | Members(limit=limit) if (
            limit is not None and not is_valid_limit(limit, NAMES_LIMIT_MAX)
        ):
            raise _bad(f"limit must be between 1 and {NAMES_LIMIT_MAX:,}.")
        case Rooms(limit=limit) if limit is not None and not is_valid_limit(limit, ROOMS_LIMIT_MAX):
            raise _bad(f"limit must be between 1 and {ROOMS_LIMIT_MAX}.")
        case Search(query=query) if not is_valid_query(query):
            raise _bad(f"query must be 1 to {QUERY_MAX_CHARS} characters.")
        case Search(limit=limit) if limit is not None and not is_valid_search_limit(limit):
            raise _bad(f"limit must be between 1 and {SEARCH_LIMIT_MAX}.")
        case Search(room=str(), with_=str()):
            raise _bad("Search one room or the messages with one user, not both.")
        case Login(password=str(), token=str()):
            raise _bad("Log in with a password or a token, not both.")
        case Login(password=None, token=None):
            raise _bad("This request needs password (or a token from an earlier login).")
        case PrivateAnswer(accept=True, port=None):
            raise _bad("Accepting a private chat needs the port you listen on.")
        case PrivateAnswer(port=port) if port is not None and not 1 <= port <= 65_535:
            raise _bad(_int_rule("port"))
        case PrivateAnswer(host=host) if host is not None and not is_peer_address(host):
            raise _bad("host must be an IP address a peer can connect to, not a name.")
        case _:
            pass
