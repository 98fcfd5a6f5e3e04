"""Request parsing: types per chat/1 precise point 2, unknown fields ignored."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.wire import requests as m
from service.wire.errors import ErrorCode, RequestError


def parse(frame: dict[str, Any]) -> m.Request:
    return m.parse_fields(m.REQUEST_TYPES[m.op_name(frame)], frame)


ROOM_OPS = {"join", "leave", "say", "read", "history", "rooms", "members"}  # chat/1 "Rooms"
DM_OPS = {"dm_history", "conversations"}  # chat/1 "Direct-message history"
SEARCH_OPS = {"search"}  # chat/1 "Search"


def test_every_op_of_the_protocol_table_is_known() -> None:
    assert set(m.REQUEST_TYPES) >= ROOM_OPS | DM_OPS | SEARCH_OPS
    assert set(m.REQUEST_TYPES) - ROOM_OPS - DM_OPS - SEARCH_OPS == {
        "login", "register", "message", "broadcast", "whoelse", "whoelsesince", "block",
        "unblock", "blocklist", "ack", "startprivate", "private_answer", "stopprivate",
        "logout", "ping", "active",
    }  # fmt: skip


def test_fields_become_a_typed_request_and_unknown_fields_are_ignored() -> None:
    request = parse({"op": "message", "to": "bob", "text": "hi", "nonce": "n1", "extra": [1]})
    assert request == m.Message(to="bob", text="hi", nonce="n1")


def test_list_ops_take_after_and_limit_at_their_bounds() -> None:
    """chat/1 precise point 18; `null` is the same as absent, as for `history`'s limit."""
    assert parse({"op": "whoelse", "after": "bob", "limit": 1_000}) == m.WhoElse("bob", 1_000)
    assert parse({"op": "whoelse", "after": None, "limit": None}) == m.WhoElse()
    assert parse({"op": "whoelsesince", "seconds": 9, "limit": 1}) == m.WhoElseSince(9, None, 1)
    assert parse({"op": "rooms", "after": "#a", "limit": 500}) == m.Rooms("#a", 500)
    assert parse({"op": "members", "room": "#a", "after": ""}) == m.Members("#a", "")


@pytest.mark.parametrize(
    "frame",
    [
        {"op": "whoelsesince", "seconds": 0},
        {"op": "whoelsesince", "seconds": 10.0},
        {"op": "whoelsesince", "seconds": "10"},
        {"op": "whoelsesince", "seconds": True},
        {"op": "whoelsesince"},
        {"op": "message", "to": "bob"},
        {"op": "message", "to": "bob", "text": 5},
        {"op": "message", "to": "bob", "text": "\ud800"},
        {"op": "message", "to": "bob", "text": "nul \x00 inside"},  # no database keeps it
        {"op": "message", "to": "b\x00b", "text": "hi"},
        {"op": "message", "to": "bob", "text": "\ud800", "nonce": "n"},
        {"op": "ack", "msg_id": 2**63},
        {"op": "ack", "msg_id": "1"},
        {"op": "message", "to": "bob", "text": "x", "nonce": "n" * 129},
        {"op": "ack", "msg_id": "1"},
        {"op": "private_answer", "request": "r", "accept": "yes"},
        {"op": "private_answer", "request": "r", "accept": True},
        {"op": "private_answer", "request": "r", "accept": True, "port": 70_000},
        {"op": "login", "user": ["alice"], "password": "x"},
        {"op": "whoelse", "limit": 0},  # chat/1 precise point 18: 1..1,000
        {"op": "whoelse", "limit": 1_001},
        {"op": "whoelsesince", "seconds": 5, "limit": "10"},
        {"op": "members", "room": "#a", "limit": 1_001},
        {"op": "members", "room": "#a", "after": 5},
        {"op": "rooms", "limit": 501},  # rooms: 1..500
        {"op": "rooms", "after": ["#a"]},
    ],
)
def test_ill_typed_fields_are_bad_requests(frame: dict[str, Any]) -> None:
    with pytest.raises(RequestError) as refused:
        parse(frame)
    assert refused.value.code is ErrorCode.BAD_REQUEST


