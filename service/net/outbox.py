"""Bounded, non-blocking output for one connection.

Any thread may `send_nowait()`: the bytes wait here, bounded, and the reactor writes them at
the end of its round (it is told through `on_pending`), all that a connection got meanwhile
in one `send()`. A thousand presence events to one user during a login storm cost one
syscall, not a thousand, and only the reactor ever writes to a socket. A recipient that does
not read stalls nobody: its buffer fills, `send_nowait()` returns False, and its connection
is ended as a slow consumer.

Memory: what waits is a queue of the very bytes objects the senders passed, never a copy. A
room message is encoded once and the same object waits in every member's outbox, so 200
members who do not read hold one copy of it, not 200 (a bytearray per connection held up to
its whole bound each: 1 MiB per non-reader). The bound still counts every queued byte in
every outbox that holds it: it is what that connection owes its peer.

The socket must be non-blocking (`setblocking(False)`); a TLS socket (service/net/tls.py) will do.
"""

from __future__ import annotations

import itertools
import socket
import threading
from collections import deque
from collections.abc import Callable

from service.net.tls import WOULD_BLOCK

SEND_BYTES = 262_144  # at most this much of the queue is joined for one send() call


class Outbox:
    __slots__ = ("_chunks", "_closed", "_drained", "_lock", "_offset", "_on_pending",
                 "_overflowed", "_pending_bytes", "_sealed", "_sock", "_waiters",
                 "limit_bytes")  # fmt: skip

    def __init__(
        self, sock: socket.socket, limit_bytes: int, on_pending: Callable[[], None]
    ) -> None:
        self._sock = sock
        self.limit_bytes = limit_bytes
        self._on_pending = on_pending  # called (outside the lock) when bytes start waiting
        self._lock = threading.Lock()
        self._drained = threading.Condition(self._lock)
        self._chunks: deque[bytes] = deque()  # what the socket has not taken yet, in order
        self._offset = 0  # bytes of _chunks[0] the socket took already
        self._pending_bytes = 0  # unsent bytes in _chunks: what the bound counts
        self._closed = False  # no more output: closed by us or broken by the peer
        self._overflowed = False  # the peer stopped reading and the buffer filled
        self._sealed = False  # the last frame (a `bye`) is queued: nothing may follow it
        self._waiters = 0  # threads in send_waiting: only then is there anyone to notify

    def redirect(self, on_pending: Callable[[], None], limit_bytes: int) -> None:
        """The socket changes hands (a WebSocket upgrade): from now on tell `on_pending` and
        hold up to `limit_bytes`, the session's bound rather than the HTTP exchange's (which
        fits a file, not a backlog page of 64 KiB and its framing)."""
        with self._lock:
            self._on_pending = on_pending
            self.limit_bytes = limit_bytes

    @property
    def overflowed(self) -> bool:
        return self._overflowed

    @property
    def has_pending(self) -> bool:
        return self._pending_bytes > 0

    @property
    def pending_bytes(self) -> int:
        """Bytes queued and not yet taken by the socket, each counted in full however many
        other outboxes hold the same bytes object."""
        return self._pending_bytes

    def send_nowait(self, data: bytes) -> bool:
        """Queue `data` after everything sent before. False: the connection cannot take it."""
        with self._lock:
            if self._refuses():
                return False
            if self._pending_bytes + len(data) > self.limit_bytes:
                self._overflowed = True  # what is pending stays, so frames stay whole
                return False
            was_idle = self._append(data)
        if was_idle:
            self._on_pending()
        return True

    def send_waiting(self, data: bytes, timeout_s: float) -> bool:
        """Like send_nowait, but first wait (up to `timeout_s`) for room in the buffer; the
        check and the append are one step under the lock. Only a worker thread may wait
        (never the reactor, which is what makes room)."""
        with self._lock:
            self._waiters += 1
            try:
                room = self._drained.wait_for(
                    lambda: (
                        self._closed
                        or self._overflowed
                        or self._pending_bytes + len(data) <= self.limit_bytes
                    ),
                    timeout_s,
                )
            finally:
                self._waiters -= 1
            if not room or self._refuses():
                return False
            was_idle = self._append(data)
        if was_idle:
            self._on_pending()
        return True

    def send_final(self, data: bytes) -> None:
        """Queue a last frame (a `bye`) even past the limit: it is one small frame, and the
        connection closes after it whether or not it drains."""
        with self._lock:
            if self._closed or self._sealed:
                return
            self._sealed = True
            was_idle = self._append(data)
        if was_idle:
            self._on_pending()

    def give_up(self) -> None:
        """The peer counts as a slow consumer by another measure (what was held for it during
        a login overflowed): refuse further output and wake any paced sender at once. The
        last frame (`send_final`) may still go."""
        with self._lock:
            self._overflowed = True
            self._drained.notify_all()

    def _refuses(self) -> bool:
        return self._closed or self._overflowed or self._sealed

    def _append(self, data: bytes) -> bool:
        """Under the lock: queue `data` (the object itself, not a copy); whether nothing was
        waiting before it."""
        was_idle = not self._pending_bytes
        if data:
            self._chunks.append(data)
            self._pending_bytes += len(data)
        return was_idle

    def flush_nowait(self) -> bool:
        """Write what the socket takes now (only the reactor). True: nothing left to write."""
        with self._lock:
            took = False
            while self._pending_bytes and not self._closed:
                head = self._head()
                sent = self._send_some(head)
                if not sent:
                    break
                took = True
                self._consume(sent)
                if sent < len(head):
                    break  # the socket is full
            if took and self._waiters:
                self._drained.notify_all()  # room for paced senders
            return not self._pending_bytes or self._closed

    def _head(self) -> memoryview | bytes:
        """The next bytes to offer the socket: the rest of the first chunk, or, when that is
        short, the first chunks joined up to about SEND_BYTES (one syscall for many small
        frames). Offered again after a refusal, it starts with the same bytes and is no
        shorter, as a TLS retry needs."""
        chunks, offset = self._chunks, self._offset
        if not offset and self._pending_bytes <= SEND_BYTES:  # the usual case: all of it
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)
        first = chunks[0]
        if len(first) - offset >= SEND_BYTES or len(chunks) == 1:
            return memoryview(first)[offset:]
        parts, size = [memoryview(first)[self._offset :]], len(first) - self._offset
        for chunk in itertools.islice(self._chunks, 1, None):
            if size >= SEND_BYTES:
                break
            parts.append(memoryview(chunk))
            size += len(chunk)
        return b"".join(parts)

    def _consume(self, sent: int) -> None:
        """Drop `sent` bytes from the front: chunks sent whole leave the queue at once, so
        their memory goes as soon as no other outbox holds them."""
        if sent == self._pending_bytes:  # the usual case: the socket took all of it
            self._clear()
            return
        self._pending_bytes -= sent
        while sent:
            left = len(self._chunks[0]) - self._offset
            if sent < left:
                self._offset += sent
                return
            self._chunks.popleft()
            self._offset = 0
            sent -= left

    def _clear(self) -> None:
        self._chunks.clear()
        self._offset = 0
        self._pending_bytes = 0

    def close(self) -> None:
        """Refuse further output and drop what is unsent; the caller closes the socket."""
        with self._lock:
            self._closed = True
            self._clear()
            self._drained.notify_all()

    def _send_some(self, data: memoryview | bytes) -> int | None:
        """Bytes the socket took (0 if full); None if the connection is broken."""
        try:
            return self._sock.send(data)
        except WOULD_BLOCK:  # TLS: OpenSSL keeps what it took and wants the same bytes again
            return 0
        except OSError:
            self._closed = True
            self._clear()
            self._drained.notify_all()
            return None
