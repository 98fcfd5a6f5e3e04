"""`dm_history` and `conversations` as typed requests (chat/1 "Direct-message history"):
`with` on the wire, bad_request for a wrong type or a limit outside 1..100."""

from __future__ import annotations

from typing import Any

import pytest

from service.wire import requests as m
from service.wire.errors import ErrorCode, RequestError


def parse(frame: dict[str, Any]) -> m.Request:
    return m.parse_fields(m.REQUEST_TYPES[m.op_name(frame)], frame)


def test_with_before_and_limit_become_a_typed_request() -> None:
    frame = {"op": "dm_history", "with": "bob", "before": 17, "limit": 100, "x": 1}
    assert parse(frame) == m.DmHistory("bob", 17, 100)
    assert parse({"op": "dm_history", "with": "bob", "limit": None}) == m.DmHistory("bob")
    assert parse({"op": "conversations", "with": "ignored"}) == m.Conversations()


@pytest.mark.parametrize(
    ("frame", "says"),
    [
        ({"op": "dm_history"}, "This request needs with."),
        ({"op": "dm_history", "with_": "bob"}, "This request needs with."),
        ({"op": "dm_history", "with": 3}, "with must be a string."),
        ({"op": "dm_history", "with": "bob", "before": "9"}, "before must be a whole number."),
        ({"op": "dm_history", "with": "bob", "before": 1.5}, "before must be a whole number."),
        ({"op": "dm_history", "with": "bob", "limit": 0}, "limit must be between 1 and 100."),
        ({"op": "dm_history", "with": "bob", "limit": 101}, "limit must be between 1 and 100."),
        ({"op": "dm_history", "with": "bob", "limit": True}, "limit must be a whole number."),
    ],
)
def test_bad_fields_are_bad_request_saying_which(frame: dict[str, Any], says: str) -> None:
    with pytest.raises(RequestError) as raised:
        parse(frame)
    assert raised.value.code is ErrorCode.BAD_REQUEST
    assert str(raised.value.text) == says
