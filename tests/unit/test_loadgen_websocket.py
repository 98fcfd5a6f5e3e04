"""The load generator's WebSocket (scripts/loadgen/websocket.py), held against wsproto: what it
sends, a server's wsproto reads as the same messages; what a server sends (the server's own
framing, or wsproto's), it reads as the same lines, however the bytes are split."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given
from hypothesis import strategies as st
from wsproto import WSConnection
from wsproto.connection import Connection, ConnectionType
from wsproto.events import AcceptConnection, CloseConnection, RejectConnection, Request, TextMessage

from scripts.loadgen.websocket import (
    BrokenLink,
    FramingTransport,
    ServerFrames,
    WebSocketLink,
    masked_frame,
    masked_lines,
)
from service.net.web.frames import close_frame, text_frames
from service.wire.codec import encode

lines_of_json = st.lists(
    st.dictionaries(st.sampled_from(["op", "to", "text"]), st.text(max_size=300), max_size=3),
    max_size=5,
)


def _server_reads(data: bytes) -> list[object]:
    """What a WebSocket server (wsproto, after the upgrade) makes of a client's bytes: each
    whole text message, and a close as ("close", code)."""
    server = Connection(ConnectionType.SERVER)
    server.receive_data(data)
    out: list[object] = []
    parts: list[str] = []
    for event in server.events():
        if isinstance(event, TextMessage):
            parts.append(event.data)
            if event.message_finished:
                out.append("".join(parts))
                parts = []
        elif isinstance(event, CloseConnection):
            out.append(("close", event.code))
        else:
            raise AssertionError(f"unexpected {event!r}")
    return out


@given(lines_of_json)
def test_each_line_goes_out_as_one_masked_text_message(frames: list[dict[str, str]]) -> None:
    lines = b"".join(encode(frame) for frame in frames)
    assert _server_reads(masked_lines(lines)) == [encode(f).decode()[:-1] for f in frames]


def test_every_frame_is_masked_with_a_key_of_its_own() -> None:
    data = masked_lines(b'{"op":"ping"}\n' * 2)
    first, second = data[: len(data) // 2], data[len(data) // 2 :]
    assert first[1] & 0x80 and second[1] & 0x80  # wsproto's server refuses unmasked ones too
    assert first[2:6] != second[2:6]
    assert b"ping" not in data


@pytest.mark.parametrize("size", [0, 125, 126, 65_535, 65_536, 70_000])
def test_every_length_encoding_reads_back(size: int) -> None:
    text = "x" * size
    assert _server_reads(masked_frame(text.encode(), b"\x01\x02\x03\x04")) == [text]


def test_a_last_piece_without_its_newline_is_a_message_too() -> None:
    assert _server_reads(masked_lines(b'{"a":1}\n{"b":2}')) == ['{"a":1}', '{"b":2}']


def _wsproto_server_frames(texts: list[str]) -> bytes:
    server = Connection(ConnectionType.SERVER)
    return b"".join(server.send(TextMessage(data=text)) for text in texts)


@given(lines_of_json, st.data())
def test_what_the_server_sends_reads_back_as_its_lines_however_it_is_split(
    frames: list[dict[str, str]], data: st.DataObject
) -> None:
    lines = b"".join(encode(frame) for frame in frames)
    expected = [encode(f)[:-1] for f in frames]
    for sent in (text_frames(lines), _wsproto_server_frames([e.decode() for e in expected])):
        cuts = sorted(data.draw(st.lists(st.integers(0, len(sent)), max_size=4)))
        reader, got = ServerFrames(), []
        for start, end in zip([0, *cuts], [*cuts, len(sent)], strict=True):
            got += reader.feed(sent[start:end])
        assert got == expected


def test_byte_by_byte_a_longer_message_and_the_close_come_through() -> None:
    line = encode({"text": "y" * 300})  # a 16-bit length
    sent = text_frames(line) + close_frame(1001, "shutdown")
    reader = ServerFrames()
    got = [message for i in range(len(sent)) for message in reader.feed(sent[i : i + 1])]
    assert got == [line[:-1]]
    assert reader.close_code == 1001


def test_a_message_as_long_as_chat_1_allows_comes_through() -> None:
    line = encode({"text": "z" * 65_000})
    assert ServerFrames().feed(text_frames(line)) == [line[:-1]]


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (masked_frame(b"{}", b"abcd"), "masked"),
        (b"\x82\x02{}", "never sends"),  # a binary message
        (b"\x01\x02{}", "never sends"),  # a fragment
        (b"\x81\x7f" + (1 << 20).to_bytes(8), "frame limit"),
    ],
)
def test_what_the_server_never_sends_breaks_the_link(data: bytes, why: str) -> None:
    with pytest.raises(BrokenLink, match=why):
        ServerFrames().feed(data)


class FakeSocket(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.written = b""
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written += bytes(data)

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True


class ChatSide(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.BaseTransport | None = None
        self.received: list[bytes] = []
        self.lost: list[Exception | None] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.received.append(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost.append(exc)


def _upgrade_requested() -> tuple[WebSocketLink, ChatSide, FakeSocket, WSConnection, Request]:
    """A link that sent its upgrade request, read by wsproto's server side."""
    chat, sock = ChatSide(), FakeSocket()
    link = WebSocketLink(chat, "127.0.0.1:8443")
    link.connection_made(sock)
    handshake = WSConnection(ConnectionType.SERVER)
    handshake.receive_data(sock.written)
    [request] = list(handshake.events())
    assert isinstance(request, Request)
    sock.written = b""
    return link, chat, sock, handshake, request


def test_the_upgrade_asks_for_chat_with_the_origin_of_the_page_then_carries_lines() -> None:
    link, chat, sock, handshake, request = _upgrade_requested()
    assert request.target == "/chat" and request.host == "127.0.0.1:8443"
    assert (b"origin", b"http://127.0.0.1:8443") in request.extra_headers
    assert chat.transport is None  # nothing to write to before the 101

    answer = handshake.send(AcceptConnection())
    link.data_received(answer + text_frames(b'{"ev":"hello"}\n{"re":1}\n')[:-3])
    assert isinstance(chat.transport, FramingTransport)
    assert chat.received == [b'{"ev":"hello"}\n']
    link.data_received(text_frames(b'{"re":1}\n')[-3:])
    assert chat.received[-1] == b'{"re":1}\n'

    chat.transport.write(b'{"op":"ping","id":1}\n')
    chat.transport.close()
    assert _server_reads(sock.written) == ['{"op":"ping","id":1}', ("close", 1000)]
    assert sock.closed


def test_a_refused_upgrade_fails_the_chat_side_saying_so() -> None:
    link, chat, sock, handshake, _request = _upgrade_requested()
    link.data_received(handshake.send(RejectConnection(status_code=403)))
    assert sock.closed and chat.transport is None
    link.connection_lost(None)
    [lost] = chat.lost
    assert isinstance(lost, ConnectionError) and "403" in str(lost)
