"""The failed logins kept for `chat-admin history --failed`: masked unknown names, bounded."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from service.credentials.masking import masked_name
from service.store import Store
from service.store import failed_logins as failed_login_store

T0 = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def test_an_unknown_name_is_kept_masked_and_an_account_by_name(store: Store) -> None:
    store.failed_logins.note("alice", True, "10.0.0.7:50312", "bad_credentials, 2 left", T0)
    store.failed_logins.note("my secret pw", False, "10.0.0.7:50313", "locked", T0)

    found = store.failed_logins.entries(since=None, user=None)

    assert [(f.name, f.known, f.peer) for f in found] == [
        ("alice", True, "10.0.0.7:50312"),
        (masked_name("my secret pw"), False, "10.0.0.7:50313"),
    ]
    assert found[1].name == "<not a username: 12 chars>"  # spaces: no username
    assert [f.name for f in store.failed_logins.entries(since=None, user="alice")] == ["alice"]
    assert store.failed_logins.entries(since=T0 + timedelta(seconds=1), user=None) == []


def test_masking_keeps_two_characters_and_a_digest_and_shows_no_control_character() -> None:
    assert masked_name("\nx" + "y" * 70_000) == "<not a username: 70002 chars>"
    assert re.fullmatch(r"hu\.\.\.#[0-9a-f]{8}", masked_name("hunter2")), masked_name("hunter2")
    assert re.fullmatch(r"a\.\.\.#[0-9a-f]{8}", masked_name("a")) and masked_name(
        "a"
    ) != masked_name("b")
    assert masked_name("hunter2") == masked_name("hunter2")
    longest = ["\n" * 65_536, "x" * 65_536, "é" * 32_768, "", "a" * 33]  # a frame holds no more
    assert all(len(masked_name(text)) <= 32 for text in longest)  # failed_logins.name: 32


def test_rows_older_than_30_days_and_beyond_the_newest_go_as_new_ones_come(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.failed_logins.note("old", True, "p", "r", T0 - timedelta(days=31))
    store.failed_logins.note("a", True, "p", "r", T0 - timedelta(days=1))
    assert [f.name for f in store.failed_logins.entries(since=None, user=None)] == ["old", "a"]

    store.failed_logins.note("b", True, "p", "r", T0)
    assert [f.name for f in store.failed_logins.entries(since=None, user=None)] == ["a", "b"]

    monkeypatch.setattr(failed_login_store, "FAILED_LOGINS_KEPT", 2)
    store.failed_logins.note("c", True, "p", "r", T0)
    assert [f.name for f in store.failed_logins.entries(since=None, user=None)] == ["b", "c"]
