"""`kill -9` in the middle of a stream of messages loses nothing that was acknowledged.

Issue 10's "crash safety under load": repeated SIGKILL during streams of pipelined messages;
every `ok`'d message is delivered after a restart, none twice in one backlog."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import PASSWORD
from tests.support.attack import create_cheap_users
from tests.support.client import Frame, TestClient
from tests.support.server import create_users, spawn_server

STREAM = 400  # requests written before the first reply is read: many are in flight at the kill
KILL_AFTER_OKS = 40

pytestmark = pytest.mark.sqlite_only  # SQLite's durability: synchronous=FULL, WAL


def test_kill_9_during_a_stream_loses_no_acknowledged_message(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'parley.db'}"
    create_users(db_url, {"alice": PASSWORD, "bob": PASSWORD})
    first = spawn_server(db_url, tmp_path)
    alice = TestClient(first.host, first.port)
    alice.login("alice", PASSWORD)
    burst = b"".join(
        json.dumps({"op": "message", "id": n, "to": "bob", "text": f"m{n}"}).encode() + b"\n"
        for n in range(STREAM)
    )
    alice.send_raw(burst)

    acknowledged: dict[int, str] = {}  # msg_id -> text, for every ok the sender saw
    while len(acknowledged) < KILL_AFTER_OKS:
        reply = alice.read_frame()
        assert reply is not None
        if reply.get("re") is not None:
            assert reply["ok"], reply
            acknowledged[reply["msg_id"]] = f"m{reply['re']}"
    first.kill()
    while (reply := alice.read_frame()) is not None:  # oks that raced the kill count too
        if reply.get("re") is not None and reply.get("ok"):
            acknowledged[reply["msg_id"]] = f"m{reply['re']}"
    alice.close()

    second = spawn_server(db_url, tmp_path)
    try:
        bob = TestClient(second.host, second.port)
        pending = bob.login("bob", PASSWORD)["pending"]
        delivered = {}
        for _ in range(pending):
            event = bob.expect(ev="message")
            assert event["stored"] is True
            delivered[event["msg_id"]] = event["text"]
        bob.close()
    finally:
        assert second.terminate() == 0
    assert pending >= len(acknowledged) >= KILL_AFTER_OKS
    assert {k: delivered.get(k) for k in acknowledged} == acknowledged


PAIRS = 6  # senders, each streaming to its own recipient, who reads and acks as it goes
PER_SENDER = 300
KILLS = 3  # the server is killed this many times, each time a quarter of the way through


def test_repeated_kill_9_under_load_loses_no_acknowledged_message_and_repeats_none(
    tmp_path: Path,
) -> None:
    """Many senders pipelining at once, recipients acking what they read, then `kill -9`, and
    again on the restarted server: every `ok` is read live by its recipient or comes in a
    backlog after a restart, and no backlog shows a message twice."""
    db_url = f"sqlite:///{tmp_path / 'parley.db'}"
    senders = [f"s{n}" for n in range(PAIRS)]
    recipients = [f"r{n}" for n in range(PAIRS)]
    create_cheap_users(db_url, senders + recipients, PASSWORD)  # many logins: cheap hashes
    acknowledged: set[int] = set()  # the msg_id of every ok any sender saw
    seen: set[int] = set()  # every msg_id a recipient read, live or in a backlog
    for kill in range(KILLS):
        server = spawn_server(db_url, tmp_path)
        readers = [TestClient(server.host, server.port) for _ in recipients]
        for client, name in zip(readers, recipients, strict=True):
            _log_in_and_read_backlog(client, name, seen)
        writers = [TestClient(server.host, server.port) for _ in senders]
        for client, name in zip(writers, senders, strict=True):
            client.login(name, PASSWORD)
            to = name.replace("s", "r")
            client.send_raw(b"".join(
                json.dumps({"op": "message", "id": n, "to": to, "text": f"{name}-{kill}-{n}"})
                .encode() + b"\n"
                for n in range(PER_SENDER)
            ))  # fmt: skip
        oks_before = len(acknowledged)
        while len(acknowledged) - oks_before < PAIRS * PER_SENDER // 4:
            for sender, reader in zip(writers, readers, strict=True):
                _take_oks(sender, acknowledged, timeout_s=0.05)
                _read_and_ack(reader, seen, timeout_s=0.05)
        server.kill()
        for sender in writers:  # oks that raced the kill count too
            while (reply := _next_or_none(sender)) is not None:
                if reply.get("re") is not None and reply.get("ok"):
                    acknowledged.add(reply["msg_id"])
            sender.close()
        for reader in readers:
            reader.close()

    last = spawn_server(db_url, tmp_path)
    try:
        for name in recipients:
            client = TestClient(last.host, last.port)
            _log_in_and_read_backlog(client, name, seen)
            client.close()
    finally:
        assert last.terminate() == 0
    lost = acknowledged - seen
    assert not lost, f"{len(lost)} acknowledged messages lost"
    assert len(acknowledged) >= KILLS * PAIRS * PER_SENDER // 4


def _log_in_and_read_backlog(client: TestClient, name: str, seen: set[int]) -> None:
    """Log in; read the whole backlog, check no message is in it twice, and ack it."""
    pending = client.login(name, PASSWORD)["pending"]
    backlog = [client.expect(ev="message", stored=True)["msg_id"] for _ in range(pending)]
    assert len(backlog) == len(set(backlog)), f"a message shown twice in {name}'s backlog"
    for msg_id in backlog:
        client.send({"op": "ack", "msg_id": msg_id})
    seen.update(backlog)


def _take_oks(client: TestClient, into: set[int], timeout_s: float) -> None:
    while (reply := _next_or_none(client, timeout_s)) is not None:
        if reply.get("re") is not None:
            assert reply["ok"], reply
            into.add(reply["msg_id"])


def _read_and_ack(client: TestClient, seen: set[int], timeout_s: float) -> None:
    while (event := _next_or_none(client, timeout_s)) is not None:
        if event.get("ev") == "message":
            seen.add(event["msg_id"])
            client.send({"op": "ack", "msg_id": event["msg_id"]})


def _next_or_none(client: TestClient, timeout_s: float = 2.0) -> Frame | None:
    """The next frame, or None when none comes in time or the server is gone."""
    try:
        return client.read_frame(timeout_s=timeout_s)
    except (TimeoutError, ConnectionError, OSError):
        return None
