"""A WebSocket session's outbox: chat/1 lines in, one text message per line out.

Whoever sends to a session (the hub, the writer, a worker) hands it chat/1 lines, as to any
connection; this subclass of Outbox frames them (service/net/web/frames.py) on the sender's
thread, before they are queued, so the reactor writes bytes as they are. The TCP outbox is
untouched: no per-frame work is added to chat/1 over TCP. What the bound counts is the
framed bytes. A room message is handed to every member as the same bytes object, so the
last lines framed are remembered (`LastFramed`): its WebSocket members share one framing and
one copy in memory, as TCP members share the lines.
Raw bytes (HTTP responses before the upgrade, pong and close frames) skip the framing.
"""

from __future__ import annotations

from service.net.outbox import Outbox
from service.net.web.frames import text_frames


class LastFramed:
    """The last lines framed and their frames, for whoever is handed the very same lines
    next. Any thread: the pair is read and replaced in one step each, so a race only frames
    the same lines twice. It keeps those lines alive until other lines are framed."""

    __slots__ = ("_pair",)

    def __init__(self) -> None:
        self._pair: tuple[bytes, bytes] = (b"", b"")

    def frames(self, lines: bytes) -> bytes:
        last, framed = self._pair
        if last is lines:  # the same object, not equal bytes: nothing to compare
            return framed
        framed = text_frames(lines)
        self._pair = (lines, framed)
        return framed


_LAST = LastFramed()  # live output of every WebSocket session: a room's fan-out hits it


class WsOutbox(Outbox):
    __slots__ = ()

    def send_nowait(self, data: bytes) -> bool:
        return super().send_nowait(_LAST.frames(data))

    def send_waiting(self, data: bytes, timeout_s: float) -> bool:
        return super().send_waiting(text_frames(data), timeout_s)

    def send_final(self, data: bytes) -> None:
        super().send_final(text_frames(data))

    def send_raw_nowait(self, data: bytes) -> bool:
        """Bytes as they are (HTTP, or a WebSocket control frame)."""
        return super().send_nowait(data)

    def send_final_raw(self, data: bytes) -> None:
        """The last bytes, as they are (the `bye` framed already, and the close frame)."""
        super().send_final(data)
