"""The hot path writes `message` events and their ok replies without json.dumps of a dict:
what it writes must be exactly what the general encoder writes."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from service.wire.codec import encode
from service.wire.errors import message_ok, ok_reply
from service.wire.events import message_event, message_sent

texts = st.text()  # any Unicode text without lone surrogates, which requests cannot carry
ids = st.integers(min_value=0, max_value=2**63 - 1)


@given(msg_id=ids, sender=texts, text=texts, sent_at=texts, stored=st.booleans())
def test_message_event_is_what_encode_writes(
    msg_id: int, sender: str, text: str, sent_at: str, stored: bool
) -> None:
    expected = encode({"ev": "message", "msg_id": msg_id, "from": sender, "text": text,
                       "sent_at": sent_at, "stored": stored})  # fmt: skip
    assert message_event(msg_id, sender, text, sent_at, stored) == expected


@given(msg_id=ids, to=texts, text=texts, sent_at=texts)
def test_message_sent_is_what_encode_writes(msg_id: int, to: str, text: str, sent_at: str) -> None:
    """chat/1 "Several sessions": to the sender's other sessions."""
    expected = encode({"ev": "message_sent", "msg_id": msg_id, "to": to, "text": text,
                       "sent_at": sent_at})  # fmt: skip
    assert message_sent(msg_id, to, text, sent_at) == expected


@given(request_id=st.one_of(ids, st.integers(max_value=-1), texts), msg_id=ids,
       delivered=st.booleans())  # fmt: skip
def test_message_ok_is_what_encode_writes(
    request_id: int | str, msg_id: int, delivered: bool
) -> None:
    expected = encode(ok_reply(request_id, {"msg_id": msg_id, "delivered": delivered}))
    assert message_ok(request_id, msg_id, delivered) == expected


def test_control_characters_and_quotes_are_escaped() -> None:
    event = message_event(1, "a", 'say "hi"\n\x00\u2028é', "t", False)
    assert event.count(b"\n") == 1 and event.endswith(b"\n")
    assert b'\\"hi\\"' in event and "é".encode() in event
