"""One accepted socket as the reactor sees it: reading, writing what waits, and closing.

What every wire adapter (chat/1 over TCP, WebSocket) and the web port's HTTP exchange share,
whatever the bytes mean: a non-blocking socket (plain or TLS), its bounded outbox, what the
reactor watches it for, the close once the last frame has drained. Subclasses say what
received bytes mean (`_received`, `_received_eof`) and whether to read now (`_wants_reading`).
All of it runs on the reactor thread, but `send_bytes` (any thread).
"""

from __future__ import annotations

import contextlib
import logging
import socket
from collections.abc import Callable
from typing import Any

from service.net.outbox import Outbox
from service.net.reactor import Reactor
from service.net.tls import WOULD_BLOCK

log = logging.getLogger(__name__)

RECV_BYTES = 65_536


class SocketSide:
    def __init__(
        self,
        sock: socket.socket,
        address: tuple[Any, ...],
        reactor: Reactor,
        outbox: Outbox | None,
        outbox_limit_bytes: int,
    ) -> None:
        """`outbox`: one the socket had before (the HTTP exchange's, at a WebSocket upgrade:
        what it still has to write goes first); None makes a new one."""
        sock.setblocking(False)
        self._sock = sock
        self._fd = sock.fileno()
        # TLS: bytes OpenSSL has decrypted and not handed out yet, which select cannot see
        self._tls_pending: Callable[[], int] | None = getattr(sock, "pending", None)
        self.peer_host = str(address[0])
        self.peer = f"{address[0]}:{address[1]}"
        self._reactor = reactor
        if outbox is None:
            outbox = Outbox(sock, outbox_limit_bytes, self._on_output_waiting)
        self._outbox = outbox
        self._writing = False  # the reactor watches for writability (output is waiting)
        self._watched = (False, False)  # (read, write) as last told to the reactor
        self._closed = False
        self.close_deadline: float | None = None  # set once the goodbye is queued

    def fileno(self) -> int:
        return self._fd

    def _on_output_waiting(self) -> None:
        self._reactor.flush_soon(self)

    # --- what subclasses say ---------------------------------------------------------------

    def _wants_reading(self) -> bool:
        raise NotImplementedError

    def _received(self, data: bytes) -> None:
        """Bytes from the peer (never empty)."""
        raise NotImplementedError

    def _received_eof(self) -> None:
        """The peer is done sending (or the transport broke)."""
        raise NotImplementedError

    def _after_reading(self) -> None:
        """After `_received` or `_received_eof`: act on it."""

    def _on_closed(self) -> None:
        """The socket is closed (once)."""

    def on_failure(self) -> None:
        """Our own bug surfaced while reading or writing: end this connection only."""
        self._close()

    # --- the reactor's side ----------------------------------------------------------------

    def on_readable(self) -> None:
        try:
            data = self._sock.recv(RECV_BYTES)
        except WOULD_BLOCK:
            return
        except OSError:
            data = b""
        if not data:  # the peer is done sending: answer what it sent, then end
            self._received_eof()
        else:
            self._received(data)
            if self._tls_pending is not None and self._tls_pending():
                self._reactor.post(self._read_tls_pending)  # the rest, next round
        self._after_reading()

    def _read_tls_pending(self) -> None:
        if not self._closed and self._watched[0]:  # still reading (not held back, not ending)
            self.on_readable()

    def on_writable(self) -> None:
        """Write what waits (the socket is writable, or output came this round)."""
        if self._closed:
            return
        if self._outbox.flush_nowait():
            if self.close_deadline is not None:
                self._close()
            elif self._writing:
                self._writing = False
                self._update_watch()
        elif not self._writing:  # the socket is full: go on when it is writable
            self._writing = True
            self._update_watch()

    def _update_watch(self) -> None:
        if self._closed:
            return
        reading = self._wants_reading()
        if (reading, self._writing) != self._watched:  # most calls change nothing
            resumed = reading and not self._watched[0]
            self._watched = (reading, self._writing)
            self._reactor.watch(self, read=reading, write=self._writing)
            if resumed and self._tls_pending is not None and self._tls_pending():
                # bytes OpenSSL decrypted while reading was paused: epoll will not say so
                self._reactor.post(self._read_tls_pending)

    # --- the end ---------------------------------------------------------------------------

    def _close_when_drained(self, deadline: float) -> None:
        """Close once what waits is written, or at `deadline` (monotonic) whatever is left."""
        self.close_deadline = deadline
        if not self._outbox.has_pending:
            self._close()
            return
        self._writing = True
        self._update_watch()

    def close_if_overdue(self, now: float) -> None:
        if self.close_deadline is not None and now >= self.close_deadline:
            self._close()

    def force_close(self) -> None:
        """The server is going away: close now, whatever is running or unsent."""
        self._close()

    def _close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._watched = (False, False)
        self._reactor.watch(self, read=False, write=False)
        self._outbox.close()
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()
        log.debug("connection from %s closed", self.peer)
        self._on_closed()

    def _release(self) -> tuple[socket.socket, Outbox]:
        """Hand the socket and its outbox to the object that carries on with them (a
        WebSocket session after the upgrade); this one is done, without closing anything."""
        self._closed = True
        return self._sock, self._outbox
