"""The one thread that owns every socket: accept, read, finish partial writes, run timers.

Why one thread: a thread per connection costs two context switches and a `poll` per message,
and a thread's memory per idle user (see docs/ARCHITECTURE.md). Here a round of `select`
reads every ready socket, and whatever the round produced is handed on in one go (`on_round`,
which gives the database writer a whole batch at once).

Other threads never touch the selector. They `post()` a call, which runs on this thread at
the next round, so registration, reading and closing stay single-threaded. A post wakes the
loop only if it may be asleep.
"""

from __future__ import annotations

import errno
import logging
import selectors
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Protocol

from service.limits.throttle import LogLimiter

log = logging.getLogger(__name__)

ACCEPTS_PER_ROUND = 64  # new connections taken per round, so a flood cannot starve the rest
ACCEPT_PAUSE_S = 0.5  # at the connection cap or out of descriptors: stop accepting this
# long, then try again (the kernel's listen backlog holds who comes meanwhile)
MAX_SLEEP_S = 1.0
_OUT_OF_RESOURCES = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}


Acceptor = Callable[[socket.socket, tuple[object, ...]], None]  # a new connection, its address


class Pollable(Protocol):
    def fileno(self) -> int: ...

    def on_readable(self) -> None: ...

    def on_writable(self) -> None:
        """Write what is waiting (also called for `flush_soon`)."""

    def on_failure(self) -> None: ...


