"""chat-client's server link over a socketpair: correlation by id, events, the end."""

from __future__ import annotations

import asyncio
import json
import queue
import socket
import struct
import threading
from collections.abc import Iterator
from concurrent.futures import Future

import pytest

from cli.client.link import Incoming, Link, LinkClosed, in_words
from service.wire.codec import MAX_FRAME_BYTES, FrameDecoder, JsonObject, encode

WAIT_S = 5.0


class FakeServer:
    """The far end of a socketpair, speaking raw NDJSON like a chat/1 server would."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.decoder = FrameDecoder()
        self.frames: list[dict[str, object]] = []

    def send(self, frame: dict[str, object]) -> None:
        self.sock.sendall(encode(frame))

    def recv_frame(self) -> dict[str, object]:
        while not self.frames:
            data = self.sock.recv(65_536)
            assert data, "the client closed"
            self.frames.extend(f for f in self.decoder.feed(data) if isinstance(f, dict))
        return self.frames.pop(0)


@pytest.fixture
def pair() -> Iterator[tuple[Link, FakeServer, queue.Queue[Incoming]]]:
    client_sock, server_sock = socket.socketpair()
    server_sock.settimeout(WAIT_S)
    incoming: queue.Queue[Incoming] = queue.Queue()
    link = Link(client_sock, incoming.put)
    link.start()
    yield link, FakeServer(server_sock), incoming
    link.close()
    server_sock.close()


def test_request_gets_its_reply_by_id(pair: tuple[Link, FakeServer, queue.Queue[Incoming]]) -> None:
    link, server, _ = pair
    first = link.request("whoelse")
    second = link.request("blocklist")
    got = [server.recv_frame(), server.recv_frame()]
    assert got == [{"op": "whoelse", "id": 1}, {"op": "blocklist", "id": 2}]
    server.send({"re": 2, "ok": True, "users": ["x"]})  # answered out of order
    server.send({"re": 1, "ok": True, "users": []})
    assert first.result(WAIT_S) == {"re": 1, "ok": True, "users": []}
    assert second.result(WAIT_S)["users"] == ["x"]


def test_events_arrive_in_order_and_garbage_is_skipped(
    pair: tuple[Link, FakeServer, queue.Queue[Incoming]],
) -> None:
    _, server, incoming = pair
    server.sock.sendall(b'{"ev":"hello","proto":"chat/1"}\nnot json\n\n[1]\n{"re":99,"ok":true}\n')
    server.send({"ev": "presence", "user": "bob", "state": "online"})
    assert incoming.get(timeout=WAIT_S) == {"ev": "hello", "proto": "chat/1"}
    assert incoming.get(timeout=WAIT_S)["ev"] == "presence"  # type: ignore[index]


def test_close_by_server_fails_pending_and_reports_once(
    pair: tuple[Link, FakeServer, queue.Queue[Incoming]],
) -> None:
    link, server, incoming = pair
    pending = link.request("whoelse")
    server.recv_frame()
    server.sock.close()
    assert incoming.get(timeout=WAIT_S) == LinkClosed(None)
    with pytest.raises(ConnectionError):
        pending.result(WAIT_S)
    with pytest.raises(ConnectionError):
        link.request("whoelse").result(WAIT_S)
    link.send_nowait({"op": "ack", "msg_id": 1})  # after the end: no error, no second report
    link.join(WAIT_S)
    assert incoming.empty()


def test_a_reply_after_the_caller_gave_up_does_not_stop_the_reader(
    pair: tuple[Link, FakeServer, queue.Queue[Incoming]],
) -> None:
    """asyncio.wait_for cancels the future it wraps on timeout; the reply may still come."""
    link, server, incoming = pair
    late, lost = link.request("whoelse"), link.request("blocklist")

    async def give_up(future: Future[JsonObject]) -> None:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(asyncio.wrap_future(future), 0.01)

    asyncio.run(give_up(late))
    asyncio.run(give_up(lost))
    server.recv_frame()
    server.send({"re": 1, "ok": True, "users": []})
    server.send({"ev": "presence", "user": "bob", "state": "online"})
    assert incoming.get(timeout=WAIT_S) == {"ev": "presence", "user": "bob", "state": "online"}
    server.sock.close()  # `lost` is still pending: failing it must not stop the report
    assert incoming.get(timeout=WAIT_S) == LinkClosed(None)


def test_an_oversized_frame_ends_the_link(
    pair: tuple[Link, FakeServer, queue.Queue[Incoming]],
) -> None:
    _, server, incoming = pair
    server.sock.sendall(b"x" * (MAX_FRAME_BYTES + 10))
    closed = incoming.get(timeout=WAIT_S)
    assert isinstance(closed, LinkClosed) and closed.error is not None


def test_sends_from_many_threads_never_interleave(
    pair: tuple[Link, FakeServer, queue.Queue[Incoming]],
) -> None:
    link, server, _ = pair
    text = "y" * 20_000  # big enough for sendall to take several writes

    def spam() -> None:
        for _ in range(10):
            link.send_nowait({"op": "ack", "text": text})

    threads = [threading.Thread(target=spam) for _ in range(4)]
    for thread in threads:
        thread.start()
    frames = [server.recv_frame() for _ in range(40)]
    for thread in threads:
        thread.join(WAIT_S)
    assert all(frame == {"op": "ack", "text": text} for frame in frames)


def test_connect_reports_refusal_as_oserror() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound but not listening: connection refused
        with pytest.raises(OSError):
            Link.connect("127.0.0.1", port, lambda _: None)


def test_connect_and_local_host() -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        incoming: queue.Queue[Incoming] = queue.Queue()
        link = Link.connect("127.0.0.1", listener.getsockname()[1], incoming.put)
        conn, _ = listener.accept()
        with conn:
            conn.sendall(json.dumps({"ev": "hello"}).encode() + b"\n")
            assert incoming.get(timeout=WAIT_S) == {"ev": "hello"}
            assert link.local_host == "127.0.0.1"
        link.close()
        assert isinstance(incoming.get(timeout=WAIT_S), LinkClosed)


def test_sending_never_waits_for_a_server_that_does_not_read(
    pair: tuple[Link, FakeServer, queue.Queue[Incoming]],
) -> None:
    """The prompt's thread calls request/send_nowait (acks, logout, stopprivate): they queue
    for the sender thread and return at once, even with the socket's buffers full."""
    link, server, _ = pair
    text = "z" * 60_000
    done = threading.Event()

    def flood() -> None:
        for _ in range(40):  # far more than a socketpair buffers
            link.send_nowait({"op": "ack", "text": text})
        link.request("logout")
        done.set()

    threading.Thread(target=flood, daemon=True).start()
    assert done.wait(2.0), "a send blocked the caller"
    assert server.recv_frame() == {"op": "ack", "text": text}  # and they do go out, in order


def test_a_connection_reset_by_the_server_is_said_in_words() -> None:
    """Not `[Errno 104] Connection reset by peer`: the reason as the user reads it."""
    listener = socket.create_server(("127.0.0.1", 0))
    incoming: queue.Queue[Incoming] = queue.Queue()
    link = Link.connect("127.0.0.1", listener.getsockname()[1], incoming.put)
    try:
        conn, _ = listener.accept()
        # SO_LINGER 0: close() sends RST instead of FIN, as a crashed or rebooted host does.
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()
        assert incoming.get(timeout=WAIT_S) == LinkClosed("the connection was reset by the server")
    finally:
        link.close()
        listener.close()


@pytest.mark.parametrize(
    ("exc", "words"),
    [
        (
            ConnectionResetError(104, "Connection reset by peer"),
            "the connection was reset by the server",
        ),
        (BrokenPipeError(32, "Broken pipe"), "the server had already closed the connection"),
        (OSError(101, "Network is unreachable"), "network is unreachable"),
        (OSError(), "the connection failed"),
    ],
)
def test_connection_errors_in_words_carry_no_error_numbers(exc: OSError, words: str) -> None:
    assert in_words(exc) == words
