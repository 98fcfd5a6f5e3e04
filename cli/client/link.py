"""The client's one connection to a chat/1 server: a socket, the codec, a reader thread and a
sender thread.

`request()` numbers each request (`id` is a counter) and returns a Future for its reply;
events go to the `on_incoming` callback, in the reader thread, in the order they arrived,
followed by exactly one `LinkClosed` when the connection ends. Sending never blocks the
caller: frames are queued, in order, for the one sender thread, so a server that stops
reading never freezes the prompt. What the events mean is not this module's business;
framing is `service.wire.codec`'s. `connect()` is the one place a connection is opened.
"""

from __future__ import annotations

import contextlib
import itertools
import queue
import socket
import ssl
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from cli.client.tls import TlsStream, connect_tls
from service.wire.codec import FrameDecoder, FrameError, JsonObject, encode

RECV_BYTES = 65_536  # one read; the decoder bounds what is buffered, not this
CONNECT_TIMEOUT_S = 10.0
SEND_TIMEOUT_S = 10.0  # a server that takes no data for this long is treated as gone


@dataclass(frozen=True, slots=True)
class LinkClosed:
    """The connection ended; `error` says how if it was not a clean close by the server."""

    error: str | None = None


Incoming = JsonObject | LinkClosed

# How a connection ended, in words for the user ("Lost the connection to the server (...)"):
# the system's "[Errno 104] Connection reset by peer" means nothing to most people.
_ENDINGS: dict[type[OSError], str] = {
    ConnectionResetError: "the connection was reset by the server",
    ConnectionAbortedError: "the connection was aborted on this computer",
    BrokenPipeError: "the server had already closed the connection",
    TimeoutError: "the server stopped taking data",
    ssl.SSLError: "the TLS connection broke",
}


def in_words(exc: OSError) -> str:
    """Why a connection ended, as a phrase without error numbers."""
    for kind, words in _ENDINGS.items():
        if isinstance(exc, kind):
            return words
    if exc.strerror:  # the system's own sentence, without its "[Errno N]"
        return exc.strerror[:1].lower() + exc.strerror[1:]
    return "the connection failed"


IncomingHandler = Callable[[Incoming], None]


class Link:
    """Thread-safe: `request`, `send_nowait` and `close` may be called from any thread, and
    none of them waits for the network."""

    def __init__(self, sock: socket.socket | TlsStream, on_incoming: IncomingHandler) -> None:
        self._sock = sock
        self._on_incoming = on_incoming
        self._decoder = FrameDecoder()
        # Encoded frames for the sender, in order. Unbounded, but a server that takes nothing
        # for SEND_TIMEOUT_S ends the link, and a person types only so fast.
        self._outgoing: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()  # None: stop
        self._state_lock = threading.Lock()  # guards _pending, _closed
        self._pending: dict[int, Future[JsonObject]] = {}  # request id -> its reply
        self._ids = itertools.count(1)
        self._closed = False
        self._closing = False  # close() was called: what fails after it is no news
        self._failure: str | None = None  # why a send failed, reported by the reader
        self._reader = threading.Thread(target=self._read_loop, name="link-reader", daemon=True)
        self._sender = threading.Thread(target=self._send_loop, name="link-sender", daemon=True)

    @classmethod
    def connect(
        cls, host: str, port: int, on_incoming: IncomingHandler, tls: ssl.SSLContext | None = None
    ) -> Link:
        """Connect (inside TLS with `tls`: the server's certificate is checked against `host`)
        and start reading. Raises OSError with the system's reason on failure."""
        sock: socket.socket | TlsStream
        if tls is not None:
            sock = connect_tls(host, port, tls, CONNECT_TIMEOUT_S, SEND_TIMEOUT_S)
        else:
            sock = socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S)
            sock.settimeout(SEND_TIMEOUT_S)  # the reader just reads again when it expires
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        link = cls(sock, on_incoming)
        link.start()
        return link

    @property
    def local_host(self) -> str:
        """Our address as the server sees it (without NAT): where a peer can reach us."""
        return str(self._sock.getsockname()[0])

    @property
    def closed(self) -> bool:
        """True once the connection has ended (LinkClosed has been or is being reported)."""
        return self._closed

    def start(self) -> None:
        self._reader.start()
        self._sender.start()

    def request(self, op: str, **fields: Any) -> Future[JsonObject]:
        """Send `{"op": op, "id": n, **fields}`; the Future gets the reply frame (ok or not),
        or ConnectionError if the connection ends first."""
        future: Future[JsonObject] = Future()
        # Running, so cancel() is a no-op: a caller that stops waiting (asyncio.wait_for's
        # timeout cancels the wrapped future) must not make a late reply or the close raise
        # InvalidStateError in the reader thread, which would kill it silently.
        future.set_running_or_notify_cancel()
        with self._state_lock:
            if self._closed:
                future.set_exception(ConnectionError("not connected to the server"))
                return future
            request_id = next(self._ids)
            self._pending[request_id] = future
        self._outgoing.put(encode({"op": op, "id": request_id, **fields}))
        return future

    def send_nowait(self, frame: JsonObject) -> None:
        """A frame that wants no reply (`ack`, `active`). A dead connection is reported by the
        reader; after the end this does nothing."""
        self._outgoing.put(encode(frame))

    def close(self) -> None:
        """Close the socket; the reader then reports LinkClosed. Idempotent."""
        self._closing = True
        self._outgoing.put(None)
        with contextlib.suppress(OSError):  # already closed or never connected
            self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()

    def join(self, timeout_s: float) -> None:
        self._reader.join(timeout_s)
        self._sender.join(timeout_s)

    def _send_loop(self) -> None:
        """The sender thread: queued frames to the socket, in order, until close()."""
        while (data := self._outgoing.get()) is not None:
            try:
                self._sock.sendall(data)
            except OSError as exc:
                self._fail(f"sending failed: {in_words(exc)}")
                return

    def _read_loop(self) -> None:
        error: str | None = None
        try:
            while True:
                try:
                    data = self._sock.recv(RECV_BYTES)
                except TimeoutError:
                    continue  # a quiet server is fine: the timeout is there for sends
                if not data:
                    break
                if self._dispatch(self._decoder.feed(data)):
                    error = "the server sent an oversized frame"
                    break
        except OSError as exc:
            error = in_words(exc)
        self._finish(self._failure or error)

    def _dispatch(self, frames: list[JsonObject | FrameError]) -> bool:
        """Route frames; True if the stream can no longer be read."""
        for frame in frames:
            if isinstance(frame, FrameError):
                if frame.is_fatal:
                    return True
                continue  # the server's garbage; chat/1 lets a reader skip a bad line
            if "re" in frame:
                self._resolve(frame)
            elif "ev" in frame:
                self._on_incoming(frame)
        return False

    def _resolve(self, reply: JsonObject) -> None:
        request_id = reply.get("re")
        with self._state_lock:
            future = self._pending.pop(request_id, None) if isinstance(request_id, int) else None
        if future is not None:
            future.set_result(reply)

    def _fail(self, error: str) -> None:
        if not self._closing:
            self._failure = error
        self.close()  # the reader wakes up, fails the pending futures and reports once

    def _finish(self, error: str | None) -> None:
        with self._state_lock:
            self._closed = True
            pending, self._pending = self._pending, {}
        for future in pending.values():
            future.set_exception(ConnectionError("the connection to the server was lost"))
        self._sock.close()
        self._on_incoming(LinkClosed(error))
