"""Lockout policy and private brokering: pure rules, driven with explicit times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from service.core.broker import PrivateBroker
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


def _request(rid: str, requester: str, target: str, at: datetime = NOW) -> PrivateRequest:
    return PrivateRequest(rid, requester, target, at)


def test_a_pending_request_blocks_a_second_one_in_either_direction() -> None:
    broker = PrivateBroker()
    broker.open_request(_request("r1", "alice", "bob"))
    with pytest.raises(RequestError) as refused:
        broker.open_request(_request("r2", "bob", "alice"))
    assert refused.value.code is ErrorCode.ALREADY_PRIVATE


def test_only_the_addressee_may_answer() -> None:
    broker = PrivateBroker()
    broker.open_request(_request("r1", "alice", "bob"))
    with pytest.raises(RequestError) as refused:
        broker.take_request("r1", "carol")
    assert refused.value.code is ErrorCode.NO_SUCH_REQUEST
    assert broker.take_request("r1", "bob").requester == "alice"


def test_leaving_ends_sessions_and_withdraws_requests() -> None:
    broker = PrivateBroker()
    broker.open_session("alice", "bob")
    broker.open_request(_request("r1", "carol", "alice"))
    endings = broker.end_all_for("alice")
    assert endings.peers == ["bob"] and [r.request_id for r in endings.withdrawn] == ["r1"]
    with pytest.raises(RequestError):
        broker.stop("bob", "alice")


def test_stop_closes_a_session_or_withdraws_ones_own_pending_request() -> None:
    """chat/1 precise point 16: only the requester withdraws; the addressee answers."""
    broker = PrivateBroker()
    broker.open_session("alice", "bob")
    broker.open_request(_request("r1", "carol", "alice"))
    assert broker.stop("bob", "alice") is None  # the session
    with pytest.raises(RequestError) as refused:
        broker.stop("alice", "carol")  # alice is the addressee of r1, not its requester
    assert refused.value.code is ErrorCode.NO_PRIVATE_SESSION
    withdrawn = broker.stop("carol", "alice")
    assert withdrawn is not None and withdrawn.request_id == "r1"
    broker.open_request(_request("r2", "carol", "alice"))  # nothing pending any more


def test_end_all_ends_every_session_and_request_once() -> None:
    broker = PrivateBroker()
    broker.open_session("bob", "alice")
    broker.open_request(_request("r1", "carol", "alice"))
    sessions, requests = broker.end_all()
    assert sessions == [("alice", "bob")] and [r.request_id for r in requests] == ["r1"]
    assert broker.end_all() == ([], [])


def test_requests_expire_after_the_ttl() -> None:
    broker = PrivateBroker()
    broker.open_request(_request("old", "alice", "bob", NOW - timedelta(seconds=61)))
    broker.open_request(_request("new", "carol", "bob", NOW))
    expired = broker.expire(NOW, timedelta(seconds=60))
    assert [r.request_id for r in expired] == ["old"]
