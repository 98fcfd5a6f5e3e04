"""The writer's policy after a failed commit: backoff, and one log line per interval."""

from __future__ import annotations

import pytest

from service.store.write_health import FIRST_BACKOFF_S, MAX_BACKOFF_S, WriteHealth, describe

ERROR = OSError("disk I/O error\n[SQL: COMMIT]")


def test_healthy_writes_wait_for_nothing_and_say_nothing() -> None:
    health = WriteHealth()
    assert health.wait_s(0.0) == 0.0
    assert health.succeeded(1.0) is None


def test_the_first_failure_is_one_line_and_the_next_attempt_backs_off() -> None:
    health = WriteHealth(log_interval_s=60)
    line = health.failed(100.0, ERROR)
    assert line is not None and "writes to the database fail (OSError: disk I/O error)" in line
    assert health.wait_s(100.0) == pytest.approx(FIRST_BACKOFF_S)
    waits = []
    for _ in range(10):
        assert health.failed(100.0, ERROR) is None  # within the interval: silent
        waits.append(health.wait_s(100.0))
    assert waits == sorted(waits) and waits[-1] == pytest.approx(MAX_BACKOFF_S)


def test_one_line_per_interval_while_failing_then_one_when_recovered() -> None:
    health = WriteHealth(log_interval_s=60)
    lines = [health.failed(float(t), ERROR) for t in range(0, 181)]
    said = [line for line in lines if line is not None]
    assert len(said) == 4  # at 0, 60, 120 and 180 s
    assert "still fail after 60 s (60 failed commits since the last line)" in said[1]
    recovered = health.succeeded(200.0)
    assert recovered == "writes to the database work again, after 200.0 s and 181 failed commits"
    assert health.wait_s(200.0) == 0.0
    assert health.succeeded(201.0) is None
    again = health.failed(300.0, ERROR)
    assert again is not None and again.startswith("writes to the database fail (")


def test_an_error_is_described_in_one_line() -> None:
    assert describe(ERROR) == "OSError: disk I/O error"
    assert describe(RuntimeError("")) == "RuntimeError: "
