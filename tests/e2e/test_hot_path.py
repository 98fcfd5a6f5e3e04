"""The shape of the direct-message hot path, observed on a real server in this process:
no reference cycles per message (so no garbage collection work per message), and each
callback on the thread the code says it runs on."""

from __future__ import annotations

import gc
import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from service.net.delivery import Delivery
from service.pipeline.answerer import Answerer
from service.wire import requests as requests_module
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


def test_our_bug_while_starting_a_message_fails_that_message_alone(
    login: Login, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The connection is the exception boundary: a message whose start raises (our bug) is
    answered `internal`, the messages around it in the same write go on, and the session
    still ends cleanly, as nothing is left counted in flight."""
    real = requests_module.plain_message

    def broken(frame: dict[str, Any]) -> Any:
        if frame.get("text") == "boom":
            raise RuntimeError("a bug of ours")
        return real(frame)

    monkeypatch.setattr(requests_module, "plain_message", broken)
    alice, _bob = login("alice"), login("bob")
    alice.send_raw(
        b'{"op":"message","id":1,"to":"bob","text":"one"}\n'
        b'{"op":"message","id":2,"to":"bob","text":"boom"}\n'
        b'{"op":"message","id":3,"to":"bob","text":"three"}\n'
    )
    replies = {n: alice.reply_to(n) for n in (1, 2, 3)}
    assert (replies[1]["ok"], replies[3]["ok"]) == (True, True)
    assert replies[2]["error"] == "internal"
    assert "could not be started" in caplog.text
    assert alice.request("logout")["ok"]
    frames = alice.wait_closed(timeout_s=5)
    assert frames[-1]["ev"] == "bye" and frames[-1]["reason"] == "logout"


def test_a_run_of_plain_and_unusual_frames_is_answered_in_order(login: Login) -> None:
    """One write, one run of message/ack frames (service/net/connection.py, _start_windowed):
    the plain ones go straight into the batch, the others take the general path, and every
    reply comes back in request order, each as it would alone."""
    alice, bob = login("alice"), login("bob")
    frames = [
        {"op": "message", "id": 1, "to": "bob", "text": "plain"},
        {"op": "message", "id": None, "to": "bob", "text": "a null id"},
        {"op": "message", "id": "s", "to": "bob", "text": "a string id", "nonce": "n-1"},
        {"op": "ack", "id": 2, "msg_id": -1},
        {"op": "message", "id": True, "to": "bob", "text": "a bool id"},
        {"op": "ack", "id": 3, "msg_id": 10**12},
        {"op": "message", "id": 4, "to": "bob", "text": 5},
        {"op": "message", "id": 5, "to": "bob\x00", "text": "a NUL in the name"},
        {"op": "message", "to": "bob", "text": "no id: no reply"},
        {"op": "message", "id": 6, "to": "bob", "text": "plain again"},
    ]
    alice.send_raw(b"".join(json.dumps(frame).encode() + b"\n" for frame in frames))
    replies: list[dict[str, Any]] = []
    while len(replies) < 8:
        frame = alice.read_frame()
        assert frame is not None
        if "re" in frame:  # (not the presence of bob, say)
            replies.append(frame)
    unusable = [reply for reply in replies if reply["re"] is None]  # answered at once
    assert len(unusable) == 2 and {reply["error"] for reply in unusable} == {"bad_request"}
    in_turn = [(reply["re"], reply["ok"]) for reply in replies if reply["re"] is not None]
    # (an ack of an id that is no message of bob's forgets nothing: ok)
    assert in_turn == [(1, True), ("s", True), (2, True), (3, True), (4, False), (5, False)]
    assert {reply["error"] for reply in replies if reply["re"] in (4, 5)} == {"bad_request"}
    assert alice.reply_to(6)["ok"] is True
    texts = [bob.expect(ev="message")["text"] for _ in range(4)]
    assert texts == ["plain", "a string id", "no id: no reply", "plain again"]
