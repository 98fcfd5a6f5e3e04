"""The rooms' part of a login (chat/1 "Rooms": catching up at login): the user's rooms go
live in the hub, then the snapshot of their unread messages, which the login's reply lists
and its catch-up sends. The rest of the login is in service/core/handlers/accounts.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from service.core.context import Services
from service.store import RoomsAtLogin, Store
from service.wire import events
from service.wire.timeutil import to_rfc3339


def enter_rooms(services: Services, user: str) -> RoomsCatchUp:
    """After the login's claim: the user's rooms go live in the hub first, then the snapshot,
    so a message committed in between is in both and its live copy is dropped as a
    duplicate (service/net/delivery.py); none falls between the two."""
    store = services.store
    services.hub.enter_rooms(user, store.rooms.rooms_of(user))
    excluded = frozenset(store.blocks.blocked_by(user) | {user})
    return RoomsCatchUp(store.room_messages.rooms_at_login(user, excluded))


@dataclass(frozen=True, slots=True)
class RoomsCatchUp:
    """A login's view of the user's rooms: the `rooms` of its reply, what follows it, and
    up to which seq each room's live messages are duplicates."""

    at_login: RoomsAtLogin

    @property
    def listing(self) -> list[dict[str, Any]]:
        return [{"room": r.room, "unread": r.unread} for r in self.at_login.rooms]

    @property
    def last_seqs(self) -> dict[str, int]:
        return {r.room: r.last_seq for r in self.at_login.rooms}

    def frames(self, store: Store) -> Iterator[bytes]:
        """Room by room in name order, the newest min(unread, 50) unread messages, oldest
        first, as `room_message` with `stored` true; read a room at a time."""
        excluded = self.at_login.excluded
        for state in self.at_login.rooms:
            for line in store.room_messages.catch_up(state, excluded):
                yield events.room_message_event(state.room, line.seq, line.sender, line.text,
                                                to_rfc3339(line.sent_at), True)  # fmt: skip
