"""Private chats straight between two clients (chat/1 "Peer-to-peer private messaging").

The server only brokers: it tells the accepting side to expect `user` with a token
(`private_expect`) and the asking side where to connect (`private_ready`). This module does
the rest, over the same NDJSON framing (`service.wire.codec`):

    asker -> accepter   {"op": "p2p_hello", "user": ASKER, "token": T}
    accepter -> asker   {"ev": "p2p_welcome", "user": ACCEPTER}
    either way          {"op": "p2p_message", "text": ...}  /  {"op": "p2p_stop"}

The accepting side listens on a fresh port per accepted request, keeps listening until the
right peer presents the right token (anyone else is closed on without a word), then stops
listening: a token opens one session only. At most MAX_HANDSHAKES connections are heard out
at once per port; more are closed at once, so a flood of connections costs a few threads,
not one each. Several sessions run at once, one per peer.

Every outcome is reported to `on_event` from this module's threads as PeerOpened,
PeerMessage or PeerClosed; nothing is printed here. A session we end ourselves (`stop`) is
not reported back: the caller already knows.
"""

from __future__ import annotations

import contextlib
import hmac
import select
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from service.wire.codec import FrameDecoder, FrameError, JsonObject, encode

HANDSHAKE_TIMEOUT_S = 10.0  # how long a peer has to say p2p_hello / p2p_welcome
LISTEN_TIMEOUT_S = 60.0  # an accepted request whose peer never connects lapses after this
IO_TIMEOUT_S = 5.0  # a send that takes longer ends the session (a peer that does not read
# must never freeze our prompt); also how long, after our p2p_stop, we wait for its close
MAX_HANDSHAKES = 4  # connections per listening port waiting to say p2p_hello; more are closed
MIN_TOKEN_CHARS = 32  # chat/1 precise point 12: 128 random bits or more
RECV_BYTES = 65_536


@dataclass(frozen=True, slots=True)
class PeerOpened:
    peer: str


@dataclass(frozen=True, slots=True)
class PeerMessage:
    peer: str
    text: str


@dataclass(frozen=True, slots=True)
class PeerClosed:
    """`reason`: the peer's p2p_stop reason (`stopped` if it gave none), `lost` (the
    connection dropped), `no_show` (nobody valid connected) or `unreachable`."""

    peer: str
    reason: str


PeerEvent = PeerOpened | PeerMessage | PeerClosed
PeerEventHandler = Callable[[PeerEvent], None]


class _HandshakeFailed(Exception):
    pass


def _read_frame(sock: socket.socket, decoder: FrameDecoder) -> tuple[JsonObject, list[object]]:
    """Block (within the socket's timeout) until one frame arrives; also return any frames
    that came in the same read, so none are lost when the session takes over."""
    while True:
        data = sock.recv(RECV_BYTES)
        if not data:
            raise _HandshakeFailed("closed")
        frames = [f for f in decoder.feed(data) if not isinstance(f, FrameError)]
        if decoder.spent:
            raise _HandshakeFailed("oversized frame")
        if frames:
            return frames[0], list(frames[1:])


