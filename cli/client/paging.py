"""Long lists, every page of them (chat/1 precise point 18): `whoelse`, `whoelsesince`,
`rooms` and `members` answer one page at a time, sorted by name, with `more: true` while names
after the last one listed exist; the next page is asked for with `after` = that last name.

`all_pages` asks until `more` is no longer true and hands back one reply with the whole list,
so the user sees the list once, whole. It does no I/O of its own: it is given the `request`
coroutine (the controller's), so unit tests feed it a sequence of replies. It never reads a
`truncated` field: chat/1 has none.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, Protocol

JsonObject = dict[str, Any]

# op -> the reply's list fields, the first of which is the paged one (the others belong to
# its page: `members`' `online` lists those of the page's `users` online now).
PAGED: dict[str, tuple[str, ...]] = {
    "whoelse": ("users",),
    "whoelsesince": ("users",),
    "rooms": ("rooms",),
    "members": ("users", "online"),
}
MAX_PAGES = 1_000  # a bound on a server that says `more` for ever (1,000 pages of 1,000 names)


class Request(Protocol):
    def __call__(self, op: str, **fields: Any) -> Awaitable[JsonObject | None]: ...


async def all_pages(request: Request, op: str, fields: JsonObject) -> JsonObject | None:
    """The first page's reply, with the lists of every page after it appended and `more`
    false. A refusal or no answer (None) at any page is returned as it is: a list with a
    page missing in the middle would say something false. A server that pages without moving
    on (the last name not after the one asked with) stops the paging where it is."""
    keys = PAGED[op]
    reply = await request(op, **fields)
    if reply is None or not reply.get("ok"):
        return reply
    whole = {**reply, **{key: _list(reply.get(key)) for key in keys}}
    after: str | None = None
    for _ in range(MAX_PAGES):
        last = _last_name(whole[keys[0]])
        if reply.get("more") is not True or last is None or (after is not None and last <= after):
            break
        after = last
        reply = await request(op, **fields, after=after)
        if reply is None or not reply.get("ok"):
            return reply
        for key in keys:
            whole[key] += _list(reply.get(key))
    whole["more"] = False
    return whole


def _list(value: object) -> list[Any]:
    return list(value) if isinstance(value, list) else []


def _last_name(items: list[Any]) -> str | None:
    """The name to page on from: the last user, or the last room's `room`."""
    if not items:
        return None
    last = items[-1]
    name = last.get("room") if isinstance(last, dict) else last
    return name if isinstance(name, str) else None
