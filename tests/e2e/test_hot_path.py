"""The shape of the direct-message hot path, observed on a real server in this process:
no reference cycles per message (so no garbage collection work per message), and each
callback on the thread the code says it runs on."""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from service.net.delivery import Delivery
from service.pipeline.answerer import Answerer
from tests.support.client import TestClient

Login = Callable[..., TestClient]
MESSAGES = 300


def exchange(alice: TestClient, bob: TestClient, count: int) -> None:
    """`count` messages alice -> bob, each acked by bob, all answered."""
    for n in range(count):
        alice.send({"op": "message", "id": n, "to": "bob", "text": f"m{n}"})
    for _ in range(count):
        event = bob.expect(ev="message")
        bob.send({"op": "ack", "msg_id": event["msg_id"]})
    for n in range(count):
        assert alice.reply_to(n)["ok"] is True
    assert bob.request("ping")["ok"] is True  # the acks before it were read


@pytest.fixture
def no_automatic_gc() -> Iterator[None]:
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def test_messages_leave_no_cyclic_garbage(login: Login, no_automatic_gc: None) -> None:
    alice, bob = login("alice"), login("bob")
    exchange(alice, bob, 20)  # warm up: first-use caches are not per-message garbage
    gc.collect()
    exchange(alice, bob, MESSAGES)
    garbage = gc.collect()
    # A reference cycle per message would leave at least MESSAGES objects; a batch may leave a
    # few (the test client's own frames leave none).
    assert garbage < MESSAGES / 10, f"{garbage} objects of cyclic garbage for {MESSAGES}"


def test_callbacks_run_on_the_threads_the_code_names(
    login: Login, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: dict[str, set[str]] = {"answer": set(), "catch_up": set()}

    def spy(kind: str, original: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            seen[kind].add(threading.current_thread().name)
            return original(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(Answerer, "answer", spy("answer", Answerer.answer))
    monkeypatch.setattr(Delivery, "catch_up", spy("catch_up", Delivery.catch_up))
    alice = login("alice")
    alice.request("message", to="bob", text="stored for later")
    bob = login("bob")
    bob.expect(ev="message", stored=True)
    exchange(alice, bob, 5)
    assert seen["answer"] == {"reactor"}  # after the commit, by the thread owning the sockets
    # on a catch-up thread: a client slow to read delays no login (service/net/connection.py)
    assert seen["catch_up"] and all(name.startswith("catch_up_") for name in seen["catch_up"])
