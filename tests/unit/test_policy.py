"""Lockout policy and private brokering: pure rules, driven with explicit times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from service.core.broker import Chat, Pending, PrivateBroker
from service.credentials.passwords import (
    Attempts,
    LockoutPolicy,
    is_valid_username,
    retry_after_seconds,
)
from service.wire.errors import ErrorCode, RequestError
from service.wire.private import PrivateRequest

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
POLICY = LockoutPolicy(max_attempts=3, block_duration=timedelta(seconds=60))


def test_third_failure_locks_for_the_block_duration() -> None:
    state = Attempts()
    lefts = []
    for _ in range(2):
        state = state.after_failure(NOW, POLICY)
        lefts.append(state.attempts_left(POLICY))
    assert lefts == [2, 1] and not state.is_locked(NOW)
    state = state.after_failure(NOW, POLICY)
    assert state.is_locked(NOW) and state.locked_until == NOW + timedelta(seconds=60)
    assert not state.is_locked(NOW + timedelta(seconds=60))


def test_an_expired_lock_counts_from_zero_again() -> None:
    locked = Attempts(3, NOW)
    after = locked.after_failure(NOW + timedelta(seconds=1), POLICY)
    assert after == Attempts(1, None)


def test_retry_after_rounds_up_and_is_at_least_one() -> None:
    assert retry_after_seconds(NOW + timedelta(seconds=59.2), NOW) == 60
    assert retry_after_seconds(NOW + timedelta(milliseconds=1), NOW) == 1
    assert retry_after_seconds(NOW, NOW) == 1


@pytest.mark.parametrize("name", ["alice", "A.b-c_9", "x" * 32])
def test_valid_usernames(name: str) -> None:
    assert is_valid_username(name)


@pytest.mark.parametrize("name", ["", "x" * 33, "al ice", "bob!", "émile", "a\n"])
def test_invalid_usernames(name: str) -> None:
    assert not is_valid_username(name)


class Device:
    """A session as the broker sees it: only its identity counts."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


_DEVICES: dict[str, Device] = {}


def dev(name: str) -> Device:
    """The one session called `name` ("alice@1")."""
    return _DEVICES.setdefault(name, Device(name))


Broker = PrivateBroker[Device]


def _pending(
    rid: str, requester: str, target: str, at: datetime = NOW, offered: tuple[str, ...] = ()
) -> Pending[Device]:
    request = PrivateRequest(rid, requester, target, at)
    return Pending(request, dev(f"{requester}@1"), [dev(d) for d in offered or (f"{target}@1",)])


def _chat(broker: Broker, a: str, b: str) -> None:
    """A chat between a@1 (asked) and b@1 (answered)."""
    pending = _pending(f"{a}-{b}", a, b)
    broker.open_request(pending)
    broker.open_chat(broker.take_request(pending.request.request_id, b), dev(f"{b}@1"))


def test_a_pending_request_blocks_a_second_one_in_either_direction() -> None:
    broker: Broker = PrivateBroker()
    broker.open_request(_pending("r1", "alice", "bob"))
    with pytest.raises(RequestError) as refused:
        broker.open_request(_pending("r2", "bob", "alice"))
    assert refused.value.code is ErrorCode.ALREADY_PRIVATE


def test_only_the_addressee_may_answer() -> None:
    broker: Broker = PrivateBroker()
    broker.open_request(_pending("r1", "alice", "bob"))
    with pytest.raises(RequestError) as refused:
        broker.take_request("r1", "carol")
    assert refused.value.code is ErrorCode.NO_SUCH_REQUEST
    assert broker.take_request("r1", "bob").request.requester == "alice"


def test_a_session_leaving_ends_its_chats_and_withdraws_its_requests() -> None:
    broker: Broker = PrivateBroker()
    _chat(broker, "alice", "bob")
    broker.open_request(_pending("r1", "alice", "carol"))
    assert broker.end_session("alice", dev("alice@2")).chats == []  # another session: nothing
    endings = broker.end_session("alice", dev("alice@1"))
    assert [c.other("alice") for c in endings.chats] == [("bob", dev("bob@1"))]
    assert [p.request.request_id for p in endings.withdrawn] == ["r1"]
    with pytest.raises(RequestError):
        broker.stop("bob", "alice")


def test_a_request_ends_for_its_asker_when_no_asked_session_is_left() -> None:
    broker: Broker = PrivateBroker()
    broker.open_request(_pending("r1", "carol", "alice", offered=("alice@1", "alice@2")))
    assert broker.end_session("alice", dev("alice@1")).cancelled == []  # alice@2 may answer
    endings = broker.end_session("alice", dev("alice@2"))
    assert [p.request.request_id for p in endings.cancelled] == ["r1"]
    assert endings.cancelled[0].asker is dev("carol@1")


def test_stop_closes_a_chat_or_withdraws_ones_own_pending_request() -> None:
    """chat/1 precise point 16: only the requester withdraws; the addressee answers."""
    broker: Broker = PrivateBroker()
    _chat(broker, "alice", "bob")
    broker.open_request(_pending("r1", "carol", "alice"))
    stopped = broker.stop("bob", "alice")  # the chat, from either user's any session
    assert isinstance(stopped, Chat) and stopped.ends == {
        "alice": dev("alice@1"),
        "bob": dev("bob@1"),
    }
    with pytest.raises(RequestError) as refused:
        broker.stop("alice", "carol")  # alice is the addressee of r1, not its requester
    assert refused.value.code is ErrorCode.NO_PRIVATE_SESSION
    withdrawn = broker.stop("carol", "alice")
    assert isinstance(withdrawn, Pending) and withdrawn.request.request_id == "r1"
    broker.open_request(_pending("r2", "carol", "alice"))  # nothing pending any more


def test_end_all_ends_every_chat_and_request_once() -> None:
    broker: Broker = PrivateBroker()
    _chat(broker, "bob", "alice")
    broker.open_request(_pending("r1", "carol", "alice"))
    chats, requests = broker.end_all()
    assert [c.ends for c in chats] == [{"bob": dev("bob@1"), "alice": dev("alice@1")}]
    assert [p.request.request_id for p in requests] == ["r1"]
    assert broker.end_all() == ([], [])


def test_requests_expire_after_the_ttl() -> None:
    broker: Broker = PrivateBroker()
    broker.open_request(_pending("old", "alice", "bob", NOW - timedelta(seconds=61)))
    broker.open_request(_pending("new", "carol", "bob", NOW))
    expired = broker.expire(NOW, timedelta(seconds=60))
    assert [p.request.request_id for p in expired] == ["old"]
