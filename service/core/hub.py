"""Shared in-memory state of one server node: who is online on which sessions, delivery,
private brokering, and which members of each room are online (service/core/room_index.py).

This is the seam for clustering: cross-user delivery, presence and the sessions rule go
through this small interface only, so a hub backed by a message bus can replace it later.
One lock guards everything; it is never held while a session is called (that may touch a
socket) nor during a database call. Usernames are keys exactly as typed: they are
case-sensitive in chat/1, so no normalisation. An event is encoded once, however many
sessions get it.

A user is online while it has at least one session (chat/1 "Several sessions"): presence,
the active period and the rooms' index are per user; delivery is to every session, except
where chat/1 names one (the session that said a room message, the one in a private chat).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from service.core.broker import Chat, Endings, Pending, PrivateBroker
from service.core.room_index import RoomIndex
from service.core.session import EndReason
from service.wire.codec import encode
from service.wire.errors import ErrorCode, RequestError
from service.wire.events import Event

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


class Session(Recipient, Protocol):
    """One logged-in connection of a user, as the hub knows it."""

    @property
    def can_private(self) -> bool:
        """Whether it can take peer-to-peer chats (a TCP client can; a web page cannot)."""
        ...

    def request_end(self, reason: EndReason) -> None:
        """Ask for the session to end (any thread; returns at once)."""
        ...


def _live(event: Event) -> Live:
    """Only events other than direct messages come here as dicts (service/wire/events.py
    encodes `message` itself on the pipeline), so none carries a msg_id to track."""
    return encode(event), None


@dataclass(slots=True, eq=False)
class _Online:
    """One online user: its sessions, oldest first, and its open active period."""

    sessions: list[Session] = field(default_factory=list)
    period_id: int | None = None


@dataclass(frozen=True, slots=True)
class Claim:
    """A login's place among its user's sessions."""

    first: bool  # the user's only session now: presence `online`, a new active period
    count: int  # the user's sessions now, this one included (the login reply's `sessions`)
    replaced: Session | None  # taken out of the hub for this one: the caller ends it


@dataclass(frozen=True, slots=True)
class Left:
    """What a session's end changed for its user."""

    last: bool  # it was the user's last session: presence `offline`, the period ends
    period_id: int | None  # the user's active period (when `last`)
    endings: Endings[Session]  # the private chats and requests of that session


