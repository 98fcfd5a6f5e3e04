"""chat/1 lines out as WebSocket text messages (service/net/web/frames.py), read back by
wsproto as a browser's WebSocket would."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from wsproto.connection import Connection, ConnectionType
from wsproto.events import CloseConnection, TextMessage

from service.net.web.frames import close_frame, text_frames
from service.net.web.outbox import LastFramed
from service.wire.codec import encode


def _read(data: bytes) -> list[object]:
    """What a client makes of `data`: each whole message's text, and closes as (code, why)."""
    client = Connection(ConnectionType.CLIENT)
    client.receive_data(data)
    out: list[object] = []
    parts: list[str] = []
    for event in client.events():
        if isinstance(event, TextMessage):
            parts.append(event.data)
            if event.message_finished:
                out.append("".join(parts))
                parts = []
        elif isinstance(event, CloseConnection):
            out.append((event.code, event.reason))
    return out


def test_each_line_is_one_text_message_without_its_newline() -> None:
    lines = encode({"ev": "hello"}) + encode({"re": 1, "ok": True})
    assert _read(text_frames(lines)) == ['{"ev":"hello"}', '{"re":1,"ok":true}']
    assert text_frames(b"") == b""


@given(st.lists(st.text(max_size=70_000), max_size=4))
def test_any_texts_of_any_length_come_back_whole(texts: list[str]) -> None:
    lines = b"".join(encode({"text": text}) for text in texts)
    assert _read(text_frames(lines)) == [encode({"text": t}).decode()[:-1] for t in texts]


def test_a_close_frame_carries_its_code_and_a_reason_cut_to_fit() -> None:
    assert _read(close_frame(1001, "shutdown")) == [(1001, "shutdown")]
    assert _read(close_frame(1000, "é" * 100)) == [(1000, "é" * 61)]  # 123 bytes at most


def test_the_same_lines_handed_on_again_share_one_framing() -> None:
    """A room message goes to every member as one bytes object: its WebSocket members hold
    one framed copy between them, not one each."""
    last = LastFramed()
    room_message = encode({"ev": "room_message", "text": "hi all"})
    first = last.frames(room_message)
    assert last.frames(room_message) is first
    assert _read(first) == ['{"ev":"room_message","text":"hi all"}']
    other = encode({"ev": "room_message", "text": "next"})
    assert _read(last.frames(other)) == ['{"ev":"room_message","text":"next"}']
    equal_but_another_object = bytes(bytearray(other))
    assert last.frames(equal_but_another_object) == last.frames(other)
