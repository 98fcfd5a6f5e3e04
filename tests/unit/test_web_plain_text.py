"""Plain text messages past wsproto (service/net/web/plain_text.py), held equal to wsproto alone.

The property: whatever a client sends (plain messages, fragments with control frames between
them, binary messages, frames RFC 6455 forbids, text that is not UTF-8, junk), split
anywhere, the splitter with wsproto behind it reads the same messages and fails or closes
the same way, at the same place, as wsproto reading it all. Then the cases fed whole, byte by
byte and with trailing data, and the bound on what the splitter holds.
"""

from __future__ import annotations

import os
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from wsproto.connection import Connection, ConnectionType
from wsproto.events import BytesMessage, CloseConnection, Ping, Pong, TextMessage

from service.net.web.plain_text import PlainTextSplitter, unmask

TEXT, BINARY, CONTINUATION, CLOSE, PING, PONG = 0x1, 0x2, 0x0, 0x8, 0x9, 0xA


def frame(
    opcode: int,
    payload: bytes,
    *,
    fin: bool = True,
    masked: bool = True,
    rsv: int = 0,
    length_bytes: int | None = None,
    mask: bytes = b"\x5a\x01\xc3\x7e",
) -> bytes:
    """One frame as a client could send it, right or wrong: `length_bytes` 2 or 8 forces an
    extended length (non-minimal for a short payload)."""
    first = (0x80 if fin else 0) | rsv << 4 | opcode
    bit, n = (0x80 if masked else 0), len(payload)
    if length_bytes == 8 or (length_bytes is None and n >= 65_536):
        head = struct.pack("!BBQ", first, bit | 127, n)
    elif length_bytes == 2 or (length_bytes is None and n >= 126):
        head = struct.pack("!BBH", first, bit | 126, n)
    else:
        head = bytes((first, bit | n))
    return head + (mask + unmask(payload, mask) if masked else payload)


class Reader:
    """What WebSocketConnection makes of wsproto's events: whole messages, pings, and the
    first close or failure, after which it reads nothing."""

    def __init__(self) -> None:
        self.out: list[tuple[object, ...]] = []
        self.parts: list[str] = []
        self.stopped = False

    def text(self, data: str, finished: bool) -> None:
        self.parts.append(data)
        if finished:
            self.out.append(("text", "".join(self.parts)))
            self.parts = []

    def drain(self, ws: Connection) -> None:
        for event in ws.events():
            if isinstance(event, TextMessage):
                self.text(event.data, event.message_finished)
            elif isinstance(event, BytesMessage):
                self.out.append(("binary",))
                self.stopped = True
            elif isinstance(event, Ping | Pong):
                self.out.append((type(event).__name__, bytes(event.payload)))
            elif isinstance(event, CloseConnection):
                self.out.append(("close", int(event.code)))
                self.stopped = True
            if self.stopped:
                return


def wsproto_alone(chunks: list[bytes]) -> list[tuple[object, ...]]:
    ws, reader = Connection(ConnectionType.SERVER), Reader()
    for chunk in chunks:
        ws.receive_data(chunk)
        reader.drain(ws)
        if reader.stopped:
            break
    return reader.out


def split_first(chunks: list[bytes]) -> list[tuple[object, ...]]:
    ws, reader, splitter = Connection(ConnectionType.SERVER), Reader(), PlainTextSplitter()
    for chunk in chunks:
        for plain, piece in splitter.feed(chunk):
            if plain:
                reader.text(piece.decode("utf-8"), True)
            else:
                ws.receive_data(piece)
                reader.drain(ws)
            if reader.stopped:
                return reader.out
    return reader.out


def cut(stream: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(c, len(stream)) for c in cuts})
    return [stream[a:b] for a, b in zip([0, *points], [*points, len(stream)], strict=True) if b > a]


def fragments_around_a_ping(first: bytes, rest: bytes) -> bytes:
    return frame(TEXT, first, fin=False) + frame(PING, b"?") + frame(CONTINUATION, rest)


texts = st.text(max_size=200).map(lambda t: t.encode("utf-8"))
not_utf8 = st.sampled_from([b"\xff", b'{"a":"\xc3"}', b"\xed\xa0\x80", b"ok\x80"])
masks = st.binary(min_size=4, max_size=4)
frames = st.one_of(
    st.builds(lambda p, m: frame(TEXT, p, mask=m), texts, masks),  # plain
    st.builds(lambda p, m: frame(TEXT, p, mask=m), texts, masks),  # (twice as likely)
    st.builds(lambda p: frame(TEXT, p), not_utf8),
    st.builds(fragments_around_a_ping, texts, texts),
    st.builds(lambda a: frame(TEXT, a, fin=False), texts),  # left open
    st.builds(lambda a, b: frame(TEXT, a, fin=False) + frame(TEXT, b), texts, texts),  # broken
    st.builds(lambda a: frame(CONTINUATION, a), texts),  # with nothing open
    st.builds(lambda p: frame(BINARY, p), st.binary(max_size=50)),
    st.builds(lambda p: frame(PING, p), st.binary(max_size=125)),
    st.builds(lambda p: frame(PONG, p), st.binary(max_size=20)),
    st.builds(lambda c: frame(CLOSE, struct.pack("!H", c)), st.sampled_from([1000, 1001, 5])),
    st.builds(lambda p: frame(TEXT, p, masked=False), texts),
    st.builds(lambda p, r: frame(TEXT, p, rsv=r), texts, st.integers(1, 7)),
    st.builds(lambda p, n: frame(TEXT, p, length_bytes=n), texts, st.sampled_from([2, 8])),
    st.builds(lambda o: frame(o, b"x"), st.sampled_from([3, 7, 0xB, 0xF])),
    st.builds(lambda p: frame(PING, p, fin=False), st.binary(max_size=5)),
    st.binary(min_size=1, max_size=30),  # junk
)


