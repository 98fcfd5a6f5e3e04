"""`kill -9` in the middle of a stream of `say`: no acknowledged seq lost, no gap, no duplicate.

The server runs as its own process on the test's database (SQLite here, PostgreSQL in the
PostgreSQL run). After the restart the sender retries every request with its nonce, as a
client that lost its replies would: each acknowledged one gets its original seq back, the
others are stored now, and the room ends up with each message exactly once, numbered 1..n
in the order they were sent.
"""

from __future__ import annotations

import json
from pathlib import Path

from service.store import Store
from service.wire.timeutil import utc_now
from tests.conftest import PASSWORD
from tests.support.client import Frame, TestClient
from tests.support.rooms import cheap_users
from tests.support.server import spawn_server

STREAM = 400  # says written before the first reply is read: many are in flight at the kill
KILL_AFTER_OKS = 40


def stream(client: TestClient, count: int) -> None:
    client.send_raw(b"".join(
        json.dumps({"op": "say", "id": n, "room": "#general", "text": f"m{n}",
                    "nonce": f"n{n}"}).encode() + b"\n"
        for n in range(count)
    ))  # fmt: skip


def whole_history(client: TestClient) -> list[Frame]:
    """Every message of #general, oldest first, paging backwards 100 at a time."""
    pages: list[list[Frame]] = []
    before: int | None = None
    while True:
        fields = {"room": "#general", "limit": 100}
        page = client.request("history", **fields, **({} if before is None else {"before": before}))
        assert page["ok"], page
        if not page["messages"]:
            break
        pages.insert(0, page["messages"])
        before = page["messages"][0]["seq"]
    return [message for page in pages for message in page]


def test_kill_9_during_a_stream_of_say(db_url: str, tmp_path: Path) -> None:
    cheap_users(db_url, ["alice", "bob"])
    store = Store.open(db_url, group_commit=False)
    try:
        for name in ("alice", "bob"):
            store.rooms.join_room(name, "#general", utc_now())
    finally:
        store.close()

    first = spawn_server(db_url, tmp_path, "--request-rate", "0")  # a stream of says
    alice = TestClient(first.host, first.port)
    alice.login("alice", PASSWORD)
    stream(alice, STREAM)
    acknowledged: dict[int, str] = {}  # seq -> text, for every ok the sender saw
    while len(acknowledged) < KILL_AFTER_OKS:
        reply = alice.read_frame()
        assert reply is not None and reply["ok"], reply
        acknowledged[reply["seq"]] = f"m{reply['re']}"
    first.kill()
    while (reply := _next_or_none(alice)) is not None:  # oks that raced the kill count too
        if reply.get("re") is not None and reply.get("ok"):
            acknowledged[reply["seq"]] = f"m{reply['re']}"
    alice.close()

    second = spawn_server(db_url, tmp_path, "--request-rate", "0")  # every say again
    try:
        bob = TestClient(second.host, second.port)
        [room] = bob.login("bob", PASSWORD)["rooms"]
        stored = whole_history(bob)
        seqs = [message["seq"] for message in stored]
        assert seqs == list(range(1, len(stored) + 1)), "a gap or a duplicate seq"
        assert room["unread"] == len(stored) >= len(acknowledged)
        by_seq = {message["seq"]: message["text"] for message in stored}
        assert {seq: by_seq.get(seq) for seq in acknowledged} == acknowledged, "an ok was lost"
        texts = [message["text"] for message in stored]
        assert texts == [f"m{n}" for n in range(len(stored))]  # in the order they were sent

        alice = TestClient(second.host, second.port)
        alice.login("alice", PASSWORD)
        stream(alice, STREAM)  # every request again, with its nonce
        again = {n: alice.reply_to(n) for n in range(STREAM)}
        assert all(reply["ok"] for reply in again.values())
        for seq, text in acknowledged.items():
            assert again[int(text[1:])]["seq"] == seq  # the original seq, nothing new
        final = whole_history(bob)
        assert [m["seq"] for m in final] == list(range(1, STREAM + 1))
        assert sorted(m["text"] for m in final) == sorted(f"m{n}" for n in range(STREAM))
        alice.close()
        bob.close()
    finally:
        assert second.terminate() == 0


def _next_or_none(client: TestClient, timeout_s: float = 2.0) -> Frame | None:
    try:
        return client.read_frame(timeout_s=timeout_s)
    except (TimeoutError, ConnectionError, OSError):
        return None
