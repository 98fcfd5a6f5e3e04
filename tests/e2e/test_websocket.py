"""chat/1 over WebSocket on the web port: the same sessions as TCP, one frame per message.

A real server on port 0 with `web_port=0`, clients on wsproto (tests/support/ws.py) and raw
chat/1 over TCP side by side. The first tests run on PostgreSQL too; the rest are about the
transport, the same whatever the database.
"""

from __future__ import annotations

import json
import logging
import random
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import replace

import pytest

from service.config import ServerConfig
from tests.conftest import PASSWORD
from tests.support.client import TestClient
from tests.support.server import RunningServer, create_users, start_server
from tests.support.ws import BINARY, CONTINUATION, TEXT, UpgradeRefused, WsTestClient

WsConnect = Callable[..., WsTestClient]
sqlite_only = pytest.mark.sqlite_only  # the transport, not the database


@pytest.fixture
def server_config(server_config: ServerConfig) -> ServerConfig:
    return replace(server_config, web_port=0, web_origins=("https://chat.example.org",))


@pytest.fixture
def ws(server: RunningServer) -> Iterator[WsConnect]:
    clients: list[WsTestClient] = []

    def open_client(**options: object) -> WsTestClient:
        client = WsTestClient(server.host, server.web_port, **options)  # type: ignore[arg-type]
        clients.append(client)
        return client

    yield open_client
    for client in clients:
        client.close()


def test_a_web_session_and_a_tcp_session_talk_both_ways(
    ws: WsConnect, login: Callable[[str], TestClient]
) -> None:
    web = ws()
    assert web.hello["proto"] == "chat/1" and "features" in web.hello
    web.login("alice", PASSWORD)
    bob = login("bob")
    sent = bob.request("message", to="alice", text="hi from the terminal")
    assert sent == {"re": sent["re"], "ok": True, "msg_id": sent["msg_id"], "delivered": True}
    got = web.expect(ev="message")
    assert (got["from"], got["text"], got["stored"]) == ("bob", "hi from the terminal", False)
    web.send({"op": "ack", "msg_id": got["msg_id"]})
    assert web.request("message", to="bob", text="hi from the browser ✓")["delivered"] is True
    assert bob.expect(ev="message")["text"] == "hi from the browser ✓"
    assert bob.request("whoelse")["users"] == ["alice"]


def test_startprivate_to_a_web_only_user_is_declined_as_unsupported(
    ws: WsConnect, login: Callable[[str], TestClient]
) -> None:
    """chat/1 precise point 16: a page cannot listen for a peer; it is never asked."""
    web = ws()
    web.login("alice", PASSWORD)
    bob = login("bob")
    reply = bob.request("startprivate", user="alice")
    assert reply["ok"] is True
    declined = bob.expect(ev="private_declined")
    assert declined == {"ev": "private_declined", "request": reply["request"], "user": "alice",
                        "reason": "unsupported"}  # fmt: skip
    assert web.request("ping")["ok"] is True
    assert not web.events(ev="private_request")
    # nothing is pending: asking again is declined again, not `already_private`
    assert bob.request("startprivate", user="alice")["ok"] is True
    assert bob.expect(ev="private_declined")["reason"] == "unsupported"


@sqlite_only
def test_a_backlog_of_more_than_64_kib_reaches_a_web_session_whole(
    ws: WsConnect, login: Callable[[str], TestClient]
) -> None:
    """The backlog goes out in pages of 64 KiB, each waiting for room in the outbox: a web
    session's outbox is bounded like any session's (--outbox-limit), not like the HTTP
    exchange it was upgraded from (which holds a file and no more, so a page never fit)."""
    bob = login("bob")
    texts = [f"{n:02d}" + "x" * 3_998 for n in range(24)]  # ~98 KiB stored for alice
    for text in texts:
        assert bob.request("message", to="alice", text=text)["ok"] is True
    web = ws()
    assert web.login("alice", PASSWORD)["pending"] == len(texts)
    got = [web.expect(ev="message")["text"] for _ in texts]
    assert got == texts
    assert web.request("ping")["ok"] is True


