"""Deleting an account ends its open session (issue 9, defect 5).

`chat-admin deluser` writes the database directly, as another process would, while the server
runs. At the deleted user's next request the server answers it `not_logged_in`, says
`bye account_deleted` and closes; the user is offline for everyone as after any session end.
Without a request, the server's own watch ends the session within a second or two (issue 17).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace

import pytest
from sqlalchemy.exc import OperationalError
from typer.testing import CliRunner

from cli.admin import app
from service import server as server_module
from service.config import ServerConfig
from service.core.account_watch import DeletionWatch
from service.store.users import Users
from tests.conftest import PASSWORD, USERS
from tests.support.client import Frame, TestClient
from tests.support.server import RunningServer, create_users, start_server

Login = Callable[..., TestClient]


@pytest.fixture
def request_path_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """The server's watch never looks: these tests are about the deleted user's next request,
    which the watch would otherwise race (it may end the session first)."""
    monkeypatch.setattr(DeletionWatch, "due", lambda self, now, marker: False)


def deluser(server: RunningServer, name: str) -> None:
    result = CliRunner().invoke(app, ["deluser", name, "--yes", "--db", server.db_url])
    assert result.exit_code == 0, result.output


def ended_as_deleted(client: TestClient, reply: Frame) -> None:
    """The request was refused, then the session ended with `bye account_deleted`."""
    assert (reply["ok"], reply["error"]) == (False, "not_logged_in"), reply
    assert "deleted" in reply["text"]
    frames = client.wait_closed()
    byes = [frame for frame in frames if frame.get("ev") == "bye"]
    assert [bye["reason"] for bye in byes] == ["account_deleted"] and byes[0]["text"]
    assert frames[-1] is byes[0]  # the last word before the close


@pytest.mark.usefixtures("request_path_only")
def test_a_deleted_users_next_request_ends_the_session(
    server: RunningServer, login: Login, connect: Callable[[], TestClient]
) -> None:
    alice, carol = login("alice"), login("carol")
    deluser(server, "carol")

    reply = carol.request("block", user="alice")  # once: "There is no user alice"

    ended_as_deleted(carol, reply)
    alice.expect(ev="presence", user="carol", state="offline")
    assert alice.request("whoelse")["users"] == []
    refused = connect().request("login", user="carol", password=PASSWORD)
    assert refused["error"] == "bad_credentials"  # the account is gone, not just the session


@pytest.mark.usefixtures("request_path_only")
def test_every_kind_of_request_ends_a_deleted_users_session(
    server: RunningServer,
    login: Login,
    make_user: Callable[[str], None],
) -> None:
    """`message` learns it from its batch's checks, the others from one look-up first."""
    requests = {
        "message": {"to": "alice", "text": "still here?"},
        "broadcast": {"text": "still here?"},
        "whoelse": {},
        "startprivate": {"user": "alice"},
        "active": {},
        "say": {"room": "#general", "text": "still here?"},  # pipelined, like `message`
        "join": {"room": "#other"},
    }
    alice = login("alice")
    for op, fields in requests.items():
        name = f"gone_{op}"
        make_user(name)
        client = login(name)
        assert client.request("join", room="#general")["ok"]
        deluser(server, name)

        ended_as_deleted(client, client.request(op, **fields))

    assert alice.events(ev="broadcast") == [] and alice.events(ev="message") == []
    assert alice.events(ev="private_request") == []


@pytest.mark.usefixtures("request_path_only")
def test_a_deleted_users_private_peer_hears_the_session_ended(
    server: RunningServer, login: Login
) -> None:
    alice, bob = login("alice"), login("bob")
    request_id = alice.request("startprivate", user="bob")["request"]
    bob.expect(ev="private_request", request=request_id)
    deluser(server, "alice")

    ended_as_deleted(alice, alice.request("whoelse"))

    cancelled = bob.expect(ev="private_cancelled")
    assert (cancelled["user"], cancelled["reason"]) == ("alice", "disconnected")


def test_a_deleted_user_goes_offline_soon_without_a_request_of_its_own(
    server: RunningServer, login: Login
) -> None:
    """The server notices on its own (within about a second or two), not at dave's next
    request: alice gets `offline` for him, and `whoelse` no longer lists him."""
    alice, carol = login("alice"), login("carol")
    alice.expect(ev="presence", user="carol", state="online")
    deluser(server, "carol")

    alice.expect(ev="presence", user="carol", state="offline", timeout_s=3)

    frames = carol.wait_closed(timeout_s=3)
    assert [f["reason"] for f in frames if f.get("ev") == "bye"] == ["account_deleted"]
    assert frames[-1]["ev"] == "bye"
    assert alice.request("whoelse")["users"] == []


