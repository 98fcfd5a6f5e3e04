"""A raw chat/1 test client: JSON lines over a real socket, so tests check the spec too.

`request()` sends one request and returns its reply, keeping any events that arrived first;
`expect()` waits (with a deadline, never a sleep) for the next event matching a filter.
"""

from __future__ import annotations

import itertools
import json
import socket
import ssl
import time
from typing import Any

from service.wire.codec import MAX_FRAME_BYTES

Frame = dict[str, Any]


class TestClient:
    __test__ = False  # not a pytest test class

    def __init__(
        self,
        host: str,
        port: int,
        timeout_s: float = 5.0,
        *,
        source: str | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        """`source`: the local address to connect from (any 127.x.y.z is loopback); `tls`:
        talk TLS, checking the server's certificate against `host`."""
        source_address = (source, 0) if source is not None else None
        sock = socket.create_connection(
            (host, port), timeout=timeout_s, source_address=source_address
        )
        try:
            self.sock = tls.wrap_socket(sock, server_hostname=host) if tls is not None else sock
        except BaseException:
            sock.close()
            raise
        self.timeout_s = timeout_s
        self._buffer = b""
        self._events: list[Frame] = []
        self._ids = itertools.count(1)
        self.hello = self.expect(ev="hello")

    # --- sending -----------------------------------------------------------------------------

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def send(self, frame: Frame) -> None:
        self.send_raw(json.dumps(frame).encode() + b"\n")

    def request(self, op: str, **fields: Any) -> Frame:
        request_id = next(self._ids)
        self.send({"op": op, "id": request_id, **fields})
        return self.reply_to(request_id)

    def login(self, user: str, password: str) -> Frame:
        reply = self.request("login", user=user, password=password)
        assert reply["ok"], reply
        return reply

    # --- receiving ---------------------------------------------------------------------------

    def read_frame(self, timeout_s: float | None = None) -> Frame | None:
        """The next frame off the wire, or None when the server closed the connection."""
        deadline = time.monotonic() + (timeout_s or self.timeout_s)
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("no frame from the server in time")
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(65_536)
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                return None
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        # chat/1 holds the server to the frame limit too: a real client drops the connection.
        assert len(line) + 1 <= MAX_FRAME_BYTES, f"the server sent a {len(line) + 1}-byte frame"
        frame: Frame = json.loads(line)
        return frame

    def reply_to(self, request_id: Any, timeout_s: float | None = None) -> Frame:
        deadline = time.monotonic() + (timeout_s or self.timeout_s)
        while True:
            frame = self.read_frame(max(deadline - time.monotonic(), 0.001))
            if frame is None:
                raise ConnectionError(f"closed before the reply to {request_id!r}")
            if "re" in frame and frame["re"] == request_id:
                return frame
            self._events.append(frame)

    def expect(self, timeout_s: float | None = None, **match: Any) -> Frame:
        """The first event (kept or new) whose fields equal `match`; earlier ones stay kept."""
        for index, kept in enumerate(self._events):
            if _matches(kept, match):
                return self._events.pop(index)
        deadline = time.monotonic() + (timeout_s or self.timeout_s)
        while True:
            frame = self.read_frame(max(deadline - time.monotonic(), 0.001))
            if frame is None:
                raise ConnectionError(f"closed while waiting for {match}")
            if _matches(frame, match):
                return frame
            self._events.append(frame)

    def events(self, **match: Any) -> list[Frame]:
        """Events already received (and not yet expected) that match."""
        return [frame for frame in self._events if _matches(frame, match)]

    def watch(self, seconds: float) -> list[Frame]:
        """Every frame the server sends within `seconds` (a deadline, not a sleep). The
        connection must stay open meanwhile."""
        frames: list[Frame] = []
        deadline = time.monotonic() + seconds
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                frame = self.read_frame(timeout_s=remaining)
            except TimeoutError:
                break
            assert frame is not None, "the server closed the connection"
            frames.append(frame)
        return frames

    def wait_closed(self, timeout_s: float | None = None) -> list[Frame]:
        """Read until the server closes; returns every frame read on the way."""
        frames = []
        while (frame := self.read_frame(timeout_s)) is not None:
            frames.append(frame)
        return self._events + frames

    def close(self) -> None:
        self.sock.close()


def _matches(frame: Frame, match: dict[str, Any]) -> bool:
    return all(frame.get(key) == value for key, value in match.items())
