"""The server's abuse limits as pure decisions, with explicit times, and their log lines."""

from __future__ import annotations

import logging

import pytest

from service.config import ServerConfig
from service.limits.guard import Guard, Kind
from service.wire.errors import ErrorCode

CONFIG = ServerConfig(
    max_connections=5,
    max_connections_per_address=2,
    login_failures_per_minute=6,  # one every 10 s
    login_failure_burst=3,
    request_rate=2,
    request_burst=4,
    refusal_log_interval_s=60,
)


def test_connections_are_capped_per_address_and_counted_in_total() -> None:
    guard = Guard(CONFIG, max_connections=10_000)
    assert [guard.connection_opened("a", 0) for _ in range(3)] == [True, True, False]
    assert guard.open_connections == 2
    guard.connection_closed("a")
    assert guard.connection_opened("a", 0)


def test_the_total_cap_stops_accepting() -> None:
    guard = Guard(CONFIG, max_connections=10_000)
    for n in range(5):
        assert guard.accept_refusal() is None
        assert guard.connection_opened(f"host{n}", 0)
    refusal = guard.accept_refusal()
    assert refusal is not None and "5 connections are open" in refusal
    guard.connection_closed("host0")
    assert guard.accept_refusal() is None


def test_the_descriptor_room_lowers_the_cap() -> None:
    assert Guard(CONFIG, max_connections=3).max_connections == 3
    assert Guard(CONFIG, max_connections=-50).max_connections == 1


def fail_logins(guard: Guard, source: str, count: int, now: float = 0) -> None:
    for _ in range(count):
        assert guard.admit_login(source, now) is None
        guard.login_finished(source, "login", logged_in=False, now=now)


def test_failed_logins_are_refused_before_hashing_once_the_burst_is_spent() -> None:
    guard = Guard(CONFIG, max_connections=10_000)
    fail_logins(guard, "a", 3)
    refusal = guard.admit_login("a", 0)
    assert refusal is not None and refusal.code is ErrorCode.RATE_LIMITED
    assert refusal.extra == {"retry_after": 10}
    assert guard.admit_login("b", 0) is None  # another address is not affected
    assert guard.admit_login("a", 10) is None  # one more allowed after 10 s


def test_logins_sent_at_once_get_no_further_than_one_at_a_time() -> None:
    """Waiting holds nothing (a class behind one NAT queues whole, issue 17 item 8); each is
    checked again when its turn comes, after the ones before it were counted."""
    guard = Guard(CONFIG, max_connections=10_000)
    assert all(guard.admit_login("a", 0) is None for _ in range(10))
    started = []
    for _ in range(10):
        started.append(guard.start_login("a", 0) is None)
        if started[-1]:
            guard.login_finished("a", "login", logged_in=False, now=0)
    assert started == [True] * 3 + [False] * 7
    refusal = guard.start_login("a", 0)
    assert refusal is not None and refusal.extra == {"retry_after": 10}
    assert guard.admit_login("a", 0) is not None  # spent: not even queued


def test_correct_logins_sent_at_once_all_start() -> None:
    guard = Guard(CONFIG, max_connections=10_000)
    assert all(guard.admit_login("a", 0) is None for _ in range(100))
    for _ in range(100):
        assert guard.start_login("a", 0) is None
        guard.login_finished("a", "login", logged_in=True, now=0)
    assert not guard.is_suspect("a", 0)


def test_a_successful_login_costs_nothing_and_every_register_costs_a_token() -> None:
    guard = Guard(CONFIG, max_connections=10_000)
    for _ in range(10):
        assert guard.admit_login("a", 0) is None
        guard.login_finished("a", "login", logged_in=True, now=0)
    for _ in range(3):
        assert guard.admit_login("a", 0) is None
        guard.login_finished("a", "register", logged_in=True, now=0)
    assert guard.admit_login("a", 0) is not None


def test_a_login_the_queue_refused_does_not_count() -> None:
    guard = Guard(CONFIG, max_connections=10_000)
    for _ in range(5):
        assert guard.admit_login("a", 0) is None
        refusal = guard.login_not_queued("a", 0)
        assert refusal.code is ErrorCode.RATE_LIMITED and refusal.extra == {"retry_after": 1}
    fail_logins(guard, "a", 3)


def test_requests_over_the_rate_are_refused_with_retry_after() -> None:
    guard = Guard(CONFIG, max_connections=10_000)
    bucket = guard.request_bucket(0)
    assert bucket is not None
    assert [bucket.try_take(0) for _ in range(5)] == [True] * 4 + [False]
    refusal = guard.request_refusal(bucket, "a", 0)
    assert refusal.code is ErrorCode.RATE_LIMITED and refusal.extra == {"retry_after": 1}


def test_a_request_rate_of_zero_means_no_limit() -> None:
    unlimited = ServerConfig(request_rate=0)
    assert Guard(unlimited, max_connections=10).request_bucket(0) is None


def test_refusals_are_logged_once_per_interval_per_address_and_kind(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="parley.limits")
    guard = Guard(CONFIG, max_connections=10_000)
    guard.connection_opened("a", 0)
    guard.connection_opened("a", 0)
    for second in range(59):
        guard.connection_opened("a", second)  # refused: the cap of 2 is reached
        assert guard.admit_login("a", second) is None
        guard.login_not_queued("a", second)
    guard.connection_opened("b", 1)
    assert len(caplog.records) == 2  # one per kind for "a"; "b" was accepted
    guard.connection_opened("a", 60)
    assert len(caplog.records) == 3
    assert "58 more since the last such line" in caplog.records[-1].getMessage()
    guard.note(Kind.HANDSHAKE, "c", 0, "TLS handshake with c failed: x")
    guard.note(Kind.HANDSHAKE, "c", 1, "TLS handshake with c failed: x")
    assert len(caplog.records) == 4


def test_an_address_that_failed_lately_is_a_suspect() -> None:
    guard = Guard(CONFIG, max_connections=10_000)
    assert guard.admit_login("a", 0) is None
    assert not guard.is_suspect("a", 0)  # its first: like anybody's
    assert guard.admit_login("a", 0) is None
    assert not guard.is_suspect("a", 0)  # waiting is no failure (a class behind one NAT)
    guard.login_finished("a", "login", logged_in=True, now=0)
    guard.login_finished("a", "login", logged_in=False, now=0)
    assert guard.admit_login("a", 1) is None
    assert guard.is_suspect("a", 1)  # failed lately
    guard.login_finished("a", "login", logged_in=True, now=1)
    assert guard.admit_login("a", 11) is None
    assert not guard.is_suspect("a", 11)  # the failure is repaid (one token per 10 s)
