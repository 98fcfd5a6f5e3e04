"""A raw chat/1 client over WebSocket, on wsproto itself, and raw HTTP for the web port.

`WsTestClient` is `TestClient` (request, expect, wait_closed...) with a WebSocket under it:
each frame goes out as one text message, each message that comes in is one frame. What a
well-behaved library would refuse to send (a binary message, text that is not UTF-8, an
oversized message) goes out through `send_frame`, built by hand as RFC 6455 says.
"""

from __future__ import annotations

import itertools
import json
import os
import socket
import ssl
import struct
import time

from wsproto import WSConnection
from wsproto.connection import ConnectionType
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Event,
    Ping,
    RejectConnection,
    RejectData,
    Request,
    TextMessage,
)

from tests.support.client import Frame, TestClient

CONTINUATION, TEXT, BINARY = 0x0, 0x1, 0x2


class UpgradeRefused(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(f"the server refused the upgrade with {status}")
        self.status = status


class WsTestClient(TestClient):
    def __init__(
        self,
        host: str,
        port: int,
        timeout_s: float = 5.0,
        *,
        origin: str | None = "",
        tls: ssl.SSLContext | None = None,
        host_header: str | None = None,
    ) -> None:
        """`origin`: "" sends the page's own (http(s)://host:port), None none at all."""
        sock = socket.create_connection((host, port), timeout=timeout_s)
        try:
            self.sock = tls.wrap_socket(sock, server_hostname=host) if tls is not None else sock
        except BaseException:
            sock.close()
            raise
        self.timeout_s = timeout_s
        self._buffer = b""
        self._events: list[Frame] = []
        self._ids = itertools.count(1)
        self._messages: list[str] = []  # text messages read and not yet taken
        self._parts: list[str] = []
        self.close_code: int | None = None  # the server's close frame, once it came
        self._ws = WSConnection(ConnectionType.CLIENT)
        authority = host_header or f"{host}:{port}"
        if origin == "":
            origin = f"{'https' if tls else 'http'}://{authority}"
        headers = [] if origin is None else [(b"origin", origin.encode())]
        self.sock.sendall(self._ws.send(Request(host=authority, target="/chat",
                                                extra_headers=headers)))  # fmt: skip
        self._wait_accepted()
        self.hello = self.expect(ev="hello")

    def _wait_accepted(self) -> None:
        deadline = time.monotonic() + self.timeout_s
        accepted = False
        while not accepted:
            for event in self._receive(deadline):
                if isinstance(event, AcceptConnection):
                    accepted = True
                elif isinstance(event, RejectConnection):
                    raise UpgradeRefused(event.status_code)
                else:
                    self._take(event)  # what came with the 101 (the hello)

    def _receive(self, deadline: float) -> list[Event]:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("nothing from the server in time")
        self.sock.settimeout(remaining)
        try:
            data: bytes | None = self.sock.recv(65_536) or None
        except (ConnectionResetError, BrokenPipeError):
            data = None
        self._ws.receive_data(data)
        return [e for e in self._ws.events() if not isinstance(e, RejectData)]

    # --- sending -----------------------------------------------------------------------------

    def send_raw(self, data: bytes) -> None:
        """`data` as one text message (a frame's JSON, its newline dropped)."""
        self.send_frame(TEXT, data.removesuffix(b"\n"))

    def send_frame(self, opcode: int, payload: bytes, fin: bool = True) -> None:
        """One masked frame as a client sends it, whatever its payload."""
        self.sock.sendall(self.masked(opcode, payload, fin))

    @staticmethod
    def masked(opcode: int, payload: bytes, fin: bool = True) -> bytes:
        """A frame's bytes as a client sends them (masked), whatever its payload."""
        first = (0x80 if fin else 0) | opcode
        n = len(payload)
        if n < 126:
            head = bytes((first, 0x80 | n))
        elif n < 65_536:
            head = struct.pack("!BBH", first, 0x80 | 126, n)
        else:
            head = struct.pack("!BBQ", first, 0x80 | 127, n)
        mask = os.urandom(4)
        return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))

    def send_close(self, code: int) -> None:
        """Close as a browser does: the close frame, then wait for the server's."""
        self.sock.sendall(self._ws.send(CloseConnection(code=code)))

    # --- receiving ---------------------------------------------------------------------------

    def read_frame(self, timeout_s: float | None = None) -> Frame | None:
        """The next message as a frame, or None once the server closed."""
        deadline = time.monotonic() + (timeout_s or self.timeout_s)
        while not self._messages:
            if self.close_code is not None:
                return None
            for event in self._receive(deadline):
                self._take(event)
        frame: Frame = json.loads(self._messages.pop(0))
        return frame

    def _take(self, event: Event) -> None:
        if isinstance(event, TextMessage):
            self._parts.append(event.data)
            if event.message_finished:
                self._messages.append("".join(self._parts))
                self._parts = []
        elif isinstance(event, BytesMessage):
            raise AssertionError("the server sent a binary message")
        elif isinstance(event, Ping):
            self.sock.sendall(self._ws.send(event.response()))
        elif isinstance(event, CloseConnection) and self.close_code is None:
            self.close_code = event.code  # (a later 1006 is only the socket closing)
