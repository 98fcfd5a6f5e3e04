"""chat/1 over WebSocket from the generator's side (`--transport ws`): the upgrade on /chat,
then one masked text message per chat/1 frame going out and one frame per message coming in.

`WebSocketLink` is the asyncio Protocol on the socket. The chat/1 connection of client.py
rides on it unchanged: it writes chat/1 lines to a `FramingTransport` and is handed chat/1
lines, so every workload runs over either wire. wsproto does the upgrade: it writes the
request (with the `Origin` of the page the web port serves, which the server accepts) and
checks the server's 101 (its Sec-WebSocket-Accept). After it, frames are written and read
here in a few lines of arithmetic, because through wsproto each message costs a str both ways
and an event object: about 17 µs to send and 20 µs to read a 110-byte message on the bench
machine, several times what the same message costs the generator over TCP, which would make
the generator, not the server, the limit of a run. The server sends nothing but what
service/net/web/frames.py writes (unmasked, unfragmented text messages and a close frame);
anything else breaks the link, which the workload counts as an unexpected close.
tests/unit/test_loadgen_websocket.py holds both directions against wsproto.
"""

from __future__ import annotations

import asyncio
import random
import struct
from typing import Any

from wsproto import WSConnection
from wsproto.connection import ConnectionType
from wsproto.events import AcceptConnection, RejectConnection, Request

PATH = "/chat"  # chat/1 over WebSocket (docs/PROTOCOL.md, "chat/1 over WebSocket")
TEXT = 0x81  # FIN and the text opcode
CLOSE = 0x88  # FIN and the close opcode
MASKED = 0x80  # the mask bit of the second byte: set on every client frame (RFC 6455 5.3)
NORMAL_CLOSURE = 1000
MAX_HEAD_BYTES = 8_192  # the server's 101 and its headers: a few hundred bytes
MAX_MESSAGE_BYTES = 65_536  # chat/1's frame limit; a server message is one frame, no newline
_SHORT = struct.Struct("!BBH")  # 126..65535 bytes: a 16-bit length
_LONG = struct.Struct("!BBQ")  # longer: a 64-bit length
_masks = random.Random()  # fresh mask keys per frame (RFC 6455 5.3), seeded from os.urandom


class BrokenLink(Exception):
    """The server sent something a chat/1 WebSocket never carries."""


def masked_frame(payload: bytes, mask: bytes, first: int = TEXT) -> bytes:
    """One client frame: the header with the mask bit, the 4-byte mask key, the masked
    payload."""
    n = len(payload)
    if n < 126:
        head = bytes((first, MASKED | n))
    elif n < 65_536:
        head = _SHORT.pack(first, MASKED | 126, n)
    else:
        head = _LONG.pack(first, MASKED | 127, n)
    return head + mask + apply_mask(payload, mask)


def apply_mask(payload: bytes, mask: bytes) -> bytes:
    """`payload` XOR the mask key repeated (RFC 6455 5.3), as one big-integer XOR in C."""
    n = len(payload)
    if not n:
        return b""
    key = (mask * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "little") ^ int.from_bytes(key, "little")).to_bytes(n, "little")


def masked_lines(data: bytes) -> bytes:
    """chat/1 lines, each ending in a newline, -> one masked text message per line, each with
    its own mask key (a last piece without a newline is a line too)."""
    if data.endswith(b"\n") and data.find(b"\n") == len(data) - 1:  # one line: the usual case
        return masked_frame(data[:-1], _masks.randbytes(4))
    return b"".join(masked_frame(line, _masks.randbytes(4)) for line in data.split(b"\n") if line)