@sqlite_only
def test_room_messages_reach_web_members_and_tcp_members_alike(
    ws: WsConnect, login: Callable[[str], TestClient], make_user: Callable[[str], None]
) -> None:
    """A room message is framed once for all its web members (service/net/web/outbox.py):
    each still gets every message, whole and in order."""
    make_user("carol")
    webs = [ws(), ws()]
    for web, name in zip(webs, ["alice", "carol"], strict=True):
        web.login(name, PASSWORD)
        assert web.request("join", room="#web")["ok"] is True
    bob = login("bob")
    assert bob.request("join", room="#web")["ok"] is True
    for text in ["one", "two", "three"]:
        assert bob.request("say", room="#web", text=text)["ok"] is True
    assert webs[0].request("say", room="#web", text="from the page")["ok"] is True
    expected = ["one", "two", "three", "from the page"]  # a sender hears its own no more
    assert [webs[1].expect(ev="room_message")["text"] for _ in expected] == expected
    assert [webs[0].expect(ev="room_message")["text"] for _ in expected[:3]] == expected[:3]
    assert bob.expect(ev="room_message")["text"] == "from the page"


@sqlite_only
def test_logout_says_bye_then_closes_normally(ws: WsConnect) -> None:
    web = ws()
    web.login("alice", PASSWORD)
    assert web.request("logout")["ok"] is True
    assert [f["reason"] for f in web.wait_closed()] == ["logout"]
    assert web.close_code == 1000


@sqlite_only
def test_a_message_with_two_frames_is_a_bad_frame_and_the_session_goes_on(ws: WsConnect) -> None:
    web = ws()
    web.send_frame(TEXT, b'{"op":"ping","id":1}\n{"op":"ping","id":2}')
    assert web.expect(ev="error")["error"] == "bad_frame"
    web.send_frame(TEXT, b'{"op": "ping",\n "id": 3}')  # one JSON value over lines: fine
    assert web.reply_to(3)["ok"] is True


@sqlite_only
def test_a_message_over_the_frame_limit_closes_with_1009(
    ws: WsConnect, caplog: pytest.LogCaptureFixture
) -> None:
    web = ws()
    web.login("alice", PASSWORD)
    text = "x" * 65_536
    head, tail = b'{"op":"ping","id":1,"pad":"', b'"}'
    web.send_frame(TEXT, head + b"y" * (65_536 - len(head) - len(tail)) + tail)
    assert web.reply_to(1)["ok"] is True  # exactly 65,536 bytes: allowed
    web.send_frame(TEXT, json.dumps({"op": "message", "to": "bob", "text": text}).encode())
    frames = web.wait_closed()
    assert [(f.get("ev"), f.get("error") or f.get("reason")) for f in frames] == [
        ("error", "frame_too_large"), ("bye", "protocol_error")]  # fmt: skip
    assert web.close_code == 1009
    assert "closed the WebSocket" in caplog.text and "1009" in caplog.text