class _Session:
    """One open private chat: a socket and its reader thread."""

    def __init__(self, peer: str, sock: socket.socket, decoder: FrameDecoder) -> None:
        self.peer = peer
        self.sock = sock
        self._decoder = decoder
        self._send_lock = threading.Lock()
        self._end_lock = threading.Lock()
        self._ended = False

    @property
    def ended(self) -> bool:
        return self._ended

    def claim_end(self) -> bool:
        """True for the first caller only, so a session's end is reported at most once."""
        with self._end_lock:
            first, self._ended = not self._ended, True
            return first

    def send(self, frame: JsonObject) -> bool:
        try:
            with self._send_lock:
                self.sock.sendall(encode(frame))
        except OSError:
            self._abort()
            return False
        return True

    def stop(self, reason: str) -> None:
        """Our end: say p2p_stop, then half-close and let the reader wait for the peer's close.
        `reason` is our addition to p2p_stop (chat/1 lets unknown fields through): it lets
        the peer say why, e.g. `logout`, before the server's private_stopped arrives.

        Never waits (it runs on the prompt's thread): if a send is under way or the peer's
        buffer is full, the connection is cut instead; the server's private_stopped still
        tells the peer."""
        if not self._send_lock.acquire(blocking=False):
            self._abort()  # also wakes the send under way
            return
        try:
            frame = encode({"op": "p2p_stop", "reason": reason})
            # A socket with a timeout waits for room even with MSG_DONTWAIT: ask first. Only
            # we send (we hold the lock), so the room can only grow before the send.
            _, writable, _ = select.select([], [self.sock], [], 0)
            if not writable or self.sock.send(frame) != len(frame):
                raise BlockingIOError("the peer is not reading")
            self.sock.shutdown(socket.SHUT_WR)
        except (OSError, ValueError):  # BlockingIOError; ValueError: already closed
            self._abort()
        finally:
            self._send_lock.release()

    def _abort(self) -> None:
        with contextlib.suppress(OSError):  # already gone; the reader sees that too
            self.sock.shutdown(socket.SHUT_RDWR)

    def run(
        self, first: list[object], on_event: PeerEventHandler, gone: Callable[[], None]
    ) -> None:
        """The reader thread: frames -> events, until p2p_stop or the connection ends."""
        reason = self._read_until_stop(first, on_event)
        self.sock.close()
        if self.claim_end():
            gone()
            on_event(PeerClosed(self.peer, reason))

    def _read_until_stop(self, first: list[object], on_event: PeerEventHandler) -> str:
        frames = first
        try:
            while True:
                for frame in frames:
                    if not isinstance(frame, dict):
                        continue
                    if frame.get("op") == "p2p_stop":
                        reason = frame.get("reason")
                        return reason if isinstance(reason, str) else "stopped"
                    if frame.get("op") == "p2p_message" and isinstance(frame.get("text"), str):
                        on_event(PeerMessage(self.peer, frame["text"]))
                try:
                    data = self.sock.recv(RECV_BYTES)
                except TimeoutError:
                    if self._ended:
                        return "stopped"  # we said p2p_stop; the peer need not answer
                    frames = []
                    continue  # a quiet chat is fine: the timeout is there for sends
                if not data:
                    return "lost"
                frames = list(self._decoder.feed(data))
                if self._decoder.spent:
                    return "lost"
        except OSError:
            return "lost"


class _Listener:
    """A port opened for one accepted request; waits for its peer and the server's token."""

    def __init__(self, peer: str, server: socket.socket) -> None:
        self.peer = peer
        self.server = server
        self.deadline = time.monotonic() + LISTEN_TIMEOUT_S
        self.token: str | None = None
        self.token_known = threading.Event()
        self.handshakes = threading.BoundedSemaphore(MAX_HANDSHAKES)  # one per hello heard

    def set_token(self, token: str) -> None:
        self.token = token
        self.token_known.set()

    def token_matches(self, presented: object) -> bool:
        if not self.token_known.wait(max(0.0, self.deadline - time.monotonic())):
            return False  # private_expect never came
        expected = self.token or ""
        return (
            len(expected) >= MIN_TOKEN_CHARS
            and isinstance(presented, str)
            and hmac.compare_digest(presented.encode(), expected.encode())
        )

    def close(self) -> None:
        # shutdown() first: on Linux it wakes a thread blocked in accept(); close() does not.
        with contextlib.suppress(OSError):
            self.server.shutdown(socket.SHUT_RDWR)
        self.server.close()


