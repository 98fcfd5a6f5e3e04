"""Shared in-memory state of one server node: who is online, delivery, private brokering,
and which members of each room are online (service/core/room_index.py).

This is the seam for clustering: cross-user delivery, presence and the one-login rule go
through this small interface only, so a hub backed by a message bus can replace it later.
One lock guards everything; it is never held while a recipient is called (that may touch a
socket) nor during a database call. Usernames are keys exactly as typed: they are
case-sensitive in chat/1, so no normalisation. An event is encoded once, however many
recipients it has.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from service.core.broker import Endings, PrivateBroker
from service.core.room_index import RoomIndex
from service.wire.codec import encode
from service.wire.errors import ErrorCode, RequestError
from service.wire.events import Event
from service.wire.private import PrivateRequest

Live = tuple[bytes, int | None]  # an encoded event, and its msg_id when it is a direct message
RoomLive = tuple[bytes, int]  # an encoded `room_message`, and its seq


class Recipient(Protocol):
    def deliver_encoded(self, items: Sequence[Live], first: bytes = b"") -> bool:
        """Queue encoded events without blocking; False if the recipient cannot take them.
        `first`: bytes of the recipient's own (replies), written ahead in the same send."""
        ...

    def deliver_room(self, room: str, data: bytes, items: Sequence[RoomLive]) -> bool:
        """Queue live messages of `room` without blocking; `data` is their frames joined (the
        same bytes for every member). False if the recipient cannot take them."""
        ...

    @property
    def can_private(self) -> bool:
        """Whether the recipient can take peer-to-peer chats (a web page cannot)."""
        ...


def _live(event: Event) -> Live:
    """Only events other than direct messages come here as dicts (service/wire/events.py
    encodes `message` itself on the pipeline), so none carries a msg_id to track."""
    return encode(event), None


class Hub:
    def __init__(self, on_announcement: Callable[[], None] = lambda: None) -> None:
        self._lock = threading.Lock()
        self._online: dict[str, Recipient] = {}
        self._private = PrivateBroker()
        self._rooms: RoomIndex[Recipient] = RoomIndex()
        self._announcements: list[tuple[Live, frozenset[str]]] = []  # not yet fanned out
        self._on_announcement = on_announcement  # arranges a call of fan_out() soon

    # --- presence and the one-login rule -----------------------------------------------------

    def claim(self, user: str, recipient: Recipient) -> bool:
        """Mark `user` online at `recipient`; False if they are online elsewhere."""
        with self._lock:
            if user in self._online:
                return False
            self._online[user] = recipient
            return True

    def release(self, user: str, recipient: Recipient) -> Endings:
        """`user` goes offline; their private sessions and pending requests end."""
        with self._lock:
            if self._online.get(user) is recipient:
                del self._online[user]
                self._rooms.exit(user)
            return self._private.end_all_for(user)

    def online_users(self) -> list[str]:
        with self._lock:
            return sorted(self._online)

    def recipients(self, users: Iterable[str]) -> dict[str, Recipient]:
        """Those of `users` online now, by name (one lock for a whole batch)."""
        with self._lock:
            online = self._online
            return {user: online[user] for user in users if user in online}

    # --- delivery ----------------------------------------------------------------------------

    def send(self, user: str, event: Event) -> bool:
        with self._lock:
            recipient = self._online.get(user)
        return recipient is not None and recipient.deliver_encoded([_live(event)])

    def send_to_all(self, event: Event, skip: set[str]) -> int:
        """Deliver to everyone online but `skip`; how many took it."""
        with self._lock:
            targets = [r for user, r in self._online.items() if user not in skip]
        items = [_live(event)]
        return sum(1 for recipient in targets if recipient.deliver_encoded(items))

    def announce(self, event: Event, skip: frozenset[str]) -> None:
        """Like send_to_all, later: the event joins the others announced meanwhile, and
        fan_out() gives each user all of theirs in one delivery. A login storm announces
        every login to everyone online; one by one that is a write per pair of users."""
        with self._lock:
            first = not self._announcements
            self._announcements.append((_live(event), skip))
        if first:
            self._on_announcement()

    def fan_out(self) -> None:
        """Deliver what was announced since the last call, in order, one delivery each."""
        with self._lock:
            pending, self._announcements = self._announcements, []
            targets = list(self._online.items())
        for user, recipient in targets:
            items = [live for live, skip in pending if user not in skip]
            if items:
                recipient.deliver_encoded(items)

    # --- rooms: who of their members is online ---------------------------------------------

    def enter_rooms(self, user: str, rooms: Iterable[str]) -> None:
        """`user`, online, is a member of `rooms`: their live messages go to it from now on."""
        with self._lock:
            recipient = self._online.get(user)
            if recipient is not None:
                self._rooms.enter(user, recipient, rooms)

    def room_joined(self, room: str, user: str, *, created: bool) -> None:
        """A join was committed (called in commit order: service/store/writer.py, `then`)."""
        with self._lock:
            self._rooms.join(room, user, self._online.get(user), created=created)

    def room_left(self, room: str, user: str) -> None:
        """A leave was committed (called in commit order)."""
        with self._lock:
            self._rooms.leave(room, user)

    def room_recipients(self, room: str) -> list[tuple[str, Recipient]]:
        """The online members of `room` and where to reach them, as of now."""
        with self._lock:
            return self._rooms.online_members(room)

    def send_to_room(self, room: str, event: Event, skip: set[str]) -> int:
        """Deliver to the online members of `room` but `skip`; how many took it."""
        items = [_live(event)]
        targets = self.room_recipients(room)
        return sum(1 for user, r in targets if user not in skip and r.deliver_encoded(items))

    # --- private brokering -------------------------------------------------------------------

    def request_private(self, request: PrivateRequest) -> bool:
        """Open `request`, or refuse it (`offline`, `already_private`); False when the
        addressee's session cannot take peer-to-peer chats: then nothing is pending and the
        requester is to hear `private_declined` `unsupported` (chat/1 precise point 16)."""
        with self._lock:
            recipient = self._online.get(request.target)
            if recipient is None:
                raise RequestError(ErrorCode.OFFLINE, f"{request.target} is not online.")
            if not recipient.can_private:
                self._private.check_free(request.requester, request.target)
                return False
            self._private.open_request(request)
            return True

    def answer_private(self, answerer: str, request_id: str, accept: bool) -> PrivateRequest:
        """Take the request; on accept the two are in a private session from now on."""
        with self._lock:
            request = self._private.take_request(request_id, answerer)
            if accept:
                self._private.open_session(request.requester, request.target)
            return request

    def stop_private(self, user: str, peer: str) -> PrivateRequest | None:
        """Close a session, or withdraw `user`'s pending request to `peer` (returned)."""
        with self._lock:
            return self._private.stop(user, peer)

    def end_all_private(self) -> tuple[list[tuple[str, str]], list[PrivateRequest]]:
        """At shutdown: every private session (as pairs) and pending request ends."""
        with self._lock:
            return self._private.end_all()

    def end_private_between(self, a: str, b: str) -> Endings:
        with self._lock:
            return self._private.end_between(a, b)

    def expire_private(self, now: datetime, ttl: timedelta) -> list[PrivateRequest]:
        with self._lock:
            return self._private.expire(now, ttl)