class Hub:
    def __init__(self, on_announcement: Callable[[], None] = lambda: None) -> None:
        self._lock = threading.Lock()
        self._online: dict[str, _Online] = {}
        self._private: PrivateBroker[Session] = PrivateBroker()
        self._rooms: RoomIndex[_Online] = RoomIndex()
        self._announcements: list[tuple[Live, frozenset[str]]] = []  # not yet fanned out
        self._on_announcement = on_announcement  # arranges a call of fan_out() soon

    # --- presence and the sessions rule ------------------------------------------------------

    def claim(self, user: str, session: Session, *, most: int, replace: bool) -> Claim | None:
        """Count `session` among `user`'s; None when it has `most` already and `replace` is
        false. With `replace`, the oldest is taken out first (in the same step, so two logins
        at once never both count it) and returned for the caller to end: its end then
        changes no presence and no period, since the user stays online."""
        with self._lock:
            online = self._online.get(user)
            if online is None:
                online = self._online[user] = _Online()
            replaced = None
            if len(online.sessions) >= most:
                if not replace:
                    return None
                replaced = online.sessions.pop(0)
            online.sessions.append(session)
            count = len(online.sessions)
            return Claim(count == 1 and replaced is None, count, replaced)

    def set_period(self, user: str, period_id: int) -> bool:
        """The first session's login opened `period_id`; False when the user has no session
        left or another period already (the caller then closes this one itself)."""
        with self._lock:
            online = self._online.get(user)
            if online is None or online.period_id is not None:
                return False
            online.period_id = period_id
            return True

    def release(self, user: str, session: Session) -> Left:
        """`session` ends: its private chats and requests end; the user goes offline with
        its last session. A session already taken out (replaced) changes nothing else."""
        with self._lock:
            endings = self._private.end_session(user, session)
            online = self._online.get(user)
            if online is None or not any(s is session for s in online.sessions):
                return Left(False, None, endings)
            online.sessions = [s for s in online.sessions if s is not session]
            if online.sessions:
                return Left(False, None, endings)
            del self._online[user]
            self._rooms.exit(user)
            return Left(True, online.period_id, endings)

    def online_users(self) -> list[str]:
        with self._lock:
            return sorted(self._online)

    def sessions_of(self, user: str) -> list[Session]:
        with self._lock:
            online = self._online.get(user)
            return list(online.sessions) if online is not None else []

    def recipients(self, users: Iterable[str]) -> dict[str, list[Recipient]]:
        """Those of `users` online now, by name, with their sessions (one lock for a batch)."""
        with self._lock:
            online = self._online
            return {user: list(online[user].sessions) for user in users if user in online}

    # --- delivery ----------------------------------------------------------------------------

    def send(self, user: str, event: Event) -> bool:
        """To every session of `user`; whether any took it."""
        items = [_live(event)]
        return sum(s.deliver_encoded(items) for s in self.sessions_of(user)) > 0

    def send_to(self, session: Recipient, event: Event) -> bool:
        """To one session (one that asked for a private chat, or is in one)."""
        return session.deliver_encoded([_live(event)])

    def send_to_all(self, event: Event, skip: set[str], sender: str, session: Recipient) -> int:
        """A broadcast: every session of everyone online but `skip`, and `sender`'s other
        sessions; how many users other than `sender` took it (on any of their sessions)."""
        with self._lock:
            targets = [(u, list(o.sessions)) for u, o in self._online.items() if u not in skip]
        items, took = [_live(event)], 0
        for user, sessions in targets:
            if user == sender:
                for other in sessions:
                    if other is not session:
                        other.deliver_encoded(items)
            elif sum(s.deliver_encoded(items) for s in sessions) > 0:
                took += 1
        return took

    def announce(self, event: Event, skip: frozenset[str]) -> None:
        """Like send_to_all, later: the event joins the others announced meanwhile, and
        fan_out() gives each session all of its own in one delivery. A login storm announces
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
            targets = [(user, list(o.sessions)) for user, o in self._online.items()]
        for user, sessions in targets:
            items = [live for live, skip in pending if user not in skip]
            if items:
                for session in sessions:
                    session.deliver_encoded(items)

    # --- rooms: who of their members is online ---------------------------------------------

    def enter_rooms(self, user: str, rooms: Iterable[str]) -> None:
        """`user`, online, is a member of `rooms`: their live messages go to each of its
        sessions from now on (entering again, from another session, changes nothing)."""
        with self._lock:
            online = self._online.get(user)
            if online is not None:
                self._rooms.enter(user, online, rooms)

    def room_joined(self, room: str, user: str, *, created: bool) -> None:
        """A join was committed (called in commit order: service/store/writer.py, `then`)."""
        with self._lock:
            self._rooms.join(room, user, self._online.get(user), created=created)

    def room_left(self, room: str, user: str) -> None:
        """A leave was committed (called in commit order)."""
        with self._lock:
            self._rooms.leave(room, user)

    def room_recipients(self, room: str) -> list[tuple[str, Recipient]]:
        """Every session of the online members of `room`, with its user, as of now."""
        with self._lock:
            return [
                (user, session)
                for user, online in self._rooms.online_members(room)
                for session in online.sessions
            ]

    def send_to_room(self, room: str, event: Event, skip: set[str]) -> int:
        """Deliver to every session of the online members of `room` but `skip`; how many
        members took it."""
        items = [_live(event)]
        took: set[str] = set()
        for user, r in self.room_recipients(room):
            if user not in skip and r.deliver_encoded(items):
                took.add(user)
        return len(took)

    # --- private brokering -------------------------------------------------------------------

    def request_private(self, pending: Pending[Session]) -> list[Session]:
        """Open the request, offered to every session of its addressee that can take it
        (returned: each gets `private_request`). None can: [] and nothing is opened, so the
        caller declines it `unsupported` at once (chat/1 precise point 16)."""
        request = pending.request
        with self._lock:
            online = self._online.get(request.target)
            if online is None:
                raise RequestError(ErrorCode.OFFLINE, f"{request.target} is not online.")
            pending.offered = [s for s in online.sessions if s.can_private]
            if not pending.offered:
                self._private.check_free(request.requester, request.target)
                return []
            self._private.open_request(pending)
            return list(pending.offered)

    def answer_private(
        self, answerer: str, session: Session, request_id: str, accept: bool
    ) -> Pending[Session]:
        """Take the request; on accept `session` and the asking session are in a private
        chat from now on."""
        with self._lock:
            pending = self._private.take_request(request_id, answerer)
            if accept:
                self._private.open_chat(pending, session)
            return pending

    def stop_private(self, user: str, peer: str) -> Chat[Session] | Pending[Session]:
        """Close a chat, or withdraw `user`'s pending request to `peer`."""
        with self._lock:
            return self._private.stop(user, peer)

    def end_all_private(self) -> tuple[list[Chat[Session]], list[Pending[Session]]]:
        """At shutdown: every private chat and pending request ends."""
        with self._lock:
            return self._private.end_all()

    def end_private_between(self, a: str, b: str) -> Endings[Session]:
        with self._lock:
            return self._private.end_between(a, b)

    def expire_private(self, now: datetime, ttl: timedelta) -> list[Pending[Session]]:
        with self._lock:
            return self._private.expire(now, ttl)