@pytest.mark.parametrize("value", [[1], 1.5, True, {"a": 1}, None])
def test_request_id_must_be_an_integer_or_a_string(value: object) -> None:
    with pytest.raises(RequestError):
        m.request_id({"op": "ping", "id": value})


def test_request_id_may_be_absent_an_integer_or_a_string() -> None:
    assert m.request_id({"op": "ping"}) is None
    assert m.request_id({"op": "ping", "id": 7}) == 7
    assert m.request_id({"op": "ping", "id": "a"}) == "a"


@pytest.mark.parametrize("frame", [{}, {"op": 3}, {"op": None}])
def test_missing_or_non_string_op_is_a_bad_request(frame: dict[str, Any]) -> None:
    with pytest.raises(RequestError) as refused:
        m.op_name(frame)
    assert refused.value.code is ErrorCode.BAD_REQUEST


@pytest.mark.parametrize(
    "frame",
    [
        {"op": "message", "to": "bob", "text": "plain"},
        {"op": "message", "to": "bób", "text": "ünïcödé ✓"},
        {"op": "message", "to": "bob", "text": "with a nonce", "nonce": "n-1"},
        {"op": "message", "to": "bob", "text": "null nonce", "nonce": None},
        {"op": "ack", "msg_id": 0},
        {"op": "ack", "msg_id": 2**63 - 1},
    ],
)
def test_the_fast_and_the_general_parser_agree(frame: dict[str, Any]) -> None:
    request_type = m.REQUEST_TYPES[frame["op"]]
    assert m.parse_fields(request_type, frame) == m._parse_any(request_type, frame)


_ANY_VALUE = (
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=140)
    | st.sampled_from(["bob", "b\x00b", "\ud800", "n" * 128, "n" * 129, "ï"])
)  # fmt: skip


@given(st.fixed_dictionaries({}, optional={"to": _ANY_VALUE, "text": _ANY_VALUE,
                                           "nonce": _ANY_VALUE}))  # fmt: skip
def test_a_plain_message_is_what_the_general_parser_makes_of_it(frame: dict[str, Any]) -> None:
    """The reactor puts a plain message straight into its batch: it must be exactly a frame
    the general parser accepts, with the same fields; anything else goes to that parser."""
    fields = m.plain_message(frame)
    if fields is not None:
        assert m._parse_any(m.Message, frame) == m.Message(*fields)


@given(_ANY_VALUE)
def test_a_plain_ack_is_what_the_general_parser_makes_of_it(msg_id: object) -> None:
    frame = {"op": "ack", "msg_id": msg_id}
    found = m.plain_ack(frame)
    if found is not None:
        assert m._parse_any(m.Ack, frame) == m.Ack(found)


@pytest.mark.parametrize(
    "frame",
    [
        {"op": "whoelsesince", "seconds": 2**63},
        {"op": "whoelsesince", "seconds": 0},
        {"op": "whoelsesince", "seconds": 1.5},
    ],
)
def test_seconds_out_of_range_is_said_in_plain_words(frame: dict[str, Any]) -> None:
    with pytest.raises(RequestError) as refused:
        parse(frame)
    assert refused.value.text == "seconds must be a whole number of seconds, at least 1."


@pytest.mark.parametrize(
    "frame",
    [
        {},
        {"op": "whoelsesince", "seconds": 2**63},
        {"op": "whoelsesince"},
        {"op": "ack", "msg_id": -(2**64)},
        {"op": "message", "to": 5, "text": "x"},
        {"op": "message", "to": "bob", "text": "\ud800"},
        {"op": "message", "to": "bob", "text": "x", "nonce": "n" * 129},
        {"op": "private_answer", "request": "r", "accept": "yes"},
        {"op": "private_answer", "request": "r", "accept": True},
        {"op": "private_answer", "request": "r", "accept": True, "port": 0},
    ],
)
def test_error_texts_are_plain_sentences_without_markup(frame: dict[str, Any]) -> None:
    """The text of an error is shown to a person as is: no Markdown backticks."""
    with pytest.raises(RequestError) as refused:
        parse(frame)
    text = refused.value.text
    assert "`" not in text and text[0].isalnum() and text.endswith("."), text
