"""Bounded, non-blocking output for every connection, and the one thread that drains them.

Any thread may `send_nowait()` to any connection: the bytes go straight to the socket when it
can take them, and what it cannot take waits in a per-connection buffer of bounded size.
One shared Flusher thread finishes those partial writes when the sockets become writable, so
a recipient that does not read stalls nobody: its buffer fills, `send_nowait()` returns False,
and its connection is ended as a slow consumer. No thread ever blocks on another's socket.

Sockets given to an Outbox must be non-blocking (`setblocking(False)`).
"""

from __future__ import annotations

import contextlib
import logging
import selectors
import socket
import threading
from collections import deque

log = logging.getLogger(__name__)


class Outbox:
    def __init__(self, sock: socket.socket, flusher: Flusher, limit_bytes: int) -> None:
        self._sock = sock
        self._flusher = flusher
        self._limit_bytes = limit_bytes
        self._lock = threading.Lock()
        self._drained = threading.Condition(self._lock)
        self._pending = bytearray()  # bytes the socket has not taken yet, in order
        self._closed = False  # no more output: closed by us or broken by the peer
        self._overflowed = False  # the peer stopped reading and the buffer filled

    @property
    def overflowed(self) -> bool:
        return self._overflowed

    def fileno(self) -> int:
        return self._sock.fileno()

    def send_nowait(self, data: bytes) -> bool:
        """Queue `data` after everything sent before. False: the connection cannot take it."""
        with self._lock:
            if self._closed or self._overflowed:
                return False
            was_idle = not self._pending
            if was_idle:
                sent = self._send_some(data)
                if sent is None:
                    return False
                if sent == len(data):
                    return True
                data = data[sent:]
            if len(self._pending) + len(data) > self._limit_bytes:
                self._overflowed = True  # what is pending stays, so frames stay whole
                return False
            self._pending += data
        if was_idle:
            self._flusher.watch(self)
        return True

    def send_waiting(self, data: bytes, timeout_s: float) -> bool:
        """Like send_nowait, but first wait (up to `timeout_s`) for room in the buffer.
        Only a connection's own thread may wait on its outbox."""
        with self._lock:
            room = self._drained.wait_for(
                lambda: self._closed or len(self._pending) + len(data) <= self._limit_bytes,
                timeout_s,
            )
        return room and self.send_nowait(data)

    def send_final(self, data: bytes) -> None:
        """Queue a last frame (a `bye`) even past the limit: it is one small frame, and the
        connection closes after it whether or not it drains."""
        with self._lock:
            if self._closed:
                return
            was_idle = not self._pending
            self._pending += data
        if was_idle:
            self._flusher.watch(self)

    def flush_nowait(self) -> bool:
        """Write what the socket takes now. True when nothing is left to wait for."""
        with self._lock:
            if self._pending and not self._closed:
                sent = self._send_some(self._pending)
                if sent:
                    del self._pending[:sent]
                    self._drained.notify_all()  # room for paced senders, or drained
            return not self._pending or self._closed

    def wait_drained(self, timeout_s: float) -> bool:
        """Block until everything queued reached the socket (or it broke). True if drained."""
        with self._lock:
            return self._drained.wait_for(lambda: not self._pending or self._closed, timeout_s)

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
        except BlockingIOError:
            return 0
        except OSError:
            self._closed = True
            self._pending.clear()
            self._drained.notify_all()
            return None


class Flusher:
    """The one thread that completes partial writes, driven by socket writability."""

    def __init__(self) -> None:
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._selector.register(self._wake_r, selectors.EVENT_READ)
        self._requests: deque[Outbox] = deque()  # outboxes with newly pending bytes
        self._stopping = False
        self._thread = threading.Thread(target=self._loop, name="outbox-flusher", daemon=True)
        self._thread.start()

    def watch(self, outbox: Outbox) -> None:
        self._requests.append(outbox)
        try:
            self._wake_w.send(b"\0")
        except BlockingIOError:
            pass  # a wake-up is already pending
        except OSError:
            pass  # stopped: the server is past closing its connections

    def stop(self) -> None:
        self._stopping = True
        with contextlib.suppress(OSError):
            self._wake_w.send(b"\0")
        self._thread.join(timeout=5)
        self._selector.close()
        self._wake_r.close()
        self._wake_w.close()

    def _loop(self) -> None:
        watched: dict[int, Outbox] = {}
        while not self._stopping:
            for key, _events in self._selector.select(timeout=1.0):
                if key.fileobj is self._wake_r:
                    self._drain_wakeups()
                    continue
                outbox: Outbox = key.data
                if outbox.flush_nowait():
                    self._forget(watched, key.fd)
            while self._requests:
                self._start_watching(watched, self._requests.popleft())

    def _drain_wakeups(self) -> None:
        try:
            while self._wake_r.recv(4096):
                pass
        except BlockingIOError:
            pass

    def _start_watching(self, watched: dict[int, Outbox], outbox: Outbox) -> None:
        if outbox.flush_nowait():
            return
        try:
            fd = outbox.fileno()
        except OSError:
            return
        if fd < 0:
            return
        if fd in watched:  # a closed connection's number, reused by a new one
            self._forget(watched, fd)
        try:
            self._selector.register(fd, selectors.EVENT_WRITE, outbox)
        except (OSError, ValueError):
            log.debug("outbox fd %d vanished before it could be watched", fd)
            return
        watched[fd] = outbox

    def _forget(self, watched: dict[int, Outbox], fd: int) -> None:
        watched.pop(fd, None)
        with contextlib.suppress(KeyError, ValueError, OSError):
            self._selector.unregister(fd)
