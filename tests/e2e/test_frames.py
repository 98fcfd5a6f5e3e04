"""chat/1 framing and request validation against a real server, fed raw bytes.

PROTOCOL.md "Transport and framing", "Three kinds of frame" and precise points 1, 2 and 8.
Raw frames use string ids ("raw", "big"...) so they never collide with TestClient's own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import PASSWORD
from tests.support.client import Frame, TestClient

MAX_FRAME_BYTES = 65_536  # chat/1: one frame, newline included
MAX_BAD_FRAMES = 20  # chat/1: the 21st bad frame closes the connection

Login = Callable[..., TestClient]
# Frames refused before any login reach no database: one run (on SQLite) is enough for them.
before_login = pytest.mark.sqlite_only


def padded_ping(total_bytes: int, pad_char: str = "x") -> bytes:
    """A ping with an ignored `pad` field, exactly `total_bytes` long including the newline."""
    head, tail = b'{"op": "ping", "id": "big", "pad": "', b'"}\n'
    room = total_bytes - len(head) - len(tail)
    unit = pad_char.encode()
    pad = unit * (room // len(unit)) + b"x" * (room % len(unit))
    data = head + pad + tail
    assert len(data) == total_bytes
    return data


def kinds(frames: list[Frame]) -> list[tuple[Any, Any]]:
    """(ev, error or reason) of each frame: enough to check an order of events."""
    return [(f.get("ev"), f.get("error", f.get("reason"))) for f in frames]


def expect_bad_frame(client: TestClient) -> Frame:
    event = client.expect(ev="error", timeout_s=2)
    assert event["error"] == "bad_frame" and event["text"], event
    return event


def assert_serving(client: TestClient) -> None:
    pong = client.request("ping")
    assert pong["ok"] is True and pong["time"], pong


def assert_no_reply_to(client: TestClient, request_id: Any) -> None:
    assert client.events(re=request_id) == [], f"a reply to {request_id!r} arrived"


# --- frames that are not JSON objects -----------------------------------------------------------

NOT_JSON = [b'{"op": "ping", "id": "raw"', b"hello server", b'{"op": "ping", "id": "raw",}']
NOT_UTF8 = [
    b'{"op": "ping", "id": "raw", "x": "\xff\xfe"}',
    b'{"op": "ping", "id": "raw", "x": "\xc0\xaf"}',  # an overlong "/"
    b'{"op": "ping", "id": "raw", "x": "\xed\xa0\x80"}',  # a surrogate, UTF-8 encoded
]
NOT_AN_OBJECT = [b"[1, 2]", b"42", b'"ping"', b"null", b"true", b'[{"op": "ping", "id": "raw"}]']


@before_login
@pytest.mark.parametrize(
    "raws", [NOT_JSON, NOT_UTF8, NOT_AN_OBJECT], ids=["not-json", "not-utf8", "not-an-object"]
)
def test_unreadable_line_gets_bad_frame_and_the_connection_stays_open(
    connect: Callable[[], TestClient], raws: list[bytes]
) -> None:
    client = connect()
    for raw in raws:
        client.send_raw(raw + b"\n")
        event = client.expect(ev="error", timeout_s=2)
        assert (event["error"], bool(event["text"])) == ("bad_frame", True), (raw, event)
        assert_serving(client)
        assert_no_reply_to(client, "raw")


@before_login
def test_blank_lines_are_ignored(connect: Callable[[], TestClient]) -> None:
    client = connect()
    blank = b"\n" + b"   \n" + b"\t \r\n"
    client.send_raw(blank * (MAX_BAD_FRAMES + 5))  # more than the bad-frame limit, if counted
    assert_serving(client)
    assert client.events() == []


# --- frame size ---------------------------------------------------------------------------------


@before_login
@pytest.mark.parametrize("pad_char", ["x", "é"], ids=["ascii", "two-byte"])
def test_frame_of_exactly_the_limit_is_accepted(
    connect: Callable[[], TestClient], pad_char: str
) -> None:
    client = connect()
    client.send_raw(padded_ping(MAX_FRAME_BYTES, pad_char))
    reply = client.reply_to("big")
    assert reply["ok"] is True
    assert client.events(ev="error") == []


@before_login
@pytest.mark.parametrize("pad_char", ["x", "é"], ids=["ascii", "two-byte"])
def test_oversized_frame_gets_error_then_bye_then_close(
    connect: Callable[[], TestClient], pad_char: str
) -> None:
    client = connect()
    client.send_raw(padded_ping(MAX_FRAME_BYTES + 1, pad_char))
    frames = client.wait_closed(timeout_s=3)
    assert kinds(frames) == [("error", "frame_too_large"), ("bye", "protocol_error")]
    assert frames[0]["text"] and frames[1]["text"]


@before_login
def test_oversized_frame_in_small_pieces_is_refused_too(connect: Callable[[], TestClient]) -> None:
    client = connect()
    data = padded_ping(MAX_FRAME_BYTES + 1)
    for start in range(0, len(data), 4096):
        client.send_raw(data[start : start + 4096])
    frames = client.wait_closed(timeout_s=3)
    assert kinds(frames) == [("error", "frame_too_large"), ("bye", "protocol_error")]


@before_login
def test_endless_line_without_newline_is_refused(connect: Callable[[], TestClient]) -> None:
    """The server may not buffer more than one frame waiting for a newline that never comes."""
    client = connect()
    try:
        client.send_raw(b'{"op": "ping", "pad": "' + b"x" * (2 * MAX_FRAME_BYTES))
    except OSError:
        pass  # the server may already have closed while we were still sending
    frames = client.wait_closed(timeout_s=3)
    assert kinds(frames) == [("error", "frame_too_large"), ("bye", "protocol_error")]


# --- too many bad frames ------------------------------------------------------------------------


@before_login
def test_the_21st_bad_frame_closes_the_connection(connect: Callable[[], TestClient]) -> None:
    client = connect()
    client.send_raw(b"not json\n" * MAX_BAD_FRAMES)
    for _ in range(MAX_BAD_FRAMES):
        expect_bad_frame(client)
    assert_serving(client)  # 20 bad frames: still open

    client.send_raw(b"not json\n")
    frames = client.wait_closed(timeout_s=3)
    assert kinds(frames) == [("error", "bad_frame"), ("bye", "protocol_error")]
    assert frames[1]["text"]


# --- well-formed frames that are not valid requests ---------------------------------------------


ILL_TYPED: list[tuple[str, dict[str, Any]]] = [
    ("message", {"to": "bob", "text": 5}),
    ("message", {"to": ["bob"], "text": "hi"}),
    ("message", {"to": "bob"}),
    ("message", {"to": "bob", "text": "hi", "nonce": 7}),
    ("whoelsesince", {"seconds": "10"}),
    ("whoelsesince", {"seconds": 10.0}),
    ("whoelsesince", {"seconds": 0}),
    ("whoelsesince", {"seconds": True}),
    ("whoelsesince", {}),
    ("block", {"user": {"name": "bob"}}),
]


def test_ill_typed_fields_get_bad_request(login: Login) -> None:
    client = login("alice")
    for op, fields in ILL_TYPED:
        reply = client.request(op, **fields)
        assert (reply["ok"], reply.get("error")) == (False, "bad_request"), (op, fields, reply)
        assert reply["text"]
    assert_serving(client)


def test_ill_typed_message_is_not_stored(login: Login, connect: Callable[[], TestClient]) -> None:
    alice = login("alice")
    assert alice.request("message", to="bob", text=5)["error"] == "bad_request"
    bob = connect()
    assert bob.login("bob", PASSWORD)["pending"] == 0


@before_login
def test_ill_typed_id_gets_bad_request_with_re_null(connect: Callable[[], TestClient]) -> None:
    client = connect()
    for bad_id in ([1], {"n": 1}, 1.5, True, None):
        client.send({"op": "ping", "id": bad_id})
        reply = client.reply_to(None)
        assert reply["re"] is None, (bad_id, reply)
        assert (reply["ok"], reply["error"]) == (False, "bad_request"), (bad_id, reply)
    assert_serving(client)


@before_login
def test_missing_or_non_string_op_gets_bad_request(connect: Callable[[], TestClient]) -> None:
    client = connect()
    for frame in ({"id": "raw"}, {"op": 5, "id": "raw"}, {"op": None, "id": "raw"},
                  {"op": ["ping"], "id": "raw"}):  # fmt: skip
        client.send(frame)
        reply = client.reply_to("raw")
        assert (reply["ok"], reply["error"]) == (False, "bad_request"), (frame, reply)


def test_check_order_unknown_op_then_not_logged_in_then_bad_request(
    connect: Callable[[], TestClient],
) -> None:
    client = connect()
    unknown = client.request("frobnicate", seconds="not even checked")
    assert unknown["error"] == "unknown_op"  # before not_logged_in (precise point 1)
    before_login = client.request("message", to="bob", text=5)
    assert before_login["error"] == "not_logged_in"  # before bad_request
    client.login("alice", PASSWORD)
    assert client.request("frobnicate")["error"] == "unknown_op"
    missing = client.request("message", to="nobody-at-all")
    assert missing["error"] == "bad_request"  # before the op's own no_such_user


@before_login
def test_requests_without_id_get_no_reply(connect: Callable[[], TestClient]) -> None:
    client = connect()
    client.send({"op": "ping"})
    client.send({"op": "whoelse"})  # not_logged_in, but nobody asked to hear it
    client.send({"op": "frobnicate"})
    client.send({"op": "login", "user": 5})
    client.send({"op": "ping", "id": "last"})
    assert client.reply_to("last")["ok"] is True
    assert [f for f in client.events() if "re" in f] == []


# --- lone surrogates: valid JSON escapes, not valid Unicode text --------------------------------


def answer_to(client: TestClient, op: str, fields: dict[str, Any]) -> Frame:
    """Send a request, then a ping: the one reply or error event the request got."""
    client.send({"op": op, "id": "raw", **fields})  # json.dumps writes "\\udxxx" escapes
    assert_serving(client)
    replies, errors = client.events(re="raw"), client.events(ev="error")
    answers = [client.expect(re="raw") for _ in replies] + [
        client.expect(ev="error") for _ in errors
    ]
    assert len(answers) == 1, (op, fields, answers)
    return answers[0]


def assert_clear_refusal(answer: Frame) -> None:
    """A `bad_request` reply (the field is not text) or a `bad_frame` error: never `internal`."""
    if "re" in answer:
        assert (answer["ok"], answer["error"]) == (False, "bad_request"), answer
    else:
        assert answer["error"] == "bad_frame", answer
    assert answer["text"]


SURROGATES: list[tuple[str, dict[str, Any]]] = [
    ("message", {"to": "bob", "text": "hi \ud800"}),
    ("message", {"to": "bob", "text": "\udc00\ud800"}),  # a pair in the wrong order
    ("message", {"to": "b\ud800ob", "text": "hi"}),
    ("message", {"to": "bob", "text": "hi", "nonce": "\ud800"}),
    ("broadcast", {"text": "\ud83d"}),
    ("block", {"user": "\udfff"}),
]


def test_lone_surrogates_are_refused_and_the_server_keeps_serving(login: Login) -> None:
    alice, bob = login("alice"), login("bob")
    for op, fields in SURROGATES:
        assert_clear_refusal(answer_to(alice, op, fields))
    assert alice.request("message", to="bob", text="after")["ok"] is True
    assert bob.expect(ev="message")["text"] == "after"  # nothing was delivered before it
    assert bob.events(ev="broadcast") == []
    assert alice.request("blocklist")["users"] == []


def test_lone_surrogates_in_login_are_refused(connect: Callable[[], TestClient]) -> None:
    client = connect()
    for fields in ({"user": "al\ud800ice", "password": "x"}, {"user": "bob", "password": "\ud800"}):
        answer = answer_to(client, "login", fields)
        if answer.get("error") != "bad_credentials":  # also fair: no such user or password
            assert_clear_refusal(answer)
    client.login("alice", PASSWORD)


# --- a misbehaving client harms nobody else -----------------------------------------------------


def test_abuse_from_one_client_does_not_harm_others(
    connect: Callable[[], TestClient], login: Login
) -> None:
    alice = login("alice")
    carol = login("carol")  # a logged-in client gone bad
    carol.send_raw(b'{"op": "ping", "id": "raw", "x": "\xff"}\n')
    carol.send_raw(b'{"op": "message", "id": "raw", "to": "alice", "text": "\\ud800"}\n')
    carol.send({"op": "ping", "id": [1]})
    carol.send({"id": "no-op"})
    carol.send_raw(b"[]\n" * (MAX_BAD_FRAMES + 1))
    assert kinds(carol.wait_closed(timeout_s=3))[-1] == ("bye", "protocol_error")
    alice.expect(ev="presence", user="carol", state="offline")
    assert login("carol").request("whoelse")["users"] == ["alice"]  # offline at once (point 9)

    giant = connect()
    giant.send_raw(padded_ping(MAX_FRAME_BYTES + 1))
    assert kinds(giant.wait_closed(timeout_s=3))[-1] == ("bye", "protocol_error")

    bob = login("bob")
    reply = alice.request("message", to="bob", text="still here?")
    assert reply["ok"] is True and reply["delivered"] is True
    assert bob.expect(ev="message")["text"] == "still here?"
    assert alice.events(ev="message") == []  # carol's ill-formed message never arrived


def test_an_integer_too_long_for_json_parsing_is_a_bad_frame(login: Login) -> None:
    alice = login("alice")
    alice.send_raw(b'{"op":"ping","id":' + b"1" * 5000 + b"}\n")
    error = alice.expect(ev="error")
    assert error["error"] == "bad_frame"
    assert alice.request("ping")["ok"] is True  # still logged in, still served


@pytest.mark.parametrize("msg_id", [2**70, -(2**70)])
def test_integers_beyond_64_bits_are_bad_requests(login: Login, msg_id: int) -> None:
    alice = login("alice")
    reply = alice.request("ack", msg_id=msg_id)
    assert (reply["ok"], reply["error"]) == (False, "bad_request")
    assert alice.request("message", to="bob", text="still fine")["ok"] is True
