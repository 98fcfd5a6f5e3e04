"""The login queue's order without threads: fair across addresses, bounded, one out per key."""

from __future__ import annotations

from service.limits.fair_queue import FairQueue


def drain(queue: FairQueue[str]) -> list[str]:
    """Take and finish items one at a time, as a single worker would."""
    order = []
    while (taken := queue.pop()) is not None:
        key, item = taken
        order.append(item)
        queue.done(key)
    return order


def test_keys_are_served_in_turn_whatever_each_queued() -> None:
    queue: FairQueue[str] = FairQueue(max_items=100, max_per_key=100)
    for n in range(5):
        assert queue.push("sprayer", f"s{n}")
    assert queue.push("honest", "h")
    assert drain(queue) == ["s0", "h", "s1", "s2", "s3", "s4"]


def test_a_late_key_waits_for_one_item_per_busy_key_at_most() -> None:
    queue: FairQueue[str] = FairQueue(max_items=100, max_per_key=100)
    for n in range(50):
        queue.push("a", f"a{n}")
        queue.push("b", f"b{n}")
    taken = queue.pop()
    assert taken is not None
    queue.done(taken[0])
    queue.push("late", "x")
    order = drain(queue)
    assert order.index("x") <= 2


def test_a_key_has_one_item_out_at_a_time() -> None:
    queue: FairQueue[str] = FairQueue(max_items=10, max_per_key=10)
    queue.push("a", "a1")
    queue.push("a", "a2")
    queue.push("b", "b1")
    taken = [queue.pop(), queue.pop()]
    assert taken == [("a", "a1"), ("b", "b1")]
    assert queue.pop() is None  # a2 waits: a1 is still out
    queue.done("a")
    assert queue.pop() == ("a", "a2")


def test_bounded_in_total_and_per_key() -> None:
    queue: FairQueue[str] = FairQueue(max_items=3, max_per_key=2)
    assert [queue.push("a", "1"), queue.push("a", "2"), queue.push("a", "3")] == [True, True, False]
    assert queue.waiting("a") == 2
    assert queue.push("b", "4") is True
    assert queue.push("c", "5") is False  # full in total
    assert len(queue) == 3
    queue.pop()
    assert queue.push("c", "5") is True  # a taken item makes room


def test_clear_drops_what_waits() -> None:
    queue: FairQueue[str] = FairQueue(max_items=10, max_per_key=10)
    queue.push("a", "1")
    queue.push("b", "2")
    assert sorted(queue.clear()) == ["1", "2"]
    assert len(queue) == 0 and queue.pop() is None
