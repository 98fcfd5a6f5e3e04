"""Peer-to-peer brokering state, pure: pending `startprivate` requests and open private chats.

The server only introduces two clients; they then talk directly. This module decides what is
allowed (chat/1 precise point 12) and what ends when; it sends nothing and takes no lock.
The hub owns one instance and calls it under its lock.

With several sessions per user (chat/1 "Several sessions") a request and a chat belong to
sessions, not only to users: a request remembers the session that asked (it hears the
outcome) and the addressee's sessions that were asked; a chat, the session at each end (the
one that asked, the one that answered). `already_private` is still judged per pair of users.
`S` is how a session is known (the hub's Session); only its identity matters here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Generic, TypeVar

from service.wire.errors import ErrorCode, RequestError
from service.wire.private import PrivateRequest

S = TypeVar("S")


def _pair(a: str, b: str) -> frozenset[str]:
    return frozenset((a, b))


@dataclass(slots=True, eq=False)
class Pending(Generic[S]):
    """An unanswered request: `asker` sent the `startprivate`; `offered` got `private_request`."""

    request: PrivateRequest
    asker: S
    offered: list[S] = field(default_factory=list)


@dataclass(slots=True, eq=False)
class Chat(Generic[S]):
    """An open private chat: the session of each of its two users that is in it."""

    ends: dict[str, S]

    def other(self, user: str) -> tuple[str, S]:
        """The other user and its session."""
        for name, session in self.ends.items():
            if name != user:
                return name, session
        raise KeyError(f"{user} has no peer in this chat")


@dataclass(slots=True)
class Endings(Generic[S]):
    """What ended, so the caller can tell whom it concerns."""

    chats: list[Chat[S]] = field(default_factory=list)  # both ends may need telling
    withdrawn: list[Pending[S]] = field(default_factory=list)  # their asker's session ended
    cancelled: list[Pending[S]] = field(default_factory=list)  # no asked session is left


class PrivateBroker(Generic[S]):
    def __init__(self) -> None:
        self._requests: dict[str, Pending[S]] = {}  # keyed by request id
        self._chats: dict[frozenset[str], Chat[S]] = {}  # keyed by the unordered pair of users

    def _busy(self, a: str, b: str) -> bool:
        if _pair(a, b) in self._chats:
            return True
        return any(
            _pair(p.request.requester, p.request.target) == _pair(a, b)
            for p in self._requests.values()
        )

    def check_free(self, requester: str, target: str) -> None:
        """`already_private` when the two have a chat or a pending request, either way."""
        if self._busy(requester, target):
            raise RequestError(
                ErrorCode.ALREADY_PRIVATE,
                f"You already have a private chat or a pending request with {target}.",
            )

    def open_request(self, pending: Pending[S]) -> None:
        request = pending.request
        self.check_free(request.requester, request.target)
        self._requests[request.request_id] = pending

    def take_request(self, request_id: str, answerer: str) -> Pending[S]:
        """Remove and return the request `answerer` may answer (only its addressee may, from
        any of its sessions: the first answer decides)."""
        pending = self._requests.get(request_id)
        if pending is None or pending.request.target != answerer:
            raise RequestError(
                ErrorCode.NO_SUCH_REQUEST, "There is no pending private request with that id."
            )
        del self._requests[request_id]
        return pending

    def open_chat(self, pending: Pending[S], answered_from: S) -> None:
        request = pending.request
        ends = {request.requester: pending.asker, request.target: answered_from}
        self._chats[_pair(request.requester, request.target)] = Chat(ends)

    def stop(self, user: str, peer: str) -> Chat[S] | Pending[S]:
        """`stopprivate` from any session of `user`: the chat of `user` and `peer` ends, or the
        request `user` made to `peer` is withdrawn (chat/1 precise point 16); it is returned.
        Only the requester may withdraw; the addressee answers instead."""
        chat = self._chats.pop(_pair(user, peer), None)
        if chat is not None:
            return chat
        for pending in self._requests.values():
            if (pending.request.requester, pending.request.target) == (user, peer):
                return self._requests.pop(pending.request.request_id)
        raise RequestError(ErrorCode.NO_PRIVATE_SESSION, f"You have no private chat with {peer}.")

    def end_between(self, a: str, b: str) -> Endings[S]:
        """A block between `a` and `b`: their chat and pending requests all end (as
        `withdrawn`: the caller tells both sides)."""
        endings: Endings[S] = Endings()
        chat = self._chats.pop(_pair(a, b), None)
        if chat is not None:
            endings.chats.append(chat)
        for pending in list(self._requests.values()):
            if _pair(pending.request.requester, pending.request.target) == _pair(a, b):
                endings.withdrawn.append(self._requests.pop(pending.request.request_id))
        return endings

    def end_session(self, user: str, session: S) -> Endings[S]:
        """A session of `user` ended: the chats it was in, the requests it asked, and the
        requests to `user` that none of the sessions asked can answer any more, end. Other
        sessions of `user` keep theirs (chat/1: a chat ends with the session in it)."""
        endings: Endings[S] = Endings()
        for pair, chat in list(self._chats.items()):
            if chat.ends.get(user) is session:
                endings.chats.append(self._chats.pop(pair))
        for request_id, pending in list(self._requests.items()):
            if pending.request.requester == user and pending.asker is session:
                endings.withdrawn.append(self._requests.pop(request_id))
            elif pending.request.target == user and any(s is session for s in pending.offered):
                pending.offered = [s for s in pending.offered if s is not session]
                if not pending.offered:
                    endings.cancelled.append(self._requests.pop(request_id))
        return endings

    def end_all(self) -> tuple[list[Chat[S]], list[Pending[S]]]:
        """The server is stopping: every chat and pending request ends."""
        chats, requests = list(self._chats.values()), list(self._requests.values())
        self._chats.clear()
        self._requests.clear()
        return chats, requests

    def expire(self, now: datetime, ttl: timedelta) -> list[Pending[S]]:
        """Remove and return requests left unanswered for longer than `ttl`."""
        expired = [p for p in self._requests.values() if now - p.request.created_at >= ttl]
        for pending in expired:
            del self._requests[pending.request.request_id]
        return expired
