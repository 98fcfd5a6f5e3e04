"""The rules of chat/1 rooms (feature `rooms`), pure: names, limits, read markers, unread.

Defined once here and imported by the server, `chat-admin` and the tests; no I/O, no
database. What a room holds and who is in it lives in the store (service/store/rooms.py);
who of its members is online, in the hub (service/core/room_index.py).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import datetime, timedelta

FEATURE = "rooms"  # the word `hello` lists in `features` for this part of chat/1

# chat/1 "Rooms": `#`, then 1 to 32 lowercase letters, digits, `_` or `-`, not starting with
# `_` or `-`. The server never lower-cases a name: `#General` is malformed.
ROOM_NAME_PATTERN = re.compile(r"#[a-z0-9][a-z0-9_-]{0,31}")
MAX_ROOM_NAME_CHARS = 33  # `#` and 32 more
MAX_ROOMS_PER_USER = 100  # chat/1: a user is in at most 100 rooms (too_many_rooms)
CATCH_UP_PER_ROOM = 50  # chat/1: unread messages per room sent after a login, newest ones
HISTORY_DEFAULT = 50  # `history` without `limit`
HISTORY_MAX = 100  # `history` limit range is 1..HISTORY_MAX; outside it bad_request


ROOM_CREATION_WINDOW = timedelta(hours=1)  # --room-creations-per-hour counts in this window


def creation_wait_s(newest: Sequence[datetime], limit: int, now: datetime) -> int | None:
    """Whether a user may create a room at `now`: None if so, else the seconds until it may
    (chat/1 `retry_after`: whole, rounded up, at least 1).

    `newest`: the user's latest room creations (up to `limit` of them, any order) within
    ROOM_CREATION_WINDOW before `now`. A user may create one when fewer than `limit` fall in
    the window; else once the oldest of those `limit` leaves it. `limit` 0: no limit."""
    if limit <= 0 or len(newest) < limit:
        return None
    leaves_at = min(newest) + ROOM_CREATION_WINDOW
    return max(1, math.ceil((leaves_at - now).total_seconds()))


def is_valid_room_name(name: str) -> bool:
    return ROOM_NAME_PATTERN.fullmatch(name) is not None


def is_valid_history_limit(limit: int) -> bool:
    return 1 <= limit <= HISTORY_MAX


def has_room_for_another(rooms_joined: int) -> bool:
    """Whether a user in `rooms_joined` rooms may join one more."""
    return rooms_joined < MAX_ROOMS_PER_USER


def moved_marker(marker: int, shown: int, last_seq: int) -> int:
    """A member's read marker after its client says it has shown `shown`: it only moves
    forward, and never past the room's last message (a client cannot mark unsaid messages
    read: they would never count as unread)."""
    return max(marker, min(shown, last_seq))


def unread_count(last_seq: int, marker: int, excluded: int) -> int:
    """Messages above `marker`, not counting `excluded` of them (the member's own and those
    of users it blocks). Sequence numbers are gap-free, so the messages above the marker are
    exactly `last_seq - marker` of them: only the excluded ones need counting."""
    return max(last_seq - max(marker, 0) - excluded, 0)


def catch_up_count(unread: int) -> int:
    """How many of a room's unread messages follow a login (the newest ones)."""
    return min(unread, CATCH_UP_PER_ROOM)
