"""Peer-to-peer brokering state, pure: pending `startprivate` requests and open sessions.

The server only introduces two clients; they then talk directly. This module decides what is
allowed (chat/1 precise point 12) and what ends when; it sends nothing and takes no lock.
The hub owns one instance and calls it under its lock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from service.wire.errors import ErrorCode, RequestError
from service.wire.private import PrivateRequest


def _pair(a: str, b: str) -> frozenset[str]:
    return frozenset((a, b))


def _ordered(pair: frozenset[str]) -> tuple[str, str]:
    first, second = sorted(pair)
    return first, second


@dataclass(slots=True)
class Endings:
    """What ended for one user, so the caller can tell the others."""

    peers: list[str] = field(default_factory=list)  # open sessions with these users ended
    withdrawn: list[PrivateRequest] = field(default_factory=list)  # pending requests dropped


class PrivateBroker:
    def __init__(self) -> None:
        self._requests: dict[str, PrivateRequest] = {}  # keyed by request id
        self._sessions: set[frozenset[str]] = set()  # unordered pairs of usernames

    def _busy(self, a: str, b: str) -> bool:
        if _pair(a, b) in self._sessions:
            return True
        return any(_pair(r.requester, r.target) == _pair(a, b) for r in self._requests.values())

    def check_free(self, requester: str, target: str) -> None:
        """`already_private` if the two have a session or a pending request, either way."""
        if self._busy(requester, target):
            raise RequestError(
                ErrorCode.ALREADY_PRIVATE,
                f"You already have a private chat or a pending request with {target}.",
            )

    def open_request(self, request: PrivateRequest) -> None:
        self.check_free(request.requester, request.target)
        self._requests[request.request_id] = request

    def take_request(self, request_id: str, answerer: str) -> PrivateRequest:
        """Remove and return the request `answerer` may answer (only its addressee may)."""
        request = self._requests.get(request_id)
        if request is None or request.target != answerer:
            raise RequestError(
                ErrorCode.NO_SUCH_REQUEST, "There is no pending private request with that id."
            )
        del self._requests[request_id]
        return request

    def open_session(self, a: str, b: str) -> None:
        self._sessions.add(_pair(a, b))

    def stop(self, user: str, peer: str) -> PrivateRequest | None:
        """`stopprivate`: close the session of `user` and `peer`, or withdraw the request
        `user` made to `peer` and returns it (chat/1 precise point 16). Only the requester may
        withdraw; the addressee answers instead."""
        if _pair(user, peer) in self._sessions:
            self._sessions.remove(_pair(user, peer))
            return None
        for request in self._requests.values():
            if (request.requester, request.target) == (user, peer):
                return self._requests.pop(request.request_id)
        raise RequestError(ErrorCode.NO_PRIVATE_SESSION, f"You have no private chat with {peer}.")

    def end_between(self, a: str, b: str) -> Endings:
        """A block between `a` and `b`: their session and pending requests all end."""
        endings = Endings()
        if _pair(a, b) in self._sessions:
            self._sessions.remove(_pair(a, b))
            endings.peers.append(b)
        for request in list(self._requests.values()):
            if _pair(request.requester, request.target) == _pair(a, b):
                endings.withdrawn.append(self._requests.pop(request.request_id))
        return endings

    def end_all_for(self, user: str) -> Endings:
        """`user` left: every session and pending request they were part of ends."""
        endings = Endings()
        for pair in [p for p in self._sessions if user in p]:
            self._sessions.remove(pair)
            endings.peers.extend(name for name in pair if name != user)
        for request in list(self._requests.values()):
            if user in (request.requester, request.target):
                endings.withdrawn.append(self._requests.pop(request.request_id))
        return endings

    def end_all(self) -> tuple[list[tuple[str, str]], list[PrivateRequest]]:
        """The server is stopping: every session (as pairs) and pending request ends."""
        sessions = [_ordered(pair) for pair in self._sessions]
        requests = list(self._requests.values())
        self._sessions.clear()
        self._requests.clear()
        return sessions, requests

    def expire(self, now: datetime, ttl: timedelta) -> list[PrivateRequest]:
        """Remove and return requests left unanswered for longer than `ttl`."""
        expired = [r for r in self._requests.values() if now - r.created_at >= ttl]
        for request in expired:
            del self._requests[request.request_id]
        return expired