@settings(max_examples=400)
@given(st.lists(frames, max_size=8), st.lists(st.integers(0, 3_000), max_size=6))
def test_any_frames_split_anywhere_read_as_wsproto_alone_reads_them(
    sent: list[bytes], cuts: list[int]
) -> None:
    chunks = cut(b"".join(sent), cuts)
    assert split_first(chunks) == wsproto_alone(chunks)


@given(st.lists(st.builds(lambda p, m: frame(TEXT, p, mask=m), texts, masks), max_size=6))
def test_plain_messages_skip_wsproto_entirely(sent: list[bytes]) -> None:
    pieces = PlainTextSplitter().feed(b"".join(sent))
    assert all(plain for plain, _ in pieces) and len(pieces) == len(sent)


CASES = {
    "a plain message": frame(TEXT, b'{"op":"ping"}'),
    "an empty one": frame(TEXT, b""),
    "text that is not UTF-8": frame(TEXT, b'{"x":"\xff"}'),
    "a message in fragments": frame(TEXT, b"[", fin=False) + frame(CONTINUATION, b"]"),
    "plain-looking text inside an open message": frame(TEXT, b"a", fin=False) + frame(TEXT, b"b"),
    "a continuation with nothing open": frame(CONTINUATION, b"x"),
    "unmasked": frame(TEXT, b"{}", masked=False),
    "a reserved bit": frame(TEXT, b"{}", rsv=4),
    "a 16-bit length for 2 bytes": frame(TEXT, b"{}", length_bytes=2),
    "a 64-bit length for 2 bytes": frame(TEXT, b"{}", length_bytes=8),
    "a 64-bit length with its top bit": b"\x81\xff" + b"\x80" + b"\x00" * 7 + b"mask",
    "a binary message": frame(BINARY, b"{}"),
    "a reserved opcode": frame(0x3, b"{}"),
    "a fragmented ping": frame(PING, b"?", fin=False),
    "a close": frame(CLOSE, struct.pack("!H", 1000) + b"bye"),
}


@pytest.mark.parametrize("name", CASES)
def test_each_case_whole_byte_by_byte_and_after_a_plain_message(name: str) -> None:
    for stream in (CASES[name], frame(TEXT, b"first") + CASES[name] + frame(TEXT, b"then")):
        expected = wsproto_alone([stream])
        assert split_first([stream]) == expected
        assert split_first([stream[i : i + 1] for i in range(len(stream))]) == expected


def test_three_feeds_whole_byte_by_byte_and_with_trailing_data() -> None:
    stream = (
        frame(TEXT, b'{"op":"ping","id":1}')
        + frame(TEXT, "é".encode() * 100)  # a 16-bit length
        + frame(TEXT, b"x" * 65_536)  # the largest plain message: a 64-bit length
        + frame(PING, b"hi")
        + frame(TEXT, b"[", fin=False) + frame(CONTINUATION, b"]")
        + frame(TEXT, b"after")
    )  # fmt: skip
    expected = wsproto_alone([stream])
    assert [event[0] for event in expected] == ["text", "text", "text", "Ping", "text", "text"]
    assert split_first([stream]) == expected
    assert split_first([stream[i : i + 1] for i in range(len(stream))]) == expected
    assert split_first([stream + frame(TEXT, b"tra")[:5]]) == expected


def test_a_message_over_the_limit_is_handed_on_as_it_comes_never_held() -> None:
    big = frame(TEXT, b"y" * 200_000)
    splitter, held_at_most = PlainTextSplitter(), 0
    for at in range(0, len(big), 4_096):
        pieces = splitter.feed(big[at : at + 4_096])
        assert pieces and not any(plain for plain, _ in pieces)
        held_at_most = max(held_at_most, splitter._held_bytes)
    assert held_at_most <= 14  # a header, at most
    assert split_first(cut(big, list(range(0, len(big), 4_096)))) == wsproto_alone([big])


def test_a_plain_frame_waits_whole_and_bounded() -> None:
    payload = os.urandom(32_000).hex().encode()[:65_536]
    sent = frame(TEXT, payload)
    splitter = PlainTextSplitter()
    assert splitter.feed(sent[:-1]) == []
    assert splitter._held_bytes == len(sent) - 1 <= 65_536 + 14
    assert splitter.feed(sent[-1:]) == [(True, payload)]