@sqlite_only
def test_a_message_in_fragments_past_the_limit_closes_with_1009(
    ws: WsConnect, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    web = ws()
    web.send_frame(TEXT, b" " * 30_000, fin=False)
    for _ in range(2):
        web.send_frame(CONTINUATION, b" " * 30_000, fin=False)
    assert web.wait_closed()[-1]["reason"] == "protocol_error"
    assert web.close_code == 1009
    assert "with 1009:" in caplog.text


@sqlite_only
def test_a_frame_that_breaks_rfc_6455_closes_with_1002(
    ws: WsConnect, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    web = ws()
    web.send_frame(TEXT, b"{", fin=False)
    web.send_frame(TEXT, b"}")  # a new message inside the first: not a continuation
    assert [f.get("ev") for f in web.wait_closed()] == ["error", "bye"]
    assert web.close_code == 1002
    assert "with 1002:" in caplog.text


@sqlite_only
@pytest.mark.parametrize(
    ("opcode", "payload", "code"), [(BINARY, b'{"op":"ping"}', 1003), (TEXT, b'{"x":"\xff"}', 1007)]
)
def test_binary_and_bad_utf8_close_with_their_codes_and_a_log_line(
    ws: WsConnect, caplog: pytest.LogCaptureFixture, opcode: int, payload: bytes, code: int
) -> None:
    caplog.set_level(logging.WARNING)
    web = ws()
    web.send_frame(opcode, payload)
    frames = web.wait_closed()
    assert [f.get("ev") for f in frames] == ["error", "bye"]
    assert frames[0]["error"] == "bad_frame" and frames[1]["reason"] == "protocol_error"
    assert web.close_code == code
    assert f"with {code}:" in caplog.text


@sqlite_only
def test_a_foreign_origin_is_refused_403_and_gets_no_session(
    server: RunningServer, ws: WsConnect, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    with pytest.raises(UpgradeRefused) as refused:
        ws(origin="http://evil.example")
    assert refused.value.status == 403
    assert "'http://evil.example' is neither the page's own" in caplog.text
    assert server.server.services.hub.online_users() == []


@sqlite_only
def test_its_own_origin_and_a_listed_one_are_accepted_and_no_origin_is_refused(
    ws: WsConnect,
) -> None:
    for origin in ("", "https://chat.example.org"):
        assert ws(origin=origin).request("ping")["ok"] is True
    with pytest.raises(UpgradeRefused) as refused:
        ws(origin=None)
    assert refused.value.status == 403


@sqlite_only
def test_the_client_s_close_ends_the_session_and_is_answered(
    ws: WsConnect, login: Callable[[str], TestClient]
) -> None:
    web = ws()
    web.login("alice", PASSWORD)
    bob = login("bob")
    web.expect(ev="presence", user="bob", state="online")  # nothing left in flight to it
    web.send_close(1000)
    assert bob.expect(ev="presence", user="alice", state="offline")["ev"] == "presence"
    assert web.wait_closed() == [] and web.close_code == 1000


# --- the same limits as TCP -------------------------------------------------------------------


@pytest.fixture
def limited_server(db_url: str) -> Iterator[Callable[..., RunningServer]]:
    servers: list[RunningServer] = []

    def start(**options: object) -> RunningServer:
        create_users(db_url, {"alice": PASSWORD, "bob": PASSWORD})
        base = ServerConfig(port=0, web_port=0, db_url=db_url, allow_weak_hashing=True)
        running = start_server(replace(base, **options))  # type: ignore[arg-type]
        servers.append(running)
        return running

    yield start
    for running in servers:
        running.stop()


@sqlite_only
def test_the_request_rate_applies_over_websocket(
    limited_server: Callable[..., RunningServer],
) -> None:
    server = limited_server(request_rate=0.1, request_burst=5)  # a token per 10 s
    web = WsTestClient(server.host, server.web_port)
    web.login("alice", PASSWORD)  # takes a token: 4 left
    web.sock.sendall(b"".join(
        web.masked(TEXT, json.dumps({"op": "whoelse", "id": n}).encode()) for n in range(10, 20)
    ))  # fmt: skip
    replies = [web.reply_to(n) for n in range(10, 20)]
    assert [r["ok"] for r in replies] == [True] * 4 + [False] * 6
    assert replies[-1]["error"] == "rate_limited" and replies[-1]["retry_after"] >= 1
    web.close()


@sqlite_only
def test_the_idle_timeout_applies_over_websocket(
    limited_server: Callable[..., RunningServer],
) -> None:
    server = limited_server(timeout_s=1.0)
    web = WsTestClient(server.host, server.web_port)
    started = time.monotonic()  # before the login, the last request the idle time counts from
    web.login("alice", PASSWORD)
    assert [f["reason"] for f in web.wait_closed(timeout_s=5)] == ["timeout"]
    assert 0.8 < time.monotonic() - started < 5 and web.close_code == 1000
    web.close()


@sqlite_only
def test_a_shutdown_says_bye_and_closes_going_away(
    limited_server: Callable[..., RunningServer],
) -> None:
    server = limited_server()
    web = WsTestClient(server.host, server.web_port)
    web.login("alice", PASSWORD)
    server.stop()
    assert [f["reason"] for f in web.wait_closed()] == ["shutdown"]
    assert web.close_code == 1001
    web.close()


# --- any split, any junk -----------------------------------------------------------------------


@sqlite_only
def test_messages_in_one_write_in_fragments_or_split_anywhere_are_answered_in_order(
    ws: WsConnect,
) -> None:
    web = ws()
    frames = [web.masked(TEXT, json.dumps({"op": "ping", "id": n}).encode()) for n in range(20)]
    first, rest = b'{"op":"ping",', b'"id":20}'  # one message in two fragments, a ping between
    frames.append(web.masked(TEXT, first, fin=False))
    frames.append(web.masked(0x9, b"are you there"))  # a control frame inside the message
    frames.append(web.masked(CONTINUATION, rest))
    stream = b"".join(frames)
    rng = random.Random(20)
    cuts = sorted(rng.sample(range(1, len(stream)), 40))
    for start, end in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        web.sock.sendall(stream[start:end])
    assert [web.reply_to(n)["ok"] for n in range(21)] == [True] * 21


@sqlite_only
def test_junk_after_the_upgrade_only_ever_closes_that_connection(
    server: RunningServer, ws: WsConnect
) -> None:
    rng = random.Random(7)
    for _ in range(20):
        web = ws()
        web.sock.sendall(rng.randbytes(rng.randrange(1, 4096)))
        web.sock.shutdown(socket.SHUT_WR)
        web.wait_closed(timeout_s=5)  # whatever it made of the junk, it closed
    assert ws().request("ping")["ok"] is True
