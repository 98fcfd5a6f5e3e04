"""A disk that refuses writes for a moment (issue 17, point 10): writes fail `internal` while
it lasts, and everything that writes works again by itself once it is over, messages, rooms
and logins alike, with a line in the log when writes start failing and one when they work
again, not a traceback per failed write.

The failure is real: tests/support/disk.py makes every file write of this process fail
(EFBIG, SQLite's `disk I/O error`); the server runs in this process.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest

from tests.conftest import PASSWORD
from tests.support.client import TestClient
from tests.support.disk import writes_fail
from tests.support.server import RunningServer

# The disk under test is the one under SQLite's file, written by this process; a PostgreSQL
# server writes its own disk in another process.
pytestmark = pytest.mark.sqlite_only


def test_writes_and_logins_work_again_once_the_disk_takes_writes(
    server: RunningServer,
    login: Callable[[str], TestClient],
    connect: Callable[[], TestClient],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    alice = login("alice")
    bob = connect()
    with writes_fail():
        for n in range(5):
            reply = alice.request("message", to="bob", text=f"lost {n}")
            assert reply["error"] == "internal", reply
        assert alice.request("join", room="#lost")["error"] == "internal"
        refused = bob.request("login", user="bob", password=PASSWORD)  # its period is a write
        assert refused["error"] == "internal", refused

    assert alice.request("message", to="bob", text="kept")["ok"]
    assert alice.request("join", room="#kept")["ok"]
    welcome = bob.request("login", user="bob", password=PASSWORD)
    assert welcome["ok"] and welcome["pending"] == 1, welcome
    assert bob.expect(ev="message")["text"] == "kept"

    writer = [r.getMessage() for r in caplog.records if r.name == "service.store.writer"]
    assert len(writer) == 2, writer
    assert writer[0].startswith("writes to the database fail (") and "I/O" in writer[0]
    assert writer[1].startswith("writes to the database work again, after ")
    traced = [r.getMessage() for r in caplog.records if r.exc_info and "writer" in r.name]
    assert traced == writer[:1]  # the outage's first line only (it might have been our bug)
