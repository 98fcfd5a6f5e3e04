"""The deleted-account watch's policy (service/core/account_watch.py): when to look, who is gone."""

from __future__ import annotations

from service.core.account_watch import CHECK_EVERY_S, DeletionWatch, ending
from service.core.session import EndReason


def looks(watch: DeletionWatch, now: float, marker: int | None) -> bool:
    """Whether a look is due; one that is, is made (and succeeds)."""
    due = watch.due(now, marker)
    if due:
        watch.looked(now, marker)
    return due


def test_with_a_change_marker_it_looks_once_per_move_of_the_marker() -> None:
    watch = DeletionWatch()
    assert looks(watch, 0.0, 7) is True  # the first look, at start
    assert looks(watch, 1.0, 7) is False
    assert looks(watch, 99.0, 7) is False  # no time rule while the database says nothing moved
    assert looks(watch, 100.0, 8) is True
    assert looks(watch, 100.5, 8) is False
    assert looks(watch, 100.6, 9) is True


def test_without_a_change_marker_it_looks_every_few_seconds() -> None:
    watch = DeletionWatch()
    assert looks(watch, 10.0, None) is True
    assert looks(watch, 10.0 + CHECK_EVERY_S - 0.01, None) is False
    assert looks(watch, 10.0 + CHECK_EVERY_S, None) is True
    assert looks(watch, 10.0 + CHECK_EVERY_S + 1, None) is False
    assert CHECK_EVERY_S <= 2.0  # a deleted user is offline for the others within 2 s


def test_a_look_that_failed_is_due_again_until_one_succeeds() -> None:
    for marker in (7, None):
        watch = DeletionWatch()
        looks(watch, 0.0, marker)
        moved = 8 if marker is not None else None
        assert watch.due(5.0, moved) is True  # this look fails: looked() is not called
        assert watch.due(5.1, moved) is True  # the marker did not move again; still due
        watch.looked(5.1, moved)
        assert watch.due(5.2, moved) is False


def test_sessions_end_when_their_account_is_gone_made_anew_or_kicked() -> None:
    sessions = [("alice", 1, 0), ("dave", 4, 0), ("Dave", 5, 0), ("carol", 3, 0), ("bob", 2, 1)]
    # carol deleted and made anew (another id); bob kicked (epoch 1 -> 2)
    existing = {"alice": (1, 0), "Dave": (5, 0), "carol": (9, 0), "bob": (2, 2)}
    deleted, kicked = EndReason.ACCOUNT_DELETED, EndReason.KICKED
    assert ending(sessions, existing) == {
        ("dave", 4, 0): deleted, ("carol", 3, 0): deleted, ("bob", 2, 1): kicked,
    }  # fmt: skip
    assert ending([], {}) == {}
    assert ending([("alice", 1, 3)], {"alice": (1, 3), "bob": (2, 0)}) == {}
    # a session that logged in after the kick is at the new epoch: it stays
    assert ending([("bob", 2, 2)], existing) == {}
