"""One chat/1 connection over TCP (or TLS): newline-delimited JSON, the first wire adapter.

Everything a session does is the adapter core's (service/net/adapter.py); this class only
says what the bytes mean: `FrameDecoder` (service/wire/codec.py) turns them into frames for
the engine, and the output is the frames themselves, as the outbox holds them.
"""

from __future__ import annotations

import socket
from typing import Any

from service.net.adapter import SessionAdapter
from service.net.runtime import Runtime
from service.wire.codec import FrameDecoder

__all__ = ["Connection", "Runtime"]


class Connection(SessionAdapter):
    def __init__(
        self,
        sock: socket.socket,
        address: tuple[Any, ...],
        runtime: Runtime,
        accepted_at: float | None = None,
    ) -> None:
        super().__init__(sock, address, runtime, accepted_at)
        self._decoder = FrameDecoder()
        self.state.can_private = True  # a TCP client can listen for a peer (chat/1 point 16)

    def _received(self, data: bytes) -> None:
        self._engine.receive(self._decoder.feed(data))
