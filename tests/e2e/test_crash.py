"""`kill -9` in the middle of a stream of messages loses nothing that was acknowledged."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import PASSWORD
from tests.support.client import TestClient
from tests.support.server import create_users, spawn_server

STREAM = 400  # requests written before the first reply is read: many are in flight at the kill
KILL_AFTER_OKS = 40


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
