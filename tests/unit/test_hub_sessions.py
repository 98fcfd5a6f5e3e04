"""The hub's sessions (chat/1 "Several sessions"), without a socket: how many a user may have,
`replace`, presence once per user, and who may be offered a private chat; and
--max-sessions-per-user, bounded 1..100."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from service.core.broker import Pending
from service.core.hub import Hub, Live, RoomLive, Session
from service.core.session import EndReason
from service.main import config_from_args
from service.wire.errors import ErrorCode, RequestError
from service.wire.private import PrivateRequest

NOW = datetime(2026, 12, 6, tzinfo=UTC)


class Device:
    """A session as the hub sees it: it keeps what it gets."""

    def __init__(self, name: str, can_private: bool = True) -> None:
        self.name = name
        self.can_private = can_private
        self.got: list[bytes] = []
        self.ended: EndReason | None = None

    def deliver_encoded(self, items: Sequence[Live], first: bytes = b"") -> bool:
        self.got += [data for data, _ in items]
        return True

    def deliver_room(self, room: str, data: bytes, items: Sequence[RoomLive]) -> bool:
        self.got.append(data)
        return True

    def request_end(self, reason: EndReason) -> None:
        self.ended = reason


def test_a_user_has_at_most_its_sessions_and_replace_takes_the_oldests_place() -> None:
    hub, one, two, three = Hub(), Device("a1"), Device("a2"), Device("a3")
    first = hub.claim("alice", one, most=2, replace=False)
    assert first is not None and (first.first, first.count, first.replaced) == (True, 1, None)
    second = hub.claim("alice", two, most=2, replace=False)
    assert second is not None and (second.first, second.count) == (False, 2)
    assert hub.claim("alice", three, most=2, replace=False) is None  # online_elsewhere
    took = hub.claim("alice", three, most=2, replace=True)
    assert took is not None and (took.first, took.count, took.replaced) == (False, 2, one)
    assert hub.sessions_of("alice") == [two, three]
    assert hub.online_users() == ["alice"]  # once


def test_the_user_goes_offline_with_its_last_session_only() -> None:
    hub, one, two = Hub(), Device("a1"), Device("a2")
    hub.claim("alice", one, most=2, replace=False)
    assert hub.set_period("alice", 7)
    hub.claim("alice", two, most=2, replace=False)
    assert hub.release("alice", one).last is False
    left = hub.release("alice", two)
    assert (left.last, left.period_id) == (True, 7)
    assert hub.online_users() == []


def test_a_replaced_session_leaving_changes_nothing_for_its_user() -> None:
    hub, old, new = Hub(), Device("old"), Device("new")
    hub.claim("alice", old, most=1, replace=False)
    hub.claim("alice", new, most=1, replace=True)
    assert hub.release("alice", old).last is False  # no offline, no period end
    assert hub.online_users() == ["alice"] and hub.sessions_of("alice") == [new]


def test_a_private_request_is_offered_to_the_sessions_that_can_take_it() -> None:
    """chat/1 precise point 16: none can, and the caller declines it `unsupported`."""
    hub, web, tcp, bob = Hub(), Device("web", False), Device("tcp"), Device("bob")
    hub.claim("alice", web, most=2, replace=False)
    hub.claim("bob", bob, most=2, replace=False)

    def ask(rid: str) -> list[Session]:
        return hub.request_private(Pending(PrivateRequest(rid, "bob", "alice", NOW), bob))

    assert ask("r1") == []  # nothing opened: asking again is no `already_private`
    hub.claim("alice", tcp, most=2, replace=False)
    assert ask("r2") == [tcp]
    with pytest.raises(RequestError) as refused:
        ask("r3")
    assert refused.value.code is ErrorCode.ALREADY_PRIVATE
    with pytest.raises(RequestError) as offline:
        hub.request_private(Pending(PrivateRequest("r4", "alice", "carol", NOW), tcp))
    assert offline.value.code is ErrorCode.OFFLINE


def test_a_broadcast_counts_users_and_reaches_the_senders_other_sessions() -> None:
    hub = Hub()
    alice1, alice2, bob1, bob2 = Device("a1"), Device("a2"), Device("b1"), Device("b2")
    for user, device in (("alice", alice1), ("alice", alice2), ("bob", bob1), ("bob", bob2)):
        hub.claim(user, device, most=2, replace=False)
    event = {"ev": "broadcast", "from": "alice", "text": "hi", "sent_at": "x"}
    assert hub.send_to_all(event, set(), "alice", alice1) == 1
    assert [len(d.got) for d in (alice1, alice2, bob1, bob2)] == [0, 1, 1, 1]


@pytest.mark.parametrize("value", ["0", "101", "-1", "two"])
def test_max_sessions_per_user_is_1_to_100(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert config_from_args(["--max-sessions-per-user", "100"])[0].max_sessions_per_user == 100
    assert config_from_args([])[0].max_sessions_per_user == 1  # chat/1's one login
    with pytest.raises(SystemExit) as exited:
        config_from_args(["--max-sessions-per-user", value])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "chat-server: error:" in err and ("1 and 100" in err or "invalid int" in err)
