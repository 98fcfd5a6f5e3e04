"""The deleted-account watch's policy (service/account_watch.py): when to look, who is gone."""

from __future__ import annotations

from service.account_watch import CHECK_EVERY_S, DeletionWatch, gone


def test_with_a_change_marker_it_looks_once_per_move_of_the_marker() -> None:
    watch = DeletionWatch()
    assert watch.due(0.0, 7) is True  # the first look, at start
    assert watch.due(1.0, 7) is False
    assert watch.due(99.0, 7) is False  # no time rule while the database says nothing moved
    assert watch.due(100.0, 8) is True
    assert watch.due(100.5, 8) is False
    assert watch.due(100.6, 9) is True


def test_without_a_change_marker_it_looks_every_few_seconds() -> None:
    watch = DeletionWatch()
    assert watch.due(10.0, None) is True
    assert watch.due(10.0 + CHECK_EVERY_S - 0.01, None) is False
    assert watch.due(10.0 + CHECK_EVERY_S, None) is True
    assert watch.due(10.0 + CHECK_EVERY_S + 1, None) is False
    assert CHECK_EVERY_S <= 2.0  # a deleted user is offline for the others within 2 s


def test_gone_are_the_online_users_without_an_account() -> None:
    assert gone(["alice", "dave", "Dave"], {"alice", "Dave"}) == {"dave"}
    assert gone([], set()) == frozenset()
    assert gone(["alice"], {"alice", "bob"}) == frozenset()
