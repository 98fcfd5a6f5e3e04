"""A client's plain text messages read past wsproto: the common case, in a few lines, pure.

Nearly everything a chat client sends is a plain text message: one frame, FIN set, masked (as
every client frame must be), no reserved bit, its length in the fewest bytes, at most 65,536
bytes (chat/1's frame limit), valid UTF-8, and not inside a fragmented message. Through
wsproto each costs an event object, a str decoded and encoded again, and a masker object:
about 30 µs a message, most of the reactor's time for a WebSocket session under
`scripts/bench dm --transport ws`. Here its payload is unmasked with one big-integer XOR.

Everything else goes to wsproto, which stays the reference and decides every error: control
frames, fragments and whatever comes while a fragmented message is open, binary messages,
anything RFC 6455 forbids, and a plain-looking frame whose payload is not UTF-8 (whole, so
wsproto answers it with 1007 as before). The splitter reads only frame headers to know where
each frame ends: a frame for wsproto is handed over as its bytes come, never held here, so
what this holds is at most one plain frame (65,550 bytes with its header). The one
difference from wsproto alone: a plain-looking frame that breaks UTF-8 early is refused once
it is whole, not at its first bad byte.

tests/unit/test_web_plain_text.py holds this and wsproto together equal to wsproto alone, for
any frames split anywhere.
"""

from __future__ import annotations

from service.wire.codec import MAX_FRAME_BYTES

PLAIN_TEXT = 0x81  # FIN, no reserved bit, the text opcode
MASK_BIT = 0x80  # in the second byte
FIN_BIT = 0x80  # in the first byte
OPCODE_BITS = 0x0F
FIRST_CONTROL_OPCODE = 0x8  # close, ping, pong (and reserved ones) interleave with fragments

Piece = tuple[bool, bytes]  # (True, a plain message's payload) or (False, bytes for wsproto)


class PlainTextSplitter:
    __slots__ = ("_held", "_held_bytes", "_needed", "_open_fragments", "_passing")

    def __init__(self) -> None:
        # The start of a frame whose header or plain payload is incomplete, in the pieces it
        # came in: joined once `_needed` bytes are there, so a frame that trickles in a byte
        # at a time costs its length, not its length squared.
        self._held: list[bytes] = []
        self._held_bytes = 0
        self._needed = 0
        self._passing = 0  # bytes of the current frame still to hand to wsproto as they come
        self._open_fragments = False  # a fragmented message is open: wsproto reads it all

    def feed(self, data: bytes) -> list[Piece]:
        """The stream's next bytes -> in order, the payloads of plain text messages (unmasked,
        valid UTF-8) and the bytes wsproto must read."""
        pieces: list[Piece] = []
        if self._passing:
            rest_of_frame = data[: self._passing]
            pieces.append((False, rest_of_frame))
            self._passing -= len(rest_of_frame)
            data = data[len(rest_of_frame) :]
        if self._held:
            self._held.append(data)
            self._held_bytes += len(data)
            if self._held_bytes < self._needed:
                return pieces
            data = b"".join(self._held)
            self._held, self._held_bytes = [], 0
        self._split(data, pieces)
        return pieces

    def _split(self, buffer: bytes, pieces: list[Piece]) -> None:
        at, end = 0, len(buffer)
        while True:
            if end - at < 2:
                self._hold(buffer, at, 2)
                return
            first, second = buffer[at], buffer[at + 1]
            length, start, minimal = second & 0x7F, at + 2, True
            if length == 126:
                if end - start < 2:
                    self._hold(buffer, at, 4)
                    return
                length, start = int.from_bytes(buffer[start : start + 2]), start + 2
                minimal = length >= 126
            elif length == 127:
                if end - start < 8:
                    self._hold(buffer, at, 10)
                    return
                length, start = int.from_bytes(buffer[start : start + 8]), start + 8
                minimal = length >= 65_536  # (and the top bit clear: over the limit anyway)
            if second & MASK_BIT:
                start += 4  # the mask key
            stop = start + length
            if (
                first == PLAIN_TEXT
                and second & MASK_BIT
                and minimal
                and length <= MAX_FRAME_BYTES
                and not self._open_fragments
            ):
                if stop > end:  # the rest of a plain frame is on its way
                    self._hold(buffer, at, stop - at)
                    return
                payload = unmask(buffer[start:stop], buffer[start - 4 : start])
                if payload.isascii() or _is_utf8(payload):
                    pieces.append((True, payload))
                else:
                    pieces.append((False, buffer[at:stop]))  # wsproto says 1007
                at = stop
                continue
            if first & OPCODE_BITS < FIRST_CONTROL_OPCODE:  # a data frame opens or closes
                self._open_fragments = not first & FIN_BIT  # a fragmented message
            taken = min(stop, end)  # (wsproto holds a header it has only part of)
            pieces.append((False, buffer[at:taken]))
            self._passing = stop - taken
            at = taken

    def _hold(self, buffer: bytes, at: int, needed: int) -> None:
        """Keep what is left from `at` until `needed` bytes of it are there."""
        if at < len(buffer):
            self._held, self._held_bytes = [buffer[at:]], len(buffer) - at
            self._needed = needed


def unmask(payload: bytes, mask: bytes) -> bytes:
    """`payload` XOR the 4-byte mask key repeated (RFC 6455 5.3), as one integer XOR in C."""
    n = len(payload)
    if not n:
        return b""
    key = (mask * ((n >> 2) + 1))[:n]
    return (int.from_bytes(payload, "little") ^ int.from_bytes(key, "little")).to_bytes(n, "little")


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