def test_deleting_an_offline_account_ends_no_other_session(
    server: RunningServer, login: Login, make_user: Callable[[str], None]
) -> None:
    make_user("dave")
    alice, carol = login("alice"), login("carol")
    alice.expect(ev="presence", user="carol", state="online")
    deluser(server, "dave")
    deluser(server, "bob")

    assert alice.watch(2.5) == []  # the watch looked (the database changed) and found nobody
    assert alice.request("whoelse")["users"] == ["carol"]
    assert carol.request("ping")["ok"] is True


# --- when the watch cannot look ----------------------------------------------------------------


class FailingLooks:
    """Users.account_marks, failing while `failing` is set (as when PostgreSQL is down)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.failing = threading.Event()
        self.failed = 0
        real = Users.account_marks

        def account_marks(users: Users, names: Sequence[str]) -> dict[str, tuple[int, int]]:
            if self.failing.is_set():
                self.failed += 1
                raise OperationalError("SELECT users", {}, ConnectionRefusedError("db down"))
            return real(users, names)

        monkeypatch.setattr(Users, "account_marks", account_marks)


@pytest.fixture
def quick_server(
    server_config: ServerConfig, monkeypatch: pytest.MonkeyPatch
) -> Iterator[RunningServer]:
    """A server whose housekeeping ticks every 0.05 s and whose private requests expire
    after 0.3 s, so a test sees many ticks in a second."""
    monkeypatch.setattr(server_module, "TICK_S", 0.05)
    create_users(server_config.db_url, {name: PASSWORD for name in USERS})
    running = start_server(replace(server_config, private_request_ttl_s=0.3))
    yield running
    running.stop()


def test_a_watch_that_cannot_look_leaves_the_other_housekeeping_alone_and_logs_once(
    quick_server: RunningServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    looks = FailingLooks(monkeypatch)
    looks.failing.set()
    monkeypatch.setattr(DeletionWatch, "due", lambda self, now, marker: True)  # every tick
    alice = TestClient(quick_server.host, quick_server.port)
    bob = TestClient(quick_server.host, quick_server.port)
    alice.login("alice", PASSWORD)
    bob.login("bob", PASSWORD)
    caplog.set_level(logging.WARNING, logger="parley")

    request = alice.request("startprivate", user="bob")["request"]
    declined = alice.expect(ev="private_declined", timeout_s=5)  # expired: housekeeping ran

    assert (declined["request"], declined["reason"]) == (request, "expired")
    assert looks.failed >= 3, "the watch tried (and failed) on several ticks"
    lines = [r for r in caplog.records if "deleted accounts" in r.getMessage()]
    assert len(lines) == 1 and lines[0].exc_info is not None, [r.getMessage() for r in lines]
    assert "housekeeping failed" not in caplog.text
    alice.close()
    bob.close()


def test_a_failed_look_is_made_again_until_it_succeeds(
    quick_server: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On SQLite the watch looks when the change marker moved; a look that failed must not
    count as made, or a deletion seen by it would wait for some unrelated commit."""
    looks = FailingLooks(monkeypatch)
    alice = TestClient(quick_server.host, quick_server.port)
    carol = TestClient(quick_server.host, quick_server.port)
    alice.login("alice", PASSWORD)
    carol.login("carol", PASSWORD)
    alice.expect(ev="presence", user="carol", state="online")
    looks.failing.set()
    deluser(quick_server, "carol")
    deadline = time.monotonic() + 5
    while looks.failed < 2:  # the look after the deletion failed, and was made again
        assert time.monotonic() < deadline, f"{looks.failed} failed looks, none made again"
        assert alice.watch(0.05) == []
    looks.failing.clear()  # nothing commits from here on: the marker stays where it is

    alice.expect(ev="presence", user="carol", state="offline", timeout_s=3)
    assert [f["reason"] for f in carol.wait_closed(3) if f.get("ev") == "bye"] == [
        "account_deleted"
    ]
    alice.close()


def test_an_account_deleted_and_made_anew_under_its_name_ends_the_old_session(
    server: RunningServer, login: Login, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The watch compares the account's id, as each request's own check does: a new `carol`
    is another account, and the session of the old one ends."""
    looking = threading.Event()
    real_due = DeletionWatch.due
    monkeypatch.setattr(
        DeletionWatch,
        "due",
        lambda self, now, marker: looking.is_set() and real_due(self, now, marker),
    )
    # An account made after carol's: SQLite would give the new carol the id of the old one
    # if hers were the highest (users.id has no AUTOINCREMENT), PostgreSQL never does.
    create_users(server.db_url, {"dave": PASSWORD})
    alice, carol = login("alice"), login("carol")
    alice.expect(ev="presence", user="carol", state="online")
    deluser(server, "carol")
    create_users(server.db_url, {"carol": "another password"})
    looking.set()  # the watch sees only the end result: a carol exists

    alice.expect(ev="presence", user="carol", state="offline", timeout_s=5)
    assert [f["reason"] for f in carol.wait_closed(3) if f.get("ev") == "bye"] == [
        "account_deleted"
    ]
