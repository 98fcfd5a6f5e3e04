"""Revision 0006 on a database that has unacknowledged messages (issue: `dm_history`): the
upgrade loses none and delivers none twice. Before it, an ack deleted its message, so every row
is waiting: after the upgrade a login delivers exactly those, once, with their msg_ids, and
`dm_history` shows them; a later message never reuses an id given before the upgrade.

The database is built at revision 0005 with that revision's schema, by SQL as the server of
then wrote it; then a real server (which upgrades at start) is asked over a socket.
"""

from __future__ import annotations

from alembic import command
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from service.config import ServerConfig
from service.store.db import alembic_config
from tests.conftest import PASSWORD
from tests.support.client import TestClient
from tests.support.server import cheap_hash, start_server

AT = "2026-12-01 10:00:00"


def build_at_0005(db_url: str) -> dict[int, tuple[str, str, str]]:
    """alice, bob and carol, and waiting messages with a gap where an acked one was deleted
    (as 0005 did); returns msg_id -> (from, to, text) of those left."""
    command.upgrade(alembic_config(db_url), "0005")
    engine = create_engine(db_url, poolclass=NullPool)
    try:
        with engine.begin() as c:
            for name in ("alice", "bob", "carol"):
                c.execute(
                    text("INSERT INTO users (name, password_hash, created_at, failed_attempts) "
                         "VALUES (:name, :hash, '2026-11-01 09:00:00', 0)"),
                    {"name": name, "hash": cheap_hash(PASSWORD)},
                )  # fmt: skip
            ids: dict[str, int] = dict(c.execute(text("SELECT name, id FROM users")).all())
            rows = [("alice", "bob", f"a{n}") for n in range(4)]
            rows += [("carol", "bob", "c0"), ("bob", "alice", "b0")]
            for sender, recipient, words in rows:
                c.execute(
                    text("INSERT INTO messages (recipient_id, sender, text, sent_at) "
                         "VALUES (:rid, :sender, :text, :at)"),
                    {"rid": ids[recipient], "sender": sender, "text": words, "at": AT},
                )  # fmt: skip
            c.execute(text("DELETE FROM messages WHERE text IN ('a1', 'b0')"))  # acked then
            left = c.execute(text("SELECT m.id, m.sender, u.name, m.text FROM messages m "
                                  "JOIN users u ON u.id = m.recipient_id"))  # fmt: skip
            return {row[0]: (row[1], row[2], row[3]) for row in left}
    finally:
        engine.dispose()


def test_waiting_messages_are_delivered_once_with_their_ids_and_kept_in_the_record(
    server_config: ServerConfig,
) -> None:
    waiting = build_at_0005(server_config.db_url)
    assert len(waiting) == 4
    running = start_server(server_config)  # upgrades to head
    try:
        bob = TestClient(running.host, running.port)
        assert bob.login("bob", PASSWORD)["pending"] == 4
        backlog = [bob.expect(ev="message") for _ in range(4)]
        assert {e["msg_id"]: (e["from"], "bob", e["text"]) for e in backlog} == waiting
        assert all(e["stored"] for e in backlog)
        for event in backlog:
            bob.send({"op": "ack", "msg_id": event["msg_id"]})
        record = bob.request("dm_history", **{"with": "alice"})["messages"]
        assert [(m["msg_id"], m["from"], m["to"], m["text"]) for m in record] == [
            (msg_id, *fields) for msg_id, fields in sorted(waiting.items()) if fields[0] == "alice"
        ]
        conversations = bob.request("conversations")["conversations"]
        assert [(c["with"], c["unread"]) for c in conversations] == [("carol", 0), ("alice", 0)]
        newer = bob.request("message", to="alice", text="after the upgrade")
        assert newer["msg_id"] > 6  # the deleted b0 (id 6) is never given again
        bob.request("logout")
        bob.wait_closed()

        again = TestClient(running.host, running.port)
        assert again.login("bob", PASSWORD)["pending"] == 0  # acked: not delivered again
        alice = TestClient(running.host, running.port)
        assert alice.login("alice", PASSWORD)["pending"] == 1  # only the new one
    finally:
        running.stop()