class PrivateChats:
    """All of one user's private chats. Thread-safe; `on_event` is called from its threads."""

    def __init__(self, me: str, bind_host: str, on_event: PeerEventHandler) -> None:
        self._me = me
        self._bind_host = bind_host
        self._on_event = on_event
        self._lock = threading.Lock()  # guards the three dicts/sets; keys are usernames as-is
        self._sessions: dict[str, _Session] = {}
        self._listeners: dict[str, _Listener] = {}
        self._connecting: set[str] = set()

    def is_open(self, peer: str) -> bool:
        with self._lock:
            return peer in self._sessions

    def peers(self) -> list[str]:
        with self._lock:
            return sorted(self._sessions)

    def listen(self, peer: str) -> int:
        """Open a port for `peer` (we accepted its request); returns the port to announce."""
        family = socket.AF_INET6 if ":" in self._bind_host else socket.AF_INET
        server = socket.create_server((self._bind_host, 0), family=family)
        listener = _Listener(peer, server)
        with self._lock:
            old = self._listeners.pop(peer, None)
            self._listeners[peer] = listener
        if old is not None:
            old.close()
        _spawn(self._accept_loop, listener, name=f"p2p-listen-{peer}")
        return int(server.getsockname()[1])

    def expect(self, peer: str, token: str) -> None:
        """private_expect: the token `peer` must present. Ignored if we are not listening."""
        with self._lock:
            listener = self._listeners.get(peer)
        if listener is not None:
            listener.set_token(token)

    def connect(self, peer: str, host: str, port: int, token: str) -> None:
        """private_ready: connect to `peer` in the background; PeerOpened or PeerClosed follows."""
        with self._lock:
            self._connecting.add(peer)
        _spawn(self._connect, peer, host, port, token, name=f"p2p-connect-{peer}")

    def send(self, peer: str, text: str) -> bool:
        with self._lock:
            session = self._sessions.get(peer)
        return session is not None and session.send({"op": "p2p_message", "text": text})

    def stop(self, peer: str, reason: str = "stopped") -> bool:
        """End whatever we have with `peer` (session, listener or connection attempt) without
        reporting it back. False if there was nothing."""
        with self._lock:
            session = self._sessions.pop(peer, None)
            listener = self._listeners.pop(peer, None)
            connecting = peer in self._connecting
            self._connecting.discard(peer)
        if session is not None and session.claim_end():
            session.stop(reason)
        if listener is not None:
            listener.close()
        return session is not None or listener is not None or connecting

    def stop_all(self, reason: str) -> None:
        with self._lock:
            peers = set(self._sessions) | set(self._listeners) | self._connecting
        for peer in peers:
            self.stop(peer, reason)

    # ---- threads ----------------------------------------------------------------------------

    def _accept_loop(self, listener: _Listener) -> None:
        while True:
            remaining = listener.deadline - time.monotonic()
            try:
                listener.server.settimeout(max(remaining, 0.001))
                conn, _ = listener.server.accept()
            except TimeoutError:
                self._lapse(listener)
                return
            except OSError:
                return  # closed by stop() or by a successful handshake
            if not listener.handshakes.acquire(blocking=False):
                conn.close()  # too many at once: the real peer is not among a crowd
                continue
            _spawn(self._handshake, listener, conn, name=f"p2p-hello-{listener.peer}")

    def _lapse(self, listener: _Listener) -> None:
        with self._lock:
            mine = self._listeners.get(listener.peer) is listener
            if mine:
                del self._listeners[listener.peer]
        listener.close()
        if mine:
            self._on_event(PeerClosed(listener.peer, "no_show"))

    def _handshake(self, listener: _Listener, conn: socket.socket) -> None:
        decoder = FrameDecoder()
        try:
            conn.settimeout(HANDSHAKE_TIMEOUT_S)
            hello, rest = _read_frame(conn, decoder)
            if not (
                hello.get("op") == "p2p_hello"
                and hello.get("user") == listener.peer
                and listener.token_matches(hello.get("token"))
            ):
                raise _HandshakeFailed("wrong peer or token")
        except (OSError, _HandshakeFailed):
            conn.close()  # chat/1: on mismatch, close without a word
            return
        finally:
            listener.handshakes.release()
        conn.settimeout(IO_TIMEOUT_S)
        session = _Session(listener.peer, conn, decoder)
        with self._lock:  # single use: the first valid hello takes the listener
            taken = self._listeners.get(listener.peer) is not listener
            if not taken:
                del self._listeners[listener.peer]
                self._sessions[listener.peer] = session
        if taken:
            conn.close()
            return
        listener.close()
        session.send({"ev": "p2p_welcome", "user": self._me})
        self._run(session, rest)

    def _connect(self, peer: str, host: str, port: int, token: str) -> None:
        decoder = FrameDecoder()
        try:
            conn = socket.create_connection((host, port), timeout=HANDSHAKE_TIMEOUT_S)
        except OSError:
            self._connect_failed(peer)
            return
        try:
            conn.sendall(encode({"op": "p2p_hello", "user": self._me, "token": token}))
            welcome, rest = _read_frame(conn, decoder)
            if welcome.get("ev") != "p2p_welcome" or welcome.get("user") != peer:
                raise _HandshakeFailed("not welcomed by the expected peer")
        except (OSError, _HandshakeFailed):
            conn.close()
            self._connect_failed(peer)
            return
        conn.settimeout(IO_TIMEOUT_S)
        session = _Session(peer, conn, decoder)
        with self._lock:
            wanted = peer in self._connecting  # stop() during the handshake withdraws it
            self._connecting.discard(peer)
            if wanted:
                self._sessions[peer] = session
        if not wanted:
            session.claim_end()
            session.stop("stopped")
        self._run(session, rest)

    def _connect_failed(self, peer: str) -> None:
        with self._lock:
            wanted = peer in self._connecting
            self._connecting.discard(peer)
        if wanted:
            self._on_event(PeerClosed(peer, "unreachable"))

    def _run(self, session: _Session, rest: list[object]) -> None:
        """The session's reader, in the current thread (a handshake thread)."""
        if not session.ended:
            self._on_event(PeerOpened(session.peer))
        session.run(rest, self._on_event, lambda: self._forget(session))

    def _forget(self, session: _Session) -> None:
        with self._lock:
            if self._sessions.get(session.peer) is session:
                del self._sessions[session.peer]


def _spawn(target: Callable[..., None], *args: object, name: str) -> None:
    threading.Thread(target=target, args=args, name=name, daemon=True).start()
