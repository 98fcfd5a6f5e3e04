"""The operator's view of rooms: list them, read what was said, delete one.

chat-admin's `rooms`, `room-history` and `delroom` call these; the server never does. The
queries live in the store (service/store/operator_rooms.py), each one short transaction, so
they are safe while chat-server runs. Refusals an operator reads as is are AccountError, as in
service/admin/accounts.py. This module renders nothing and reads no clock.

Deleting a room takes its memberships and its whole history with it. Deleting a user
(`deluser`) does not touch what the user said in rooms: room messages keep their sender by
name, so they stay in the history under it.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from service.admin.accounts import AccountError
from service.store import RoomLine as RoomLine  # the operator's records
from service.store import RoomSummary as RoomSummary
from service.store import Store
from service.wire.rooms import is_valid_room_name


def room_name(text: str) -> str:
    """An operator's ROOM: `#general`, or `general` (a shell takes an unquoted `#` for the
    start of a comment), lower-cased as chat-client does (`#General` is `#general`: room names
    are lowercase). Raises ValueError, with the rule, for anything else."""
    lowered = text.lower()
    name = lowered if lowered.startswith("#") else f"#{lowered}"
    if not is_valid_room_name(name):
        raise ValueError(
            f"{text!r} is not a room name: # and then 1 to 32 lowercase letters, digits, "
            "'_' or '-' (not first), e.g. '#general'"
        )
    return name


def list_rooms(store: Store, *, empty: bool = False) -> list[RoomSummary]:
    """Every room (only those without members when `empty`: a member's `leave` keeps a room),
    sorted by name, with its members, messages and last activity."""
    return store.operator_rooms.list_rooms(empty=empty)


def delete_empty_rooms(store: Store, names: Collection[str]) -> list[RoomSummary]:
    """Delete the rooms `names` that have no members now, with their history; what went."""
    return store.operator_rooms.delete_empty_rooms(names)


def room_history(store: Store, room: str, since: datetime | None) -> list[RoomLine]:
    """What was said in `room` (at or after `since`), oldest first."""
    lines = store.operator_rooms.room_history(room, since)
    if lines is None:
        raise _no_such_room(room)
    return lines


def room_summary(store: Store, room: str) -> RoomSummary:
    """What `delete_room` would remove, for the operator's confirmation."""
    summary = store.operator_rooms.room_summary(room)
    if summary is None:
        raise _no_such_room(room)
    return summary


def delete_room(store: Store, room: str) -> RoomSummary:
    """Delete the room with its memberships and its history."""
    gone = store.operator_rooms.delete_room(room)
    if gone is None:
        raise _no_such_room(room)
    return gone


def _no_such_room(room: str) -> AccountError:
    return AccountError(f"there is no room {room}")
