"""Peer-to-peer private chat between real sockets on 127.0.0.1 (no server needed: the tests
play the broker's part by handing both sides the same token)."""

from __future__ import annotations

import contextlib
import os
import queue
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from cli.client import p2p
from cli.client.p2p import PeerClosed, PeerEvent, PeerMessage, PeerOpened, PrivateChats
from service.wire.codec import FrameDecoder, encode

WAIT_S = 5.0
TOKEN = "0123456789abcdef0123456789abcdef"
HOST = "127.0.0.1"


class Peer:
    def __init__(self, name: str) -> None:
        self.events: queue.Queue[PeerEvent] = queue.Queue()
        self.chats = PrivateChats(name, HOST, self.events.put)

    def next(self) -> PeerEvent:
        return self.events.get(timeout=WAIT_S)


@pytest.fixture
def alice() -> Iterator[Peer]:
    peer = Peer("alice")
    yield peer
    peer.chats.stop_all("logout")


@pytest.fixture
def bob() -> Iterator[Peer]:
    peer = Peer("bob")
    yield peer
    peer.chats.stop_all("logout")


def open_chat(asker: Peer, accepter: Peer, asker_name: str, accepter_name: str) -> None:
    port = accepter.chats.listen(asker_name)
    accepter.chats.expect(asker_name, TOKEN)
    asker.chats.connect(accepter_name, HOST, port, TOKEN)
    assert asker.next() == PeerOpened(accepter_name)
    assert accepter.next() == PeerOpened(asker_name)


def raw_hello(port: int, user: str, token: str) -> bytes:
    """Connect as an impostor would; return what the listener says (b"" = closed on us)."""
    with socket.create_connection((HOST, port), timeout=WAIT_S) as sock:
        sock.sendall(encode({"op": "p2p_hello", "user": user, "token": token}))
        return sock.recv(1024)


def test_private_chat_both_ways_then_stop(alice: Peer, bob: Peer) -> None:
    open_chat(alice, bob, "alice", "bob")
    assert alice.chats.send("bob", "hi bob") and bob.chats.send("alice", "hi alice")
    assert bob.next() == PeerMessage("alice", "hi bob")
    assert alice.next() == PeerMessage("bob", "hi alice")
    assert alice.chats.peers() == ["bob"] and bob.chats.is_open("alice")
    assert alice.chats.stop("bob")
    assert bob.next() == PeerClosed("alice", "stopped")
    assert not bob.chats.is_open("alice") and not alice.chats.is_open("bob")
    assert not alice.chats.send("bob", "anyone?")
    assert alice.events.empty()  # our own stop is not reported back to us


def test_token_that_arrives_after_the_hello_still_counts(alice: Peer, bob: Peer) -> None:
    port = bob.chats.listen("alice")
    alice.chats.connect("bob", HOST, port, TOKEN)
    bob.chats.expect("alice", TOKEN)  # private_expect may lose the race with the hello
    assert alice.next() == PeerOpened("bob")
    assert bob.next() == PeerOpened("alice")


@pytest.mark.parametrize(
    ("user", "token"), [("alice", "f" * 32), ("mallory", TOKEN), ("alice", ""), ("alice", 7)]
)
def test_impostors_are_closed_on_without_a_word(
    alice: Peer, bob: Peer, user: str, token: str
) -> None:
    port = bob.chats.listen("alice")
    bob.chats.expect("alice", TOKEN)
    assert raw_hello(port, user, token) == b""
    alice.chats.connect("bob", HOST, port, TOKEN)  # the real peer is still let in
    assert alice.next() == PeerOpened("bob")
    assert bob.next() == PeerOpened("alice")


def test_a_too_short_token_from_the_broker_lets_nobody_in(bob: Peer) -> None:
    port = bob.chats.listen("alice")
    bob.chats.expect("alice", "")  # not a chat/1 token (32 hex characters or more)
    assert raw_hello(port, "alice", "") == b""


def test_a_token_opens_one_session_only(alice: Peer, bob: Peer) -> None:
    port = bob.chats.listen("alice")
    bob.chats.expect("alice", TOKEN)
    alice.chats.connect("bob", HOST, port, TOKEN)
    assert alice.next() == PeerOpened("bob")
    with pytest.raises(OSError):  # the listener is gone
        raw_hello(port, "alice", TOKEN)


def test_several_sessions_at_once(alice: Peer, bob: Peer) -> None:
    carol = Peer("carol")
    try:
        open_chat(alice, bob, "alice", "bob")
        open_chat(carol, alice, "carol", "alice")
        assert alice.chats.peers() == ["bob", "carol"]
        alice.chats.send("bob", "to bob")
        alice.chats.send("carol", "to carol")
        assert bob.next() == PeerMessage("alice", "to bob")
        assert carol.next() == PeerMessage("alice", "to carol")
        alice.chats.stop("carol")
        assert carol.next() == PeerClosed("alice", "stopped")
        assert alice.chats.peers() == ["bob"]
        alice.chats.send("bob", "still here")
        assert bob.next() == PeerMessage("alice", "still here")
    finally:
        carol.chats.stop_all("logout")


def test_stop_reason_reaches_the_peer(alice: Peer, bob: Peer) -> None:
    open_chat(alice, bob, "alice", "bob")
    bob.chats.stop_all("logout")
    assert alice.next() == PeerClosed("bob", "logout")


