"""chat-admin next to a running chat-server on the same database: the operator's walk-through.

Users added by `chat-admin adduser` log in over chat/1, show up in `history --since 1h`, get
locked by wrong passwords, show as locked in `users`, and log in again after `unlock`: the
server sees each change on its next request.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from typer.testing import CliRunner, Result

from cli.admin import app
from tests.support.client import TestClient
from tests.support.server import RunningServer

runner = CliRunner()
PASSWORDS = {"dave": "dave's long secret", "erin": "erin's long secret"}


def admin(server: RunningServer, *args: str, input: str | None = None) -> Result:
    result = runner.invoke(app, [*args, "--db", server.db_url], input=input)
    assert result.exit_code == 0, result.output
    return result


def admin_json(server: RunningServer, *args: str) -> list[dict[str, Any]]:
    value: list[dict[str, Any]] = json.loads(admin(server, *args, "--json").stdout)
    return value


def peer_of(client: TestClient) -> str:
    host, port = client.sock.getsockname()[:2]
    return f"{host}:{port}"


def test_added_users_log_in_and_show_in_history_since(
    server: RunningServer, connect: Callable[[], TestClient]
) -> None:
    for name, password in PASSWORDS.items():
        admin(server, "adduser", name, "--password-stdin", input=password + "\n")
    dave, erin = connect(), connect()
    dave.login("dave", PASSWORDS["dave"])
    erin.login("erin", PASSWORDS["erin"])

    online = admin_json(server, "history", "--since", "1h")

    assert [(e["user"], e["online"], e["peer"]) for e in online] == [
        ("dave", True, peer_of(dave)),
        ("erin", True, peer_of(erin)),
    ]
    assert dave.request("logout")["ok"]
    dave.wait_closed()  # chat/1 point 9: the period is closed before the socket
    table = admin(server, "history", "--since", "1h").stdout.splitlines()
    assert table[0] == "user\tlogin\tlogout\tduration\tpeer\tend reason"
    rows = [row.split("\t") for row in table[1:]]
    assert [(row[0], row[2] == "online", row[5]) for row in rows] == [
        ("dave", False, "logout"),
        ("erin", True, "-"),
    ]


def test_a_lockout_shows_in_users_and_unlock_lets_the_user_in(
    server: RunningServer, connect: Callable[[], TestClient]
) -> None:
    admin(server, "adduser", "erin", "--password-stdin", input=PASSWORDS["erin"] + "\n")
    guesser = connect()
    replies = [guesser.request("login", user="erin", password="not it") for _ in range(3)]
    assert [r.get("error") for r in replies] == ["bad_credentials", "bad_credentials", "locked"]

    (erin,) = [u for u in admin_json(server, "users") if u["name"] == "erin"]
    assert erin["locked_until"] is not None and erin["failed_attempts"] == 3
    refused = connect().request("login", user="erin", password=PASSWORDS["erin"])
    assert refused["error"] == "locked"

    assert admin(server, "unlock", "erin").stdout.startswith("Unlocked erin")

    connect().login("erin", PASSWORDS["erin"])
    (erin,) = [u for u in admin_json(server, "users") if u["name"] == "erin"]
    assert erin["locked_until"] is None and erin["last_login"] is not None


def test_a_deleted_user_can_no_longer_log_in(
    server: RunningServer, connect: Callable[[], TestClient]
) -> None:
    admin(server, "deluser", "carol", "--yes")

    reply = connect().request("login", user="carol", password="correct horse")

    assert reply["error"] == "bad_credentials"
    assert "carol" not in [u["name"] for u in admin_json(server, "users")]
