"""chat/1's words for private chats: why one ended, was declined or was cancelled, and the
request record the events name (precise points 12, 13 and 16). The broker that decides when
each happens is service/core/broker.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum


class StopReason(Enum):
    """Why an open private session ended (`private_stopped`, chat/1 precise points 13, 16)."""

    STOPPED = "stopped"  # the peer sent `stopprivate`
    BLOCKED = "blocked"  # one of the two blocked the other
    LOGOUT = "logout"  # the peer logged out
    TIMEOUT = "timeout"  # the peer was idle too long
    SHUTDOWN = "shutdown"  # the server is stopping: both sides hear it, before `bye`
    DISCONNECTED = "disconnected"  # every other end of the peer's session


class DeclineReason(Enum):
    """Why a requester's pending request ended unanswered (`private_declined`, point 16)."""

    DECLINED = "declined"  # the addressee said no
    EXPIRED = "expired"  # nobody answered in time (60 s)
    BLOCKED = "blocked"  # one of the two blocked the other
    CANCELLED = "cancelled"  # the addressee's session ended
    UNSUPPORTED = "unsupported"  # the addressee's session cannot take peer-to-peer chats


class CancelReason(Enum):
    """Why the question put to an addressee went away (`private_cancelled`, point 16)."""

    EXPIRED = "expired"  # nobody answered in time (60 s)
    WITHDRAWN = "withdrawn"  # the requester sent `stopprivate` naming the addressee
    BLOCKED = "blocked"  # one of the two blocked the other
    LOGOUT = "logout"  # the requester logged out
    TIMEOUT = "timeout"  # the requester was idle too long
    DISCONNECTED = "disconnected"  # every other end of the requester's session


@dataclass(frozen=True, slots=True)
class PrivateRequest:
    request_id: str
    requester: str
    target: str
    created_at: datetime
