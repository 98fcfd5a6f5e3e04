"""Unknown-name lockout counts in the database, and first-come-first-served name locks."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial

from service.credentials.passwords import LockoutPolicy
from service.limits.name_locks import NameLocks
from service.store import Store

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
POLICY = LockoutPolicy(max_attempts=3, block_duration=timedelta(seconds=60))


def test_unknown_names_lock_on_the_third_failure_and_unlock_after(store: Store) -> None:
    for expected_left in (2, 1):
        assert (
            store.users.record_unknown_failure("ghost", NOW, POLICY).attempts_left(POLICY)
            == expected_left
        )
    locked = store.users.record_unknown_failure("ghost", NOW, POLICY)
    assert locked.is_locked(NOW) and store.users.unknown_name_attempts("ghost", NOW).is_locked(NOW)
    assert store.users.unknown_name_attempts("ghost", NOW + timedelta(seconds=60)).failures == 0


def test_a_frame_long_name_costs_a_fixed_size_key(store: Store) -> None:
    store.users.record_unknown_failure("x" * 60_000, NOW, POLICY)
    assert store.users.unknown_name_attempts("x" * 60_000, NOW).failures == 1


def test_eviction_keeps_the_most_recently_failed_names(store: Store) -> None:
    for minute, name in enumerate(["old", "middle", "new"]):
        store.users.record_unknown_failure(name, NOW + timedelta(minutes=minute), POLICY)
    assert store.users.evict_unknown_names(keep=2) == 1
    later = NOW + timedelta(minutes=5)
    names = ("old", "middle", "new")
    assert [store.users.unknown_name_attempts(n, later).failures for n in names] == [0, 1, 1]


def test_name_locks_serve_one_name_in_arrival_order_and_leave_nothing_behind() -> None:
    locks = NameLocks()
    order: list[int] = []
    first_in = threading.Event()
    release_first = threading.Event()

    def attempt(number: int) -> None:
        with locks.hold("alice"):
            order.append(number)
            if number == 0:
                first_in.set()
                release_first.wait(5)

    threads = [threading.Thread(target=attempt, args=(0,))]
    threads[0].start()
    first_in.wait(5)
    for number in range(1, 5):  # queued one by one behind the holder, in this order
        thread = threading.Thread(target=attempt, args=(number,))
        thread.start()
        threads.append(thread)
        _wait_until(partial(_has_waiters, locks, number))
    with locks.hold("bob"):  # another name is not held up
        pass
    release_first.set()
    for thread in threads:
        thread.join(5)
    assert order == [0, 1, 2, 3, 4]
    assert _waiters(locks) == 0


def _has_waiters(locks: NameLocks, count: int) -> bool:
    return _waiters(locks) == count


def _waiters(locks: NameLocks) -> int:
    with locks._guard:
        return sum(len(queue) - 1 for _turn, queue in locks._queues.values())


def _wait_until(condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
    """Poll a condition until a deadline (never a fixed sleep)."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        threading.Event().wait(0.001)
