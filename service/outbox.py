"""Bounded, non-blocking output for one connection.

Any thread may `send_nowait()`: the bytes wait here, bounded, and the reactor writes them at
the end of its round (it is told through `on_pending`), all that a connection got meanwhile
in one `send()`. A thousand presence events to one user during a login storm cost one
syscall, not a thousand, and only the reactor ever writes to a socket. A recipient that does
not read stalls nobody: its buffer fills, `send_nowait()` returns False, and its connection
is ended as a slow consumer.

The socket must be non-blocking (`setblocking(False)`); a TLS socket (service/tls.py) will do.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable

from service.tls import WOULD_BLOCK


class Outbox:
    __slots__ = ("_closed", "_drained", "_lock", "_on_pending", "_overflowed", "_pending",
                 "_sealed", "_sock", "_waiters", "limit_bytes")  # fmt: skip

    def __init__(
        self, sock: socket.socket, limit_bytes: int, on_pending: Callable[[], None]
    ) -> None:
        self._sock = sock
        self.limit_bytes = limit_bytes
        self._on_pending = on_pending  # called (outside the lock) when bytes start waiting
        self._lock = threading.Lock()
        self._drained = threading.Condition(self._lock)
        self._pending = bytearray()  # bytes the socket has not taken yet, in order
        self._closed = False  # no more output: closed by us or broken by the peer
        self._overflowed = False  # the peer stopped reading and the buffer filled
        self._sealed = False  # the last frame (a `bye`) is queued: nothing may follow it
        self._waiters = 0  # threads in send_waiting: only then is there anyone to notify

    @property
    def overflowed(self) -> bool:
        return self._overflowed

    @property
    def has_pending(self) -> bool:
        return bool(self._pending)

    def send_nowait(self, data: bytes) -> bool:
        """Queue `data` after everything sent before. False: the connection cannot take it."""
        with self._lock:
            if self._refuses():
                return False
            if len(self._pending) + len(data) > self.limit_bytes:
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
                        or len(self._pending) + len(data) <= self.limit_bytes
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
        """Under the lock: queue `data`; whether nothing was waiting before it."""
        was_idle = not self._pending
        self._pending += data
        return was_idle

    def flush_nowait(self) -> bool:
        """Write what the socket takes now (only the reactor). True: nothing left to write."""
        with self._lock:
            if self._pending and not self._closed:
                sent = self._send_some(self._pending)
                if sent:
                    del self._pending[:sent]
                    if self._waiters:
                        self._drained.notify_all()  # room for paced senders
            return not self._pending or self._closed

    def close(self) -> None:
        """Refuse further output and drop what is unsent; the caller closes the socket."""
        with self._lock:
            self._closed = True
            self._pending.clear()
            self._drained.notify_all()

    def _send_some(self, data: bytes | bytearray) -> int | None:
        """Bytes the socket took (0 if full); None if the connection is broken."""
        try:
            return self._sock.send(data)
        except WOULD_BLOCK:  # TLS: OpenSSL keeps what it took and wants the same bytes again
            return 0
        except OSError:
            self._closed = True
            self._pending.clear()
            self._drained.notify_all()
            return None
