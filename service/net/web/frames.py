"""chat/1 frames out as WebSocket messages, pure: one text message per frame (RFC 6455 5.2).

Everything the server sends is encoded once as chat/1 lines (service/wire/codec.py), often
several joined (a round's replies, a page of the backlog). A WebSocket session's outbox turns
those bytes into one unmasked, unfragmented text message per line, the newline dropped (the
message boundary is the frame boundary). A line is JSON, so it holds no raw newline and is
UTF-8 already: no decoding, no copy of the text but the join.

Why not wsproto's `send`: it takes `str` (a decode and an encode per frame), keeps state
(fragmentation, extensions) that only the reactor may touch, while senders are on any
thread; a server's text frame is a header and the payload, written here in a few lines.
wsproto reads what the peer sends (service/net/web/websocket.py).
"""

from __future__ import annotations

import struct

TEXT = 0x81  # FIN and the text opcode
CLOSE = 0x88  # FIN and the close opcode
_SHORT = struct.Struct("!BBH")  # 126..65535 bytes: a 16-bit length
_LONG = struct.Struct("!BBQ")  # longer: a 64-bit length
MAX_CLOSE_REASON_BYTES = 123  # a control frame's payload is at most 125 bytes, 2 are the code


def header(length: int, first: int = TEXT) -> bytes:
    if length < 126:
        return bytes((first, length))
    if length < 65_536:
        return _SHORT.pack(first, 126, length)
    return _LONG.pack(first, 127, length)


def text_frames(lines: bytes) -> bytes:
    """chat/1 lines, each ending in a newline, -> one text message each (a last piece without
    a newline is a frame too)."""
    if not lines:
        return b""
    end = lines.find(b"\n")
    if end == len(lines) - 1:  # one frame, the usual case
        return header(end) + lines[:end]
    parts: list[bytes] = []
    for line in lines.split(b"\n"):
        if line:
            parts.append(header(len(line)))
            parts.append(line)
    return b"".join(parts)


def close_frame(code: int, reason: str = "") -> bytes:
    """A close frame with `code` (RFC 6455 7.4) and a short reason (cut to fit, whole
    characters)."""
    payload = struct.pack("!H", code) + _cut(reason.encode("utf-8"), MAX_CLOSE_REASON_BYTES)
    return bytes((CLOSE, len(payload))) + payload


def _cut(data: bytes, limit: int) -> bytes:
    if len(data) <= limit:
        return data
    return data[:limit].decode("utf-8", "ignore").encode("utf-8")