class Reactor:
    def __init__(
        self,
        listener: socket.socket,
        on_accept: Acceptor,
        on_round: Callable[[], None],
        accept_refusal: Callable[[], str | None] = lambda: None,
        log_interval_s: float = 60.0,
    ) -> None:
        self._listeners: dict[int, tuple[socket.socket, Acceptor]] = {}  # by descriptor
        self._on_round = on_round
        self._accept_refusal = accept_refusal  # why no connection may be taken now, or None
        self._pause_log = LogLimiter(log_interval_s)
        self._paused_since: float | None = None  # accepting paused, and that was logged
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._selector.register(self._wake_r, selectors.EVENT_READ, None)
        self.add_listener(listener, on_accept)
        self._posted: deque[Callable[[], None]] = deque()
        self._to_flush: deque[Pollable] = deque()  # output waiting, written at round's end
        self._sleeping = False  # the loop may be in select(): a post must wake it
        self._stopping = False
        self._accept_paused_until = 0.0
        self._timers: list[tuple[float, Callable[[], None], list[float]]] = []
        self._thread = threading.Thread(target=self._run, name="reactor", daemon=True)

    # --- from any thread ------------------------------------------------------------------

    def add_listener(self, listener: socket.socket, on_accept: Acceptor) -> None:
        """Accept on `listener` too (the web port beside chat/1's), before start()."""
        listener.setblocking(False)
        self._listeners[listener.fileno()] = (listener, on_accept)
        self._selector.register(listener, selectors.EVENT_READ, None)

    def start(self) -> None:
        self._thread.start()

    def post(self, call: Callable[[], None]) -> None:
        """Run `call` on the reactor thread, at the end of the current round (any thread)."""
        self._posted.append(call)
        if self._sleeping:
            self._wake()

    def flush_soon(self, item: Pollable) -> None:
        """`item` has output waiting: write it at the end of this round (any thread)."""
        self._to_flush.append(item)
        if self._sleeping:
            self._wake()

    def _wake(self) -> None:
        self._sleeping = False
        try:
            self._wake_w.send(b"\0")
        except OSError:
            pass  # a wake-up is already pending, or the reactor is gone

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stopping = True
        self.post(lambda: None)
        self._thread.join(timeout_s)

    def close(self) -> None:
        """After stop(): release the selector and the wake-up sockets."""
        self._selector.close()
        self._wake_r.close()
        self._wake_w.close()

    # --- on the reactor thread only -------------------------------------------------------

    def call_every(self, interval_s: float, call: Callable[[], None]) -> None:
        self._timers.append((interval_s, call, [time.monotonic() + interval_s]))

    def watch(self, item: Pollable, *, read: bool, write: bool) -> None:
        """Register, change or drop (neither read nor write) what `item` is polled for."""
        events = (selectors.EVENT_READ if read else 0) | (selectors.EVENT_WRITE if write else 0)
        fd = item.fileno()
        try:
            key = self._selector.get_map().get(fd)
            if key is None:
                if events:
                    self._selector.register(fd, events, item)
            elif not events:
                self._selector.unregister(fd)
            elif key.events != events or key.data is not item:
                self._selector.modify(fd, events, item)
        except (OSError, ValueError):
            log.debug("socket %d vanished before it could be watched", fd)

    def resume_accepting(self) -> None:
        """Room again (a connection closed): end a pause now rather than at its timer."""
        if self._accept_paused_until and not self._stopping:
            self._accept_paused_until = 0.0
            self._listen(True)

    def stop_accepting(self) -> None:
        self._accept_paused_until = 0.0
        self._listen(False)

    def _listen(self, on: bool) -> None:
        for listener, _ in self._listeners.values():
            try:
                if on:
                    self._selector.register(listener, selectors.EVENT_READ, None)
                else:
                    self._selector.unregister(listener)
            except (KeyError, ValueError, OSError):
                pass  # already so

    # --- the loop -------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stopping:
            try:
                self._round()
            except Exception:  # our bug in one round must not stop every connection
                log.exception("reactor round failed; continuing")

    def _round(self) -> None:
        timeout = 0.0 if self._posted or self._to_flush else self._sleep_s()
        self._sleeping = timeout > 0
        if self._sleeping and (self._posted or self._to_flush):  # raced the flag: no sleep
            timeout, self._sleeping = 0.0, False
        ready = self._selector.select(timeout)
        self._sleeping = False
        for key, events in ready:
            item = key.data
            if item is None:
                if key.fd in self._listeners:
                    self._accept_some(*self._listeners[key.fd])
                else:
                    self._drain_wakeups()
                continue
            try:
                if events & selectors.EVENT_WRITE:
                    item.on_writable()
                if events & selectors.EVENT_READ:
                    item.on_readable()
            except Exception:  # the exception boundary: one connection, not the rest
                log.exception("connection %d failed; closing it", key.fd)
                item.on_failure()
        self._run_posted()
        self._run_timers()
        self._on_round()
        self._flush()

    def _flush(self) -> None:
        for _ in range(len(self._to_flush)):
            item = self._to_flush.popleft()
            try:
                item.on_writable()
            except Exception:
                log.exception("writing to connection %d failed; closing it", item.fileno())
                item.on_failure()

    def _sleep_s(self) -> float:
        now = time.monotonic()
        soonest = min((due[0] for _, _, due in self._timers), default=now + MAX_SLEEP_S)
        if self._accept_paused_until:
            soonest = min(soonest, self._accept_paused_until)
        return min(max(soonest - now, 0.0), MAX_SLEEP_S)

    def _run_posted(self) -> None:
        for _ in range(len(self._posted)):  # calls posted meanwhile wait for the next round
            call = self._posted.popleft()
            try:
                call()
            except Exception:  # our bug, in one connection's call: the others go on
                log.exception("a call on the reactor failed; continuing")

    def _run_timers(self) -> None:
        now = time.monotonic()
        for interval_s, call, due in self._timers:
            if now >= due[0]:
                due[0] = now + interval_s
                try:
                    call()
                except Exception:
                    log.exception("a timer failed; it runs again next time")
        if self._accept_paused_until and now >= self._accept_paused_until:
            self._accept_paused_until = 0.0
            self._listen(True)

    def _drain_wakeups(self) -> None:
        try:
            while self._wake_r.recv(4096):
                pass
        except BlockingIOError:
            pass

    def _accept_some(self, listener: socket.socket, on_accept: Acceptor) -> None:
        for _ in range(ACCEPTS_PER_ROUND):
            refusal = self._accept_refusal()
            if refusal is not None:
                self._pause_accepting(refusal)
                return
            try:
                sock, address = listener.accept()
            except BlockingIOError:
                return
            except OSError as error:
                if error.errno in _OUT_OF_RESOURCES:  # pause, say so once, recover later
                    self._pause_accepting(f"{error.strerror} (errno {error.errno})")
                    return
                log.debug("accept failed: %s", error)  # one client's trouble (a reset)
                continue
            if self._paused_since is not None:
                log.warning("accepting connections again, after %.1f s",
                            time.monotonic() - self._paused_since)  # fmt: skip
                self._paused_since = None
            on_accept(sock, address)

    def _pause_accepting(self, reason: str) -> None:
        """Stop accepting for ACCEPT_PAUSE_S: one log line per interval however long it lasts
        (a flood must not turn into a log flood), and one more when accepting resumes."""
        now = time.monotonic()
        count = self._pause_log.note("pause", now)
        if count is not None:
            more = f"; {count - 1} more pauses since the last such line" if count > 1 else ""
            log.warning("not accepting connections for now: %s; trying again every %.1f s%s",
                        reason, ACCEPT_PAUSE_S, more)  # fmt: skip
            if self._paused_since is None:
                self._paused_since = now
        if self._accept_paused_until:
            return  # paused already
        self._listen(False)
        self._accept_paused_until = now + ACCEPT_PAUSE_S
