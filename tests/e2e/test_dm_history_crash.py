"""`kill -9` and the record of direct messages: every acknowledged message is in
`dm_history` after a restart, once, and an `ack` committed before the kill stays one (the
message is in the record, not in the next backlog).

The server runs as its own process on the test's database (SQLite here, PostgreSQL in the
PostgreSQL run).
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import PASSWORD
from tests.support.client import Frame, TestClient
from tests.support.rooms import cheap_users
from tests.support.server import spawn_server

STREAM = 300  # messages written before the first reply is read: many in flight at the kill
KILL_AFTER_OKS = 30


def whole_record(client: TestClient, partner: str) -> list[Frame]:
    """Every message between the client's user and `partner`, oldest first, 100 a page."""
    pages: list[list[Frame]] = []
    before: int | None = None
    while True:
        fields = {"with": partner, "limit": 100, **({} if before is None else {"before": before})}
        page = client.request("dm_history", **fields)
        assert page["ok"], page
        if page["messages"]:
            pages.insert(0, page["messages"])
            before = page["messages"][0]["msg_id"]
        if not page["more"]:
            break
    return [message for page in pages for message in page]


def test_kill_9_keeps_every_acknowledged_message_in_the_record_and_every_committed_ack(
    db_url: str, tmp_path: Path
) -> None:
    cheap_users(db_url, ["alice", "bob"])
    first = spawn_server(db_url, tmp_path)
    alice = TestClient(first.host, first.port)
    alice.login("alice", PASSWORD)
    alice.send_raw(b"".join(
        json.dumps({"op": "message", "id": n, "to": "bob", "text": f"m{n}"}).encode() + b"\n"
        for n in range(STREAM)
    ))  # fmt: skip
    acknowledged: dict[int, str] = {}  # msg_id -> text, for every ok alice saw
    while len(acknowledged) < KILL_AFTER_OKS:
        reply = alice.read_frame()
        assert reply is not None and reply.get("ok"), reply
        acknowledged[reply["msg_id"]] = f"m{reply['re']}"
    first.kill()
    while (reply := alice.read_frame()) is not None:  # oks that raced the kill count too
        if reply.get("re") is not None and reply.get("ok"):
            acknowledged[reply["msg_id"]] = f"m{reply['re']}"
    alice.close()

    second = spawn_server(db_url, tmp_path)
    bob = TestClient(second.host, second.port)
    pending = bob.login("bob", PASSWORD)["pending"]
    backlog = [bob.expect(ev="message") for _ in range(pending)]
    record = whole_record(bob, "alice")
    assert {m["msg_id"]: m["text"] for m in record} == {m["msg_id"]: m["text"] for m in backlog}
    assert len({m["msg_id"] for m in record}) == len(record)  # each once
    assert acknowledged.items() <= {m["msg_id"]: m["text"] for m in record}.items()
    shown = [m["msg_id"] for m in backlog[: len(backlog) // 2]]
    for msg_id in shown:
        bob.send({"op": "ack", "msg_id": msg_id})
    assert bob.request("conversations")["conversations"][0]["unread"] == pending - len(shown)
    second.kill()
    bob.close()

    third = spawn_server(db_url, tmp_path)
    try:
        again = TestClient(third.host, third.port)
        assert again.login("bob", PASSWORD)["pending"] == pending - len(shown)
        redelivered = [again.expect(ev="message")["msg_id"] for _ in range(pending - len(shown))]
        assert not set(redelivered) & set(shown)
        assert [m["msg_id"] for m in whole_record(again, "alice")] == [m["msg_id"] for m in record]
        again.close()
    finally:
        assert third.terminate() == 0
