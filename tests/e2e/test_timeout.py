"""chat/1 inactivity timeout against a real server (PROTOCOL.md "Inactivity timeout").

Only requests other than `ping` and `ack` count as activity, `active` included (precise point
15: what the user does that the server does not see). With a 1 s timeout each test
waits on conditions (a bye, a presence event) with deadlines well past the timeout.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from service.config import ServerConfig
from tests.support.client import Frame, TestClient

TIMEOUT_S = 1.0
GRACE_S = 2.0  # how late past the timeout a bye may come on a loaded machine
STEP_S = 0.1  # pace of keep-alive and ping requests, well inside the timeout

Login = Callable[..., TestClient]


@pytest.fixture
def server_config(db_url: str) -> ServerConfig:
    return ServerConfig(port=0, db_url=db_url, block_duration_s=60, timeout_s=TIMEOUT_S)


def next_frame_within(client: TestClient, seconds: float) -> Frame | None:
    """The next frame if one comes within `seconds`; raises ConnectionError on a close."""
    try:
        frame = client.read_frame(timeout_s=seconds)
    except TimeoutError:
        return None
    if frame is None:
        raise ConnectionError("the server closed the connection")
    return frame


def test_idle_session_ends_with_bye_timeout(login: Login) -> None:
    alice = login("alice")
    frames = alice.wait_closed(timeout_s=TIMEOUT_S + GRACE_S)
    assert [(f.get("ev"), f.get("reason")) for f in frames] == [("bye", "timeout")]
    assert frames[-1]["text"]


def test_others_see_the_idle_user_go_offline(login: Login) -> None:
    alice = login("alice")
    bob = login("bob")
    deadline = time.monotonic() + TIMEOUT_S + GRACE_S
    offline: Frame | None = None
    while offline is None:
        assert time.monotonic() < deadline, "bob never heard that alice timed out"
        assert bob.request("whoelse")["ok"] is True  # bob stays active meanwhile
        try:
            offline = bob.expect(ev="presence", user="alice", state="offline", timeout_s=STEP_S)
        except TimeoutError:
            pass
    assert offline["at"].endswith("Z")
    assert bob.request("whoelse")["users"] == []
    assert alice.wait_closed(timeout_s=GRACE_S)[-1]["reason"] == "timeout"


def test_pings_alone_do_not_keep_a_session_alive(login: Login) -> None:
    alice = login("alice")
    logged_in_at = time.monotonic()
    deadline = logged_in_at + TIMEOUT_S + GRACE_S
    pongs = 0
    frames: list[Frame] = []
    try:
        while time.monotonic() < deadline:
            reply = alice.request("ping")
            assert reply["ok"] is True
            pongs += 1
            if (frame := next_frame_within(alice, STEP_S)) is not None:
                frames.append(frame)
        pytest.fail(f"still logged in {TIMEOUT_S + GRACE_S} s after login, {pongs} pings later")
    except (ConnectionError, OSError):
        pass  # the server ended the session
    frames += alice.events()
    assert ("bye", "timeout") in [(f.get("ev"), f.get("reason")) for f in frames]
    assert pongs >= 2  # it really was pinging while the timeout ran


def test_requests_that_count_keep_a_session_alive(login: Login) -> None:
    alice = login("alice")
    busy_until = time.monotonic() + TIMEOUT_S * 1.5  # past the deadline a login alone gives
    while time.monotonic() < busy_until:
        assert alice.request("whoelse")["ok"] is True  # ConnectionError if it timed out
        last_request_at = time.monotonic()
        assert next_frame_within(alice, STEP_S) is None

    frames = alice.wait_closed(timeout_s=TIMEOUT_S + GRACE_S)
    idle_for = time.monotonic() - last_request_at
    assert [(f.get("ev"), f.get("reason")) for f in frames] == [("bye", "timeout")]
    assert idle_for >= TIMEOUT_S * 0.5  # counted from the last whoelse, not from the login


def test_active_alone_keeps_a_session_alive(login: Login) -> None:
    """A client whose user only talks peer to peer sends `active` now and then: the server
    must not log that user out for being idle (precise point 15)."""
    alice = login("alice")
    asked = alice.request("active")
    assert asked == {"re": asked["re"], "ok": True}  # the reply carries nothing
    busy_until = time.monotonic() + TIMEOUT_S * 1.75
    while time.monotonic() < busy_until:
        alice.send({"op": "active"})  # as clients send it: no id, no reply
        assert next_frame_within(alice, TIMEOUT_S / 4) is None  # ConnectionError on a close

    assert alice.request("whoelse")["ok"] is True  # still logged in, 1.75 timeouts later
