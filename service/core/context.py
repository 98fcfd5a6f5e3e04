"""The shared types of request handling: what a handler gets (Context) and may ask for.

Kept apart from the handlers so that the handlers of different ops can live in modules of
their own without importing each other.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from service.config import ServerConfig
from service.core.hub import Hub, Live, RoomLive
from service.core.session import EndReason, SessionState
from service.credentials.decoy_cost import DecoyCosts
from service.credentials.passwords import LockoutPolicy
from service.limits.name_locks import NameLocks
from service.store import Store
from service.wire.errors import RequestId

Fields = dict[str, Any]


class Delivery(Protocol):
    """What a handler needs of its connection's live delivery: holding live events while a
    login sends the backlog, then releasing them (service/net/delivery.py has the rules)."""

    def hold(self) -> None: ...

    def drop_held(self) -> None: ...

    def catch_up(
        self, frames: Iterable[bytes], backlog_last_id: int,
        room_last: Mapping[str, int] | None = None,
    ) -> bool: ...  # fmt: skip

    def forget_room(self, room: str) -> None: ...


class Link(Protocol):
    """What a handler may ask of its own connection."""

    peer: str  # "host:port" as the server sees it
    peer_host: str  # the host part

    @property
    def delivery(self) -> Delivery: ...  # live events and the backlog at login

    @property
    def can_private(self) -> bool: ...  # peer-to-peer chats possible (not from a web page)

    def send_event(self, event: Fields) -> None: ...

    def deliver_encoded(self, items: Sequence[Live], first: bytes = b"") -> bool: ...

    def deliver_room(self, room: str, data: bytes, items: Sequence[RoomLive]) -> bool: ...

    def end_after_reply(self, reason: EndReason) -> None: ...

    def request_end(self, reason: EndReason) -> None: ...


@dataclass(frozen=True)
class Services:
    """Everything shared by all connections of one server."""

    config: ServerConfig
    store: Store
    hub: Hub
    clock: Callable[[], datetime]
    decoys: DecoyCosts  # the cost of an unknown name's decoy (chat/1 precise point 4)
    login_gate: NameLocks = field(default_factory=NameLocks)

    @property
    def lockout(self) -> LockoutPolicy:
        return LockoutPolicy(
            self.config.max_attempts, timedelta(seconds=self.config.block_duration_s)
        )


@dataclass
class Context:
    services: Services
    state: SessionState
    link: Link
    follow_ups: list[Callable[[], object]] = field(default_factory=list)
    request_id: RequestId = None  # echoed in the reply's `re`: a page's budget counts it

    @property
    def user(self) -> str:
        assert self.state.user is not None, "handler reached without a login"
        return self.state.user
