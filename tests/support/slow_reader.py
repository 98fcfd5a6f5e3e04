"""A sender that writes to a reader who never reads, until the server cuts that reader off:
shared by the slow-consumer tests over TCP and WebSocket (chat/1 "Slow consumers")."""

from __future__ import annotations

import time

from tests.support.client import TestClient

OUTBOX_LIMIT_BYTES = 131_072  # the smallest outbox ServerConfig allows: two whole frames
TEXT = "s" * 4_000  # the longest text chat/1 allows, so each event is ~4 KB
MAX_MESSAGES = 3_000  # ~12 MB: far past any kernel buffers plus the outbox on loopback
SMALL_RCVBUF_BYTES = 4_096  # set before connect, so the receive window never grows
SENDER_DEADLINE_S = 30.0  # every reply to the sender must come within this (TestClient
# also fails any single reply that takes over its 5 s timeout)


def send_until_cut_off(alice: TestClient) -> list[int | str]:
    """Messages to bob until the server says he is offline; their msg_ids, in order."""
    sent: list[int | str] = []
    started = time.monotonic()
    delivered = True
    while delivered and len(sent) < MAX_MESSAGES:
        reply = alice.request("message", to="bob", text=TEXT)
        assert reply["ok"] is True, reply
        sent.append(reply["msg_id"])
        delivered = reply["delivered"]  # False once bob is no longer online
    elapsed_s = time.monotonic() - started
    assert not delivered, f"bob still counted online after {len(sent)} messages"
    assert elapsed_s < SENDER_DEADLINE_S, f"{len(sent)} replies took {elapsed_s:.1f} s"
    return sent
