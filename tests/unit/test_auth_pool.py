"""The login threads' two lanes, with jobs that wait on events (no sockets, no hashing)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest

from service.credentials import passwords as auth
from service.limits.auth_pool import AuthPool

WAIT_S = 5


def holding(started: threading.Event, release: threading.Event) -> Callable[[], None]:
    """A job that says it started, then waits for `release`."""

    def job() -> None:
        started.set()
        release.wait(WAIT_S)

    return job


@pytest.fixture
def pool() -> Iterator[AuthPool]:
    running = AuthPool(threads=2, max_waiting=4, max_waiting_per_key=2)
    yield running
    running.shutdown()


def test_a_suspect_hashing_never_holds_up_the_main_lane(pool: AuthPool) -> None:
    release, suspect_started, main_ran = threading.Event(), threading.Event(), threading.Event()
    lanes: dict[str, bool] = {}

    def suspect_job() -> None:
        lanes["suspect"] = auth._slots() is auth._suspect_slots
        suspect_started.set()
        release.wait(WAIT_S)

    def main_job() -> None:
        lanes["main"] = auth._slots() is auth._suspect_slots
        main_ran.set()

    assert pool.submit_nowait("sprayer", suspect_job, suspect=True)
    assert suspect_started.wait(WAIT_S)
    assert pool.submit_nowait("honest", main_job)
    assert main_ran.wait(WAIT_S)  # while the suspect's job still runs
    release.set()
    assert lanes == {"suspect": True, "main": False}


def test_one_job_per_address_at_a_time_in_a_lane(pool: AuthPool) -> None:
    release, first_started, second_ran = threading.Event(), threading.Event(), threading.Event()

    def first() -> None:
        first_started.set()
        release.wait(WAIT_S)

    assert pool.submit_nowait("a", first)
    assert first_started.wait(WAIT_S)
    assert pool.submit_nowait("a", second_ran.set)
    assert not second_ran.wait(0.2)  # a free thread is there, but "a" has one running
    release.set()
    assert second_ran.wait(WAIT_S)


def test_the_queue_is_bounded_in_total_and_per_address(pool: AuthPool) -> None:
    release = threading.Event()
    started = [threading.Event() for _ in range(3)]
    for n, lane_suspect in enumerate([False, False, True]):  # busy: every thread holds one
        assert pool.submit_nowait(f"busy{n}", holding(started[n], release), suspect=lane_suspect)
    assert all(e.wait(WAIT_S) for e in started)
    assert [pool.submit_nowait("a", release.set) for _ in range(3)] == [True, True, False]
    assert pool.submit_nowait("b", release.set, suspect=True)
    assert pool.submit_nowait("c", release.set)
    assert not pool.submit_nowait("d", release.set)  # 4 waiting, over both lanes
    release.set()


def test_shutdown_drops_what_waits() -> None:
    pool = AuthPool(threads=1, max_waiting=4, max_waiting_per_key=4)
    release, started, never = threading.Event(), threading.Event(), threading.Event()
    pool.submit_nowait("a", holding(started, release))
    assert started.wait(WAIT_S)
    pool.submit_nowait("b", release.set)
    release.set()
    pool.shutdown()  # returns: the running job ended, "b" ran or was dropped
    assert not pool.submit_nowait("c", never.set)
    assert not never.is_set()


def test_an_address_with_a_job_in_a_lane_queues_its_next_there_in_order(pool: AuthPool) -> None:
    """An address that turns suspect while its earlier logins wait in the main lane has its
    next ones judged after them, not beside them in the other lane."""
    release, started = threading.Event(), threading.Event()
    order: list[str] = []
    done = threading.Event()
    assert pool.submit_nowait("a", holding(started, release))
    assert started.wait(WAIT_S)

    def right_password() -> None:
        order.append("right password")
        done.set()

    assert pool.submit_nowait("a", lambda: order.append("wrong guess"))
    assert pool.submit_nowait("a", right_password, suspect=True)
    release.set()
    assert done.wait(WAIT_S)
    assert order == ["wrong guess", "right password"]
