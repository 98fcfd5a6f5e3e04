"""Sans-IO chat/1 framing: bytes in, JSON objects (or frame errors) out, and back.

This module only turns bytes into frames and frames into bytes. It knows nothing of sockets,
threads or what an `op` means, so it is tested without any of them (see tests/unit).
The decoder never holds more than one frame's worth of bytes, however the peer misbehaves.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import Enum
from json.encoder import encode_basestring as _encode_string
from typing import Any

import orjson

MAX_FRAME_BYTES = 65_536  # chat/1 "Transport and framing": one frame, newline included
NEWLINE = b"\n"
_LONG_NUMBER = re.compile(rb"\d{19}")
_DIGITS = b"0123456789"

JsonObject = dict[str, Any]


class FrameProblem(Enum):
    """Why a line could not become a frame; the values are chat/1 error codes."""

    BAD_FRAME = "bad_frame"  # not UTF-8, not JSON, or not a JSON object; connection stays open
    FRAME_TOO_LARGE = "frame_too_large"  # over MAX_FRAME_BYTES; the connection must close


@dataclass(frozen=True, slots=True)
class FrameError:
    """A line the peer sent that is not a frame. It is the peer's fault, never ours."""

    problem: FrameProblem
    text: str
    fatal: bool = False  # closes the connection whatever the problem (a wire adapter's rule)

    @property
    def is_fatal(self) -> bool:
        return self.fatal or self.problem is FrameProblem.FRAME_TOO_LARGE


Decoded = JsonObject | FrameError


def decode_line(line: bytes) -> Decoded | None:
    """One line without its newline -> a frame, a FrameError, or None for a blank line."""
    if not line or line.isspace():
        return None  # chat/1 precise point 2: blank lines are ignored, not bad frames
    if not _may_hold_long_integer(line):  # orjson turns integers past 64 bits into floats
        try:
            value = orjson.loads(line)  # five times faster than json, and stricter
        except orjson.JSONDecodeError:
            pass  # the standard library decides: same frames, same errors as without orjson
        else:
            if isinstance(value, dict):
                return value
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        return FrameError(FrameProblem.BAD_FRAME, "The frame is not valid UTF-8.")
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):  # incl. JSONDecodeError and over-long integers
        return FrameError(FrameProblem.BAD_FRAME, "The frame is not valid JSON.")
    if not isinstance(value, dict):
        return FrameError(FrameProblem.BAD_FRAME, "A frame must be a JSON object.")
    return value


def _may_hold_long_integer(line: bytes) -> bool:
    """A run of 19 digits or more. Counting the digits first is five times cheaper than the
    search, and almost every frame has fewer than 19 in all."""
    if len(line) - len(line.translate(None, _DIGITS)) < 19:
        return False
    return _LONG_NUMBER.search(line) is not None


class FrameDecoder:
    """Incremental NDJSON decoder: `feed()` chunks as they arrive, get whole frames back.

    After a FRAME_TOO_LARGE error the decoder is spent: the rest of the stream cannot be
    re-synchronised safely, so it returns nothing more and the caller closes the connection.
    """

    def __init__(self, max_frame_bytes: int = MAX_FRAME_BYTES) -> None:
        self._max_line = max_frame_bytes - len(NEWLINE)
        self._buffer = bytearray()
        self._spent = False

    @property
    def spent(self) -> bool:
        return self._spent

    @property
    def buffered_bytes(self) -> int:
        return len(self._buffer)

    def feed(self, data: bytes) -> list[Decoded]:
        if self._spent:
            return []
        out: list[Decoded] = []
        start = 0
        while True:
            end = data.find(NEWLINE, start)
            if end < 0:
                break
            if len(self._buffer) + (end - start) > self._max_line:
                return self._too_large(out)
            if self._buffer:  # the start of this line came in an earlier chunk
                self._buffer += data[start:end]
                line = bytes(self._buffer)
                self._buffer.clear()
            else:
                line = data[start:end]
            start = end + 1
            decoded = decode_line(line)
            if decoded is not None:
                out.append(decoded)
        rest = len(data) - start
        if len(self._buffer) + rest > self._max_line:
            return self._too_large(out)
        self._buffer += data[start:]
        return out

    def _too_large(self, out: list[Decoded]) -> list[Decoded]:
        self._spent = True
        self._buffer.clear()
        limit = self._max_line + len(NEWLINE)
        out.append(
            FrameError(FrameProblem.FRAME_TOO_LARGE, f"A frame may be at most {limit} bytes.")
        )
        return out


def json_string(text: str) -> str:
    """A JSON string literal, as `encode()` writes it (UTF-8 kept, not \\u-escaped). The text
    must be valid Unicode (no lone surrogates), which every text a request passed is."""
    return _encode_string(text)


def encode(frame: JsonObject) -> bytes:
    """One frame -> one line. Compact separators keep frames small; ensure_ascii=False keeps
    text readable and counted in UTF-8 bytes as the size limit is."""
    text = json.dumps(frame, ensure_ascii=False, separators=(",", ":"))
    try:
        return text.encode("utf-8") + NEWLINE
    except UnicodeEncodeError:  # a lone surrogate: \u-escapes keep it valid JSON and UTF-8
        return json.dumps(frame, separators=(",", ":")).encode("ascii") + NEWLINE