def test_a_peer_that_vanishes_is_reported_lost(bob: Peer) -> None:
    port = bob.chats.listen("alice")
    bob.chats.expect("alice", TOKEN)
    sock = socket.create_connection((HOST, port), timeout=WAIT_S)
    sock.sendall(encode({"op": "p2p_hello", "user": "alice", "token": TOKEN}))
    welcome = FrameDecoder().feed(sock.recv(1024))
    assert welcome == [{"ev": "p2p_welcome", "user": "bob"}]
    assert bob.next() == PeerOpened("alice")
    sock.sendall(b'{"op":"p2p_message","text":"last words"}\n{"op":"p2p_message","text":3}\n')
    sock.close()  # a crash: no p2p_stop
    assert bob.next() == PeerMessage("alice", "last words")
    assert bob.next() == PeerClosed("alice", "lost")


def test_unreachable_peer(alice: Peer) -> None:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port = probe.getsockname()[1]
        alice.chats.connect("bob", HOST, port, TOKEN)
        assert alice.next() == PeerClosed("bob", "unreachable")


def test_a_peer_that_never_comes_lapses(bob: Peer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(p2p, "LISTEN_TIMEOUT_S", 0.2)
    bob.chats.listen("alice")
    assert bob.next() == PeerClosed("alice", "no_show")


def test_stop_withdraws_a_listener(alice: Peer, bob: Peer) -> None:
    port = bob.chats.listen("alice")
    assert bob.chats.stop("alice")
    assert not bob.chats.stop("alice")
    alice.chats.connect("bob", HOST, port, TOKEN)
    assert alice.next() == PeerClosed("bob", "unreachable")
    assert bob.events.empty()


def test_a_crowd_of_silent_connections_is_capped(alice: Peer, bob: Peer) -> None:
    """Each connection to a listening port waits for its hello in a thread; beyond a few at
    once the listener closes new ones straight away instead of starting more threads."""
    port = bob.chats.listen("alice")
    bob.chats.expect("alice", TOKEN)
    silent = [socket.create_connection((HOST, port), timeout=WAIT_S)
              for _ in range(p2p.MAX_HANDSHAKES)]  # fmt: skip
    try:
        with socket.create_connection((HOST, port), timeout=WAIT_S) as extra:
            extra.settimeout(p2p.HANDSHAKE_TIMEOUT_S / 4)  # well before a handshake times out
            assert extra.recv(1024) == b""  # closed on at once
        silent.pop().close()  # a slot frees up (once its thread sees the close)...
        deadline = time.monotonic() + WAIT_S
        while True:  # ...and the real peer gets in
            alice.chats.connect("bob", HOST, port, TOKEN)
            if alice.next() == PeerOpened("bob"):
                break
            assert time.monotonic() < deadline, "the listener never let the peer in"
    finally:
        for sock in silent:
            sock.close()


def test_stop_never_waits_for_a_send_under_way(bob: Peer) -> None:
    """stop() runs on the prompt's thread: while a send is stuck on a peer that stopped
    reading, it cuts the connection instead of queueing behind that send."""
    port = bob.chats.listen("alice")
    bob.chats.expect("alice", TOKEN)
    sock = socket.create_connection((HOST, port), timeout=WAIT_S)  # alice, who stops reading
    try:
        sock.sendall(encode({"op": "p2p_hello", "user": "alice", "token": TOKEN}))
        assert bob.next() == PeerOpened("alice")
        session = bob.chats._sessions["alice"]
        with session._send_lock:  # as a send stuck in sendall() holds it
            stopping = threading.Thread(target=bob.chats.stop, args=("alice",), daemon=True)
            stopping.start()
            stopping.join(p2p.IO_TIMEOUT_S / 2)
            assert not stopping.is_alive()
        sock.settimeout(WAIT_S)
        while sock.recv(1024):  # the welcome; then cut, not left open
            pass
    finally:
        sock.close()


def test_stop_never_waits_for_a_full_buffer(bob: Peer) -> None:
    """A peer that stopped reading: no room for p2p_stop, so the connection is cut at once
    instead of waiting IO_TIMEOUT_S for room."""
    port = bob.chats.listen("alice")
    bob.chats.expect("alice", TOKEN)
    sock = socket.create_connection((HOST, port), timeout=WAIT_S)  # alice, who stops reading
    try:
        sock.sendall(encode({"op": "p2p_hello", "user": "alice", "token": TOKEN}))
        assert bob.next() == PeerOpened("alice")
        # Fill both sides' buffers to the last byte. (A socket with a timeout is
        # non-blocking underneath, so a copy of its descriptor says when it is full.)
        with socket.socket(fileno=os.dup(bob.chats._sessions["alice"].sock.fileno())) as filler:
            filler.setblocking(False)
            for chunk in (65_536, 512, 1):
                with contextlib.suppress(BlockingIOError):
                    while True:
                        filler.send(b" " * chunk)
        stopping = threading.Thread(target=bob.chats.stop, args=("alice",), daemon=True)
        stopping.start()
        stopping.join(p2p.IO_TIMEOUT_S / 2)
        assert not stopping.is_alive()
    finally:
        sock.close()
