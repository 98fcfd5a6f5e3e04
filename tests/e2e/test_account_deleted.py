"""Deleting an account ends its open session (issue 9, defect 5).

`chat-admin deluser` writes the database directly, as another process would, while the server
runs. At the deleted user's next request the server answers it `not_logged_in`, says
`bye account_deleted` and closes; the user is offline for everyone as after any session end.
Without a request, the server's own watch ends the session within a second or two (issue 17).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from typer.testing import CliRunner

from cli.admin import app
from service.account_watch import DeletionWatch
from tests.conftest import PASSWORD
from tests.support.client import Frame, TestClient
from tests.support.server import RunningServer

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
