"""The sans-IO codec: table cases fed whole, byte by byte and with trailing data; properties."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.wire.codec import (
    MAX_FRAME_BYTES,
    FrameDecoder,
    FrameError,
    FrameProblem,
    decode_line,
    encode,
)

CASES: list[tuple[bytes, list[object]]] = [
    (b'{"op":"ping"}\n', [{"op": "ping"}]),
    (b'{"a":1}\n{"b":2}\n', [{"a": 1}, {"b": 2}]),
    (b"\n  \n\t\n", []),  # blank lines are ignored (chat/1 precise point 2)
    (b"not json\n", [FrameProblem.BAD_FRAME]),
    (b"[1,2]\n", [FrameProblem.BAD_FRAME]),
    (b"42\n", [FrameProblem.BAD_FRAME]),
    (b'"text"\n', [FrameProblem.BAD_FRAME]),
    (b'{"t":"\xff"}\n', [FrameProblem.BAD_FRAME]),  # invalid UTF-8
    (b'{"t":"caf\xc3\xa9"}\n', [{"t": "café"}]),
    (b'bad\n{"ok":1}\n', [FrameProblem.BAD_FRAME, {"ok": 1}]),  # resynchronises after a bad line
]


def _simplify(items: list[object]) -> list[object]:
    return [item.problem if isinstance(item, FrameError) else item for item in items]


@pytest.mark.parametrize(("data", "expected"), CASES)
def test_fed_whole(data: bytes, expected: list[object]) -> None:
    assert _simplify(list(FrameDecoder().feed(data))) == expected


@pytest.mark.parametrize(("data", "expected"), CASES)
def test_fed_byte_by_byte(data: bytes, expected: list[object]) -> None:
    decoder = FrameDecoder()
    out: list[object] = []
    for index in range(len(data)):
        out.extend(decoder.feed(data[index : index + 1]))
    assert _simplify(out) == expected


@pytest.mark.parametrize(("data", "expected"), CASES)
def test_trailing_partial_frame_waits(data: bytes, expected: list[object]) -> None:
    decoder = FrameDecoder()
    assert _simplify(list(decoder.feed(data + b'{"partial":'))) == expected
    assert decoder.buffered_bytes == len(b'{"partial":')
    assert _simplify(list(decoder.feed(b"true}\n"))) == [{"partial": True}]


def test_frame_of_exactly_the_limit_is_accepted() -> None:
    padding = MAX_FRAME_BYTES - len(b'{"p":""}\n')
    line = b'{"p":"' + b"x" * padding + b'"}\n'
    assert len(line) == MAX_FRAME_BYTES
    assert FrameDecoder().feed(line) == [{"p": "x" * padding}]


def test_one_byte_over_the_limit_is_fatal_and_spends_the_decoder() -> None:
    padding = MAX_FRAME_BYTES - len(b'{"p":""}\n') + 1
    decoder = FrameDecoder()
    out = decoder.feed(b'{"p":"' + b"x" * padding + b'"}\n{"op":"ping"}\n')
    assert len(out) == 1 and isinstance(out[0], FrameError)
    assert out[0].problem is FrameProblem.FRAME_TOO_LARGE and out[0].is_fatal
    assert decoder.spent and decoder.feed(b'{"op":"ping"}\n') == []


def test_oversize_is_detected_before_the_newline_arrives() -> None:
    decoder = FrameDecoder()
    assert decoder.feed(b"x" * (MAX_FRAME_BYTES - 1)) == []
    out = decoder.feed(b"x")
    assert [item.problem for item in out if isinstance(item, FrameError)] == [
        FrameProblem.FRAME_TOO_LARGE
    ]
    assert decoder.buffered_bytes == 0


def test_encode_is_one_compact_line() -> None:
    data = encode({"ev": "message", "text": "héllo\nworld"})
    assert data.endswith(b"\n") and data.count(b"\n") == 1
    assert json.loads(data) == {"ev": "message", "text": "héllo\nworld"}


def test_encode_survives_lone_surrogates() -> None:
    data = encode({"text": "\ud800"})
    data.decode("utf-8")  # valid UTF-8 on the wire
    assert decode_line(data.rstrip(b"\n")) == {"text": "\ud800"}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=10,
)
frames = st.dictionaries(st.text(max_size=10), json_values, max_size=5)


@given(st.lists(frames, max_size=8), st.data())
def test_any_frames_split_anywhere_decode_to_the_same_frames(
    sent: list[dict[str, object]], data: st.DataObject
) -> None:
    stream = b"".join(encode(frame) for frame in sent)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=10)))
    decoder = FrameDecoder()
    received: list[object] = []
    for start, end in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        received.extend(decoder.feed(stream[start:end]))
    assert received == sent


@given(st.lists(st.binary(max_size=70_000), max_size=5))
def test_arbitrary_bytes_only_ever_reject_and_stay_bounded(chunks: list[bytes]) -> None:
    decoder = FrameDecoder()
    for chunk in chunks:
        for item in decoder.feed(chunk):
            assert isinstance(item, dict | FrameError)
        assert decoder.buffered_bytes < MAX_FRAME_BYTES


def test_integers_past_pythons_digit_limit_are_bad_frames() -> None:
    decoded = decode_line(b'{"id":' + b"9" * 5000 + b"}")
    assert isinstance(decoded, FrameError) and decoded.problem is FrameProblem.BAD_FRAME


@pytest.mark.parametrize(
    "line",
    [
        b'{"a":1234567890123456789012}',  # past 64 bits: json keeps it an integer
        b'{"a":-18446744073709551617}',
        b'{"a":123456789,"b":1234567890,"c":123}',  # 22 digits, no long run: orjson's path
        b'{"id":9223372036854775807,"t":"x"}',
        b'{"a":1.5e300,"b":"12345678901234567890"}',
    ],
)
def test_integers_of_any_size_decode_as_json_would(line: bytes) -> None:
    assert decode_line(line) == json.loads(line)


@given(st.dictionaries(st.text(max_size=5), st.integers() | st.text(max_size=30), max_size=6))
def test_integer_frames_decode_as_json_would(frame: dict[str, object]) -> None:
    assert decode_line(json.dumps(frame).encode()) == frame
