"""Rate policy without sockets or clocks: token buckets, their table, the log limiter."""

from __future__ import annotations

import pytest

from service.limits.throttle import BucketTable, LogLimiter, TokenBucket, whole_seconds


def test_a_bucket_gives_its_burst_then_one_per_refill() -> None:
    bucket = TokenBucket(rate_per_s=2, burst=3, now=0)
    assert [bucket.try_take(0) for _ in range(4)] == [True, True, True, False]
    assert bucket.seconds_until_token(0) == pytest.approx(0.5)
    assert not bucket.try_take(0.49)
    assert bucket.try_take(0.5)
    assert not bucket.try_take(0.5)


def test_a_bucket_never_holds_more_than_its_burst() -> None:
    bucket = TokenBucket(rate_per_s=10, burst=2, now=0)
    assert bucket.tokens(1_000) == 2
    assert [bucket.try_take(1_000) for _ in range(3)] == [True, True, False]


def test_a_refusal_takes_nothing() -> None:
    bucket = TokenBucket(rate_per_s=1, burst=1, now=0)
    assert bucket.try_take(0)
    for _ in range(100):
        assert not bucket.try_take(0.5)
    assert bucket.try_take(1.0)  # the refused attempts did not push the next token back


def test_charges_run_into_debt_that_the_refill_repays() -> None:
    bucket = TokenBucket(rate_per_s=1, burst=2, now=0)
    for _ in range(5):
        bucket.charge(0)
    assert bucket.tokens(0) == -3
    assert bucket.seconds_until_token(0) == pytest.approx(4)
    assert not bucket.has_token(3.9)
    assert bucket.has_token(4)


def test_refund_gives_back_up_to_the_burst() -> None:
    bucket = TokenBucket(rate_per_s=1, burst=2, now=0)
    bucket.charge(0)
    bucket.refund(0)
    bucket.refund(0)
    assert bucket.tokens(0) == 2 and bucket.is_full(0)


def test_a_clock_that_goes_back_adds_nothing() -> None:
    bucket = TokenBucket(rate_per_s=1, burst=1, now=10)
    assert bucket.try_take(10)
    assert not bucket.try_take(5)
    assert bucket.try_take(11)


def test_the_table_keeps_one_bucket_per_key_and_evicts_the_least_recently_used() -> None:
    table = BucketTable(rate_per_s=1, burst=1, max_keys=2)
    assert table.get("a", 0).try_take(0)
    assert table.get("b", 0).try_take(0)
    assert not table.get("a", 0).try_take(0)  # same bucket; "a" is now the most recent
    table.get("c", 0)  # evicts "b", the least recently used
    assert len(table) == 2
    assert not table.get("a", 0).has_token(0)  # kept, and still empty
    assert table.get("b", 0).try_take(0)  # back as a fresh bucket


def test_the_table_forgets_buckets_that_refilled() -> None:
    table = BucketTable(rate_per_s=1, burst=2, max_keys=10)
    table.get("quiet", 0)
    table.get("busy", 0).charge(0)
    assert table.forget_full(0.5) == 1
    assert len(table) == 1
    assert table.forget_full(1.0) == 1 and len(table) == 0


def test_the_log_limiter_lets_one_line_through_per_interval_per_key() -> None:
    limiter = LogLimiter(interval_s=60)
    assert limiter.note("x", 0) == 1  # the first is logged at once
    assert [limiter.note("x", t) for t in (1, 2, 59.9)] == [None] * 3
    assert limiter.note("y", 5) == 1  # another key has its own interval
    assert limiter.note("x", 60) == 4  # this one and the three left out
    assert limiter.note("x", 61) is None
    assert limiter.note("x", 120) == 2


def test_the_log_limiter_is_bounded() -> None:
    limiter = LogLimiter(interval_s=60, max_keys=3)
    for key in range(100):
        assert limiter.note(key, 0) == 1
    assert len(limiter._keys) == 3


@pytest.mark.parametrize(
    ("seconds", "whole"), [(0, 1), (0.001, 1), (1, 1), (1.0001, 2), (5.5, 6), (60, 60)]
)
def test_retry_after_is_whole_seconds_rounded_up_at_least_one(seconds: float, whole: int) -> None:
    assert whole_seconds(seconds) == whole
