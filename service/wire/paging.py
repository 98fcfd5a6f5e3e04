"""Long lists in one frame (chat/1 precise point 18), pure: which names a page holds.

`whoelse`, `whoelsesince`, `rooms` and `members` list names sorted bytewise, from just after
`after`, at most `limit` of them and fewer when more would not fit in the reply's frame; the
reply says `more` when names after its last one exist. `history` keeps the newest messages
that fit. No I/O here: the handlers bring the sorted entries and say what each one costs.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from service.wire.codec import MAX_FRAME_BYTES, encode, json_string
from service.wire.errors import RequestId, ok_reply

T = TypeVar("T")

NAMES_LIMIT_MAX = 1_000  # `whoelse`, `whoelsesince`, `members`: limit 1..1,000, default 1,000
ROOMS_LIMIT_MAX = 500  # `rooms`: limit 1..500, default 500


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    more: bool  # entries after the last of `items` exist (chat/1 precise point 18)


def is_valid_limit(limit: int, most: int) -> bool:
    return 1 <= limit <= most


def by_name(names: Iterable[str]) -> list[str]:
    """chat/1's order, bytewise: Python orders str by code point, which is UTF-8's byte
    order (a database's collation need not be, so lists are sorted here)."""
    return sorted(names)


def after(entries: Sequence[T], cursor: str | None, name: Callable[[T], str]) -> Sequence[T]:
    """The entries of `entries` (sorted by `name`) whose name sorts after `cursor`; all when
    `cursor` is None. A cursor need not be a name that exists (it may have left since)."""
    if cursor is None:
        return entries
    return entries[bisect.bisect_right(entries, cursor, key=name) :]


def same(name: str) -> str:
    """The name of an entry that is a name."""
    return name


def budget(request_id: RequestId, empty: dict[str, Any]) -> int:
    """What a reply's lists may take of chat/1's frame: the frame less the reply with its lists
    empty (`empty`: its fields so, `more` false, the longer word). Measured, not assumed: `re`
    echoes the client's own id, which may be most of a frame (precise point 18). Negative when
    even the envelope does not fit; `fit` then lists nothing."""
    return MAX_FRAME_BYTES - len(encode(ok_reply(request_id, empty)))


def name_bytes(name: str) -> int:
    """What one name costs in a JSON list: its string literal and a comma."""
    return len(json_string(name).encode()) + 1


def fit(entries: Iterable[T], limit: int, budget_bytes: int, cost: Callable[[T], int]) -> Page[T]:
    """The leading `entries` (already sorted and past the cursor), at most `limit`, whose
    costs add up to at most `budget_bytes`; `more` when any entry is left over. Reads one
    entry past the page, no more, so `entries` may be a lazy query."""
    items: list[T] = []
    for entry in entries:
        if len(items) == limit:
            return Page(items, True)
        budget_bytes -= cost(entry)
        if budget_bytes < 0:
            return Page(items, True)
        items.append(entry)
    return Page(items, False)