class ServerFrames:
    """Bytes from the server -> the chat/1 lines its text messages carry. Holds at most one
    message's worth of an incomplete frame."""

    def __init__(self) -> None:
        self._tail = b""  # the start of a frame whose end has not arrived yet
        self.close_code: int | None = None  # the server's close frame, once it came

    def feed(self, data: bytes) -> list[bytes]:
        """The messages completed by `data`, in order (each a chat/1 frame, no newline)."""
        buffer = self._tail + data if self._tail else data
        messages: list[bytes] = []
        at, end = 0, len(buffer)
        while end - at >= 2:
            first, second = buffer[at], buffer[at + 1]
            if second & MASKED:
                raise BrokenLink("the server masked a frame (RFC 6455 5.1)")
            length, start = second, at + 2
            if length == 126:
                if end - start < 2:
                    break
                length, start = int.from_bytes(buffer[start : start + 2]), start + 2
            elif length == 127:
                if end - start < 8:
                    break
                length, start = int.from_bytes(buffer[start : start + 8]), start + 8
            if length > MAX_MESSAGE_BYTES:
                raise BrokenLink(f"a frame of {length} bytes, past chat/1's frame limit")
            stop = start + length
            if stop > end:
                break
            if first == TEXT:
                messages.append(buffer[start:stop])
            elif first == CLOSE:
                self.close_code = int.from_bytes(buffer[start : start + 2]) if length else 1005
            else:
                raise BrokenLink(f"a frame the server never sends (first byte {first:#04x})")
            at = stop
        self._tail = buffer[at:]
        return messages


class FramingTransport(asyncio.Transport):
    """The transport the chat/1 connection writes to: its lines go out as masked text
    messages, all that one write() holds in one write of the socket."""

    def __init__(self, socket_transport: asyncio.Transport) -> None:
        super().__init__()
        self._socket = socket_transport

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self._socket.write(masked_lines(bytes(data)))

    def is_closing(self) -> bool:
        return self._socket.is_closing()

    def close(self) -> None:
        """A close frame (1000), then the socket: the server ends the session as at the end
        of a TCP stream."""
        if not self._socket.is_closing():
            code = NORMAL_CLOSURE.to_bytes(2)
            self._socket.write(masked_frame(code, _masks.randbytes(4), CLOSE))
            self._socket.close()

    def abort(self) -> None:
        self._socket.abort()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._socket.get_extra_info(name, default)


class WebSocketLink(asyncio.Protocol):
    """The socket's protocol: the upgrade, then frames to and from `chat` (a chat/1
    connection, which sees a transport only once the server has accepted the upgrade)."""

    def __init__(self, chat: asyncio.Protocol, authority: str) -> None:
        """`authority`: host:port of the web port, as `Host` names it; the page's origin is
        http:// and the same."""
        self.chat = chat
        self._authority = authority
        self._upgrade = WSConnection(ConnectionType.CLIENT)
        self._head = b""  # the server's answer to the upgrade, so far
        self._frames: ServerFrames | None = None  # once upgraded
        self._socket: asyncio.Transport | None = None
        self._failure: Exception | None = None  # why we closed the link, for the chat side

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._socket = transport  # type: ignore[assignment]  # uvloop's is no subclass of it
        origin = f"http://{self._authority}".encode()
        request = Request(host=self._authority, target=PATH, extra_headers=[(b"origin", origin)])
        self._socket.write(self._upgrade.send(request))  # type: ignore[union-attr]

    def data_received(self, data: bytes) -> None:
        frames = self._frames
        try:
            if frames is None:
                data = self._upgraded(data)
                frames = self._frames
                if frames is None or not data:
                    return
            messages = frames.feed(data)
        except BrokenLink as error:
            self._break(error)
            return
        if messages:
            messages.append(b"")  # so the join ends each line with its newline
            self.chat.data_received(b"\n".join(messages))

    def connection_lost(self, exc: Exception | None) -> None:
        self.chat.connection_lost(self._failure or exc)

    def _upgraded(self, data: bytes) -> bytes:
        """Read the server's answer to the upgrade; once it is whole, hand the chat side its
        transport and return the bytes after it (the first frames)."""
        self._head += data
        end = self._head.find(b"\r\n\r\n")
        if end < 0:
            if len(self._head) > MAX_HEAD_BYTES:
                raise BrokenLink("the server's answer to the upgrade never ended")
            return b""
        head, rest = self._head[: end + 4], self._head[end + 4 :]
        self._head = b""
        self._upgrade.receive_data(head)
        for event in self._upgrade.events():
            if isinstance(event, AcceptConnection):
                assert self._socket is not None
                self._frames = ServerFrames()
                self.chat.connection_made(FramingTransport(self._socket))
                return rest
            if isinstance(event, RejectConnection):
                raise BrokenLink(f"the server refused the upgrade with {event.status_code}")
        raise BrokenLink("the server's answer to the upgrade was no 101")

    def _break(self, error: BrokenLink) -> None:
        self._failure = ConnectionError(f"WebSocket: {error}")
        if self._socket is not None:
            self._socket.close()
