"""Which members of each room are online, and where to reach them: the hub's room index.

Pure and lock-free: the hub (service/core/hub.py) owns one and calls it under its own lock, as it
does its PrivateBroker. It holds online members only; the store knows every member. Keys are
room names and usernames exactly as on the wire (both case-sensitive, never normalised).

The index changes in step with commits (service/store/writer.py, `then`), so a room message goes
live to exactly the members whose join was committed before it and whose leave was not.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Generic, TypeVar

R = TypeVar("R")  # how a member is reached (the hub's online user, with its sessions)


class RoomIndex(Generic[R]):
    def __init__(self) -> None:
        self._members: dict[str, dict[str, R]] = {}  # room -> online member -> recipient
        self._rooms_of: dict[str, set[str]] = {}  # online user -> its rooms

    def enter(self, user: str, recipient: R, rooms: Iterable[str]) -> None:
        """`user` came online, a member of `rooms` (again, from another session: no change)."""
        for room in rooms:
            self._add(room, user, recipient)

    def join(self, room: str, user: str, recipient: R | None, *, created: bool) -> None:
        """`user` joined `room` (online at `recipient`, or None when not online here). A
        room just created forgets whoever an operator's deletion of an older room by the same
        name left behind."""
        if created:
            for stale in self._members.pop(room, {}):
                self._rooms_of.get(stale, set()).discard(room)
        if recipient is not None:
            self._add(room, user, recipient)

    def leave(self, room: str, user: str) -> None:
        members = self._members.get(room)
        if members is not None:
            members.pop(user, None)
            if not members:
                del self._members[room]
        self._rooms_of.get(user, set()).discard(room)

    def exit(self, user: str) -> None:
        """`user` went offline."""
        for room in self._rooms_of.pop(user, set()):
            members = self._members.get(room)
            if members is not None:
                members.pop(user, None)
                if not members:
                    del self._members[room]

    def online_members(self, room: str) -> list[tuple[str, R]]:
        """(user, recipient) of every online member of `room`: a copy, safe to use unlocked."""
        return list(self._members.get(room, {}).items())

    def rooms_of(self, user: str) -> set[str]:
        return set(self._rooms_of.get(user, ()))

    def _add(self, room: str, user: str, recipient: R) -> None:
        self._members.setdefault(room, {})[user] = recipient
        self._rooms_of.setdefault(user, set()).add(room)
