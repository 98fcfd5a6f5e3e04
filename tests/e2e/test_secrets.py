"""Nothing secret reaches the log, even at DEBUG: a full session's passwords, tokens and texts
stay out of it, while the database files that do hold them are the owner's alone. A login
token is not even in those files: only its digest."""

from __future__ import annotations

import hashlib
import re
import stat
from pathlib import Path

import pytest

from tests.support.attack import create_cheap_users, watched_server
from tests.support.client import TestClient

pytestmark = pytest.mark.sqlite_only  # the server is a process of its own on a SQLite file

SECRETS = {
    "alice's password": "Quartz-Zebra-Right-9137",
    "a wrong password": "Quartz-Zebra-Wrong-5521",
    "carol's new password": "Quartz-Zebra-Carol-2468",
    "a direct message": "the door code is 4711",
    "a broadcast": "lunch at the blue door",
    "a nonce": "nonce-Quartz-7788",
    "a made-up login token": "token-Quartz-Zebra-6655",
}


def test_a_full_session_at_debug_logs_no_password_token_or_text(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'parley.db'}"
    create_cheap_users(db_url, ["alice"], SECRETS["alice's password"])
    create_cheap_users(db_url, ["bob"], "bob's password, also secret")
    with watched_server(db_url, tmp_path, "--log-level", "DEBUG", "--allow-signup") as chat:
        files = {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.glob("parley.db*")}
        alice, bob = TestClient(chat.host, chat.port), TestClient(chat.host, chat.port)
        wrong = alice.request("login", user="alice", password=SECRETS["a wrong password"])
        assert wrong["error"] == "bad_credentials"
        remembered = alice.request("login", user="alice", password=SECRETS["alice's password"],
                                   remember=True)  # fmt: skip
        login_token = remembered["token"]
        bob.login("bob", "bob's password, also secret")
        carol = TestClient(chat.host, chat.port)
        registered = carol.request("register", user="carol", remember=True,
                                   password=SECRETS["carol's new password"])  # fmt: skip
        carols_token = registered["token"]
        sent = alice.request("message", to="bob", text=SECRETS["a direct message"],
                             nonce=SECRETS["a nonce"])  # fmt: skip
        bob.expect(ev="message", msg_id=sent["msg_id"])
        bob.send({"op": "ack", "msg_id": sent["msg_id"]})
        assert alice.request("broadcast", text=SECRETS["a broadcast"])["ok"]
        request_id = alice.request("startprivate", user="bob")["request"]
        bob.expect(ev="private_request")
        assert bob.request("private_answer", request=request_id, accept=True, port=5555)["ok"]
        token = alice.expect(ev="private_ready")["token"]
        assert bob.expect(ev="private_expect")["token"] == token
        alice.request("stopprivate", user="bob")
        for client in (alice, bob, carol):
            client.request("logout", forget=client is carol)
            client.wait_closed()
        again = TestClient(chat.host, chat.port)
        made_up = SECRETS["a made-up login token"]
        assert again.request("login", user="alice", token=made_up)["error"] == "bad_credentials"
        assert again.request("login", user="alice", token=login_token)["ok"]
        assert again.request("logout")["ok"]
        again.wait_closed()
        assert chat.terminate() == 0
        log = chat.log_text()
        at_rest = b"".join(p.read_bytes() for p in tmp_path.glob("parley.db*"))
    assert "login alice from" in log and "DEBUG" in log  # the log is there, and verbose
    assert "login alice from" in log and "with a token" in log  # the token login too
    assert "carol from" in log and "revoked its login token" in log  # and the forget
    secrets = {**SECRETS, "the private token": token, "alice's login token": login_token,
               "carol's login token": carols_token}  # fmt: skip
    leaked = [what for what, secret in secrets.items() if secret in log]
    assert not leaked, f"in the log: {leaked}"
    assert files == {"parley.db": 0o600, "parley.db-wal": 0o600, "parley.db-shm": 0o600}
    assert login_token.encode() not in at_rest  # only its digest was ever written
    assert hashlib.sha256(login_token.encode()).hexdigest().encode() in at_rest


def test_a_password_typed_as_the_name_stays_out_of_the_log(tmp_path: Path) -> None:
    """A password typed into the user field names no account: the log keeps its first two
    characters and a digest, the same for each try, so an operator can still correlate them
    (issue 17 item 6). Names of accounts are logged as they are."""
    db_url = f"sqlite:///{tmp_path / 'parley.db'}"
    typed = "Quartz-Zebra-Typed-8642"
    create_cheap_users(db_url, ["alice"], SECRETS["alice's password"])
    with watched_server(db_url, tmp_path) as chat:
        client = TestClient(chat.host, chat.port)
        for password in ("first try", "second try"):
            reply = client.request("login", user=typed, password=password)
            assert reply["error"] == "bad_credentials"
        assert client.request("login", user="alice", password="wrong")["error"] == (
            "bad_credentials"
        )
        client.close()
        assert chat.terminate() == 0
        log = chat.log_text()
    assert typed not in log and typed[:3] not in log
    logged = re.findall(r"failed login (Qu\.\.\.#[0-9a-f]{8}) from", log)
    assert len(logged) == 2 and logged[0] == logged[1], log  # the same digest each time
    assert "failed login alice from" in log
