"""chat/1 from the generator's side: asyncio Protocols that do as little per frame as they can.

Why Protocols and not StreamReader: one `data_received` call hands over everything the kernel
had, which is split on b"\\n" in one C call; frames the workload does not care about are never
decoded, and when nobody on a connection waits for anything (an idle client drowned in
presence events) its bytes are not even split. Fields the hot paths need (`re`, `ev`, `msg_id`,
the tag in a `text`) are found with compiled regexes rather than `json.loads`; a `"` inside a
JSON string is always escaped, so `"re":` can only match the real key. Replies the workload
awaits (login, ping, logout) are decoded in full. Frames to send are pre-encoded bytes; those
queued while handling one read go out in one write.

The wire is the `Endpoint`'s: chat/1 lines over TCP, or over a WebSocket on the web port
(websocket.py), under the same Connection.
"""

from __future__ import annotations

import asyncio
import functools
import importlib
import itertools
import json
import re
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from .settings import PASSWORD, WorkloadError
from .websocket import WebSocketLink

Frame = dict[str, Any]
T = TypeVar("T")
C = TypeVar("C", bound="Connection")

HOST = "127.0.0.1"  # loopback only: the generator never targets anything else
# Source addresses, one after the other: all of 127.0.0.0/8 is loopback, and users come from
# many machines, not one; chat-server's per-address limits (connections, login queue) are
# meant for one machine, and the benchmarks measure the server, not those limits.
_SOURCES = itertools.cycle([f"127.0.1.{n}" for n in range(1, 255)])
MAX_FRAME_BYTES = 65_536  # chat/1 "Transport and framing", newline included
REQUEST_TIMEOUT_S = 60.0  # a login under a storm of real hashes may queue long

_REPLY_ID = re.compile(rb'"re":\s*(\d+)')
_EVENT = re.compile(rb'"ev":\s*"(\w+)"')
_MSG_ID = re.compile(rb'"msg_id":\s*(\d+)')
_TAG = re.compile(rb'"text":\s*"(\d+):(\d+):')  # the workloads' texts start "SENDER:SEQ:"


def maybe_msg_id(line: bytes) -> int | None:
    match = _MSG_ID.search(line)
    return int(match[1]) if match else None


def maybe_tag(line: bytes) -> tuple[int, int] | None:
    """(sender, sequence) from a text made by `tagged_text`."""
    match = _TAG.search(line)
    return (int(match[1]), int(match[2])) if match else None


def tagged_text(sender: int, seq: int, size: int) -> bytes:
    """A JSON string body of exactly `size` ASCII characters (more if the tag is longer)."""
    tag = b"%d:%d:" % (sender, seq)
    return tag + b"x" * (size - len(tag))


def is_ok(line: bytes) -> bool:
    if b'"ok":true' in line:
        return True
    if b'"ok":false' in line:
        return False
    return json.loads(line).get("ok") is True  # spaced or reordered encodings: decode


def event_loop_factory() -> tuple[Callable[[], asyncio.AbstractEventLoop] | None, str]:
    """uvloop when it is installed (a dev dependency), else asyncio's own loop."""
    try:
        uvloop = importlib.import_module("uvloop")
    except ImportError:
        return None, "asyncio"
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory, f"uvloop {uvloop.__version__}"


def run_async(main: Coroutine[Any, Any, T], timeout_s: float) -> T:
    """Run one workload's coroutine on a new loop, cancelled past `timeout_s`."""

    async def bounded() -> T:
        try:
            return await asyncio.wait_for(main, timeout_s)
        except TimeoutError:
            raise WorkloadError(f"did not finish within {timeout_s:.0f} s") from None

    factory, _name = event_loop_factory()
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(bounded())


class Connection(asyncio.Protocol):
    """One chat/1 client connection. Subclasses override `reply_received`/`event_received`
    (and set `wants_events`) for their hot paths; `request()` serves the cold ones."""

    wants_events = False  # False: frames are split only while a request() awaits its reply

    def __init__(self) -> None:
        loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.hello: asyncio.Future[None] = loop.create_future()
        self.closed: asyncio.Future[None] = loop.create_future()
        self.closing = False  # set before we (or the server's stop) end it on purpose
        self.unexpected_close = False
        self.ids = itertools.count(1)  # request ids, unique per connection as chat/1 asks
        self._replies: dict[int, asyncio.Future[Frame]] = {}
        self._tail = b""  # the start of a frame whose newline has not arrived yet
        self._queued: list[bytes] = []  # frames to send once this read is handled

    # --- asyncio.Protocol ----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is no subclass of it

    def data_received(self, data: bytes) -> None:
        if not self._replies and not self.wants_events and self.hello.done():
            cut = data.rfind(b"\n")
            self._tail = self._tail + data if cut < 0 else data[cut + 1 :]
        else:
            lines = (self._tail + data if self._tail else data).split(b"\n")
            self._tail = lines.pop()
            for line in lines:
                if line:
                    self.frame_received(line)
            self.flush()
        if len(self._tail) >= MAX_FRAME_BYTES:  # the server broke chat/1's frame limit
            self.unexpected_close = True
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closing:
            self.unexpected_close = True
        waiting: list[asyncio.Future[Any]] = [self.hello, *self._replies.values()]
        for future in waiting:
            if not future.done():
                future.set_exception(ConnectionError("the server closed the connection"))
        self._replies.clear()
        if not self.closed.done():
            self.closed.set_result(None)

    # --- frames in -----------------------------------------------------------------------------

    def frame_received(self, line: bytes) -> None:
        if line.startswith(b'{"ev"'):
            self.event_received(line)
            return
        match = _REPLY_ID.search(line)
        if match:
            self.reply_received(int(match[1]), line)
        else:
            self.event_received(line)

    def reply_received(self, request_id: int, line: bytes) -> None:
        future = self._replies.pop(request_id, None)
        if future is None:
            self.unawaited_reply_received(request_id, line)
        elif not future.done():
            future.set_result(json.loads(line))

    def unawaited_reply_received(self, request_id: int, line: bytes) -> None:
        """A reply no request() waits for: hot paths send without request() and count here."""

    def event_received(self, line: bytes) -> None:
        if not self.hello.done():
            match = _EVENT.search(line)
            if match and match[1] == b"hello":
                self.hello.set_result(None)

    def event_name(self, line: bytes) -> bytes:
        match = _EVENT.search(line)
        return match[1] if match else b""

    # --- frames out ----------------------------------------------------------------------------

    def queue(self, frame: bytes) -> None:
        """Send `frame` with the others queued while this read is handled (one write)."""
        self._queued.append(frame)

    def flush(self) -> None:
        if self._queued and self.transport is not None and not self.transport.is_closing():
            self.transport.write(b"".join(self._queued))
        self._queued.clear()

    async def request(self, frame: Frame, timeout_s: float = REQUEST_TIMEOUT_S) -> Frame:
        """Send `frame` with a fresh id now (before the first await) and return its reply."""
        request_id = next(self.ids)
        future: asyncio.Future[Frame] = asyncio.get_running_loop().create_future()
        self._replies[request_id] = future
        self.queue(json.dumps({**frame, "id": request_id}).encode() + b"\n")
        self.flush()
        try:
            return await asyncio.wait_for(future, timeout_s)
        finally:
            self._replies.pop(request_id, None)

    async def login(self, user: str, password: str = PASSWORD) -> Frame:
        reply = await self.request({"op": "login", "user": user, "password": password})
        if not reply.get("ok"):
            raise WorkloadError(f"login as {user} refused: {reply.get('error')}")
        return reply

    async def logout(self) -> None:
        """logout, its reply, then the server's close (chat/1 precise point 7)."""
        self.closing = True
        await self.request({"op": "logout"})
        await asyncio.wait_for(asyncio.shield(self.closed), REQUEST_TIMEOUT_S)

    def close(self) -> None:
        self.closing = True
        if self.transport is not None:
            self.transport.close()


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where the generator reaches the server on 127.0.0.1, and over which wire."""

    port: int  # the chat port (tcp) or the web port (ws)
    transport: str = "tcp"  # "tcp": chat/1 lines; "ws": a WebSocket on /chat


async def connect(factory: Callable[[], C], endpoint: Endpoint) -> C:
    """A connection to the server that has received its `hello`."""
    loop = asyncio.get_running_loop()
    source = (next(_SOURCES), 0)
    if endpoint.transport == "ws":
        authority = f"{HOST}:{endpoint.port}"

        def link() -> WebSocketLink:
            return WebSocketLink(factory(), authority)

        _socket, linked = await asyncio.wait_for(
            loop.create_connection(link, HOST, endpoint.port, local_addr=source),
            REQUEST_TIMEOUT_S,
        )
        connection = cast(C, linked.chat)
    else:
        _transport, connection = await asyncio.wait_for(
            loop.create_connection(factory, HOST, endpoint.port, local_addr=source),
            REQUEST_TIMEOUT_S,
        )
    await asyncio.wait_for(asyncio.shield(connection.hello), REQUEST_TIMEOUT_S)
    return connection


async def bounded_gather(jobs: Sequence[Callable[[], Awaitable[T]]], concurrency: int) -> list[T]:
    """Run the jobs with at most `concurrency` at a time; the first failure fails the lot,
    saying how many of them failed."""
    slots = asyncio.Semaphore(concurrency)

    async def one(job: Callable[[], Awaitable[T]]) -> T:
        async with slots:
            return await job()

    results = await asyncio.gather(*(one(job) for job in jobs), return_exceptions=True)
    failures = [r for r in results if isinstance(r, BaseException)]
    if failures:
        first = failures[0]
        why = str(first) or type(first).__name__  # TimeoutError() has no text
        raise WorkloadError(f"{len(failures)} of {len(jobs)} failed; first: {why}") from first
    return [r for r in results if not isinstance(r, BaseException)]


async def connect_and_login(
    factories: Sequence[Callable[[], C]],
    names: Sequence[str],
    endpoint: Endpoint,
    concurrency: int = 200,
) -> list[C]:
    """One logged-in connection per name, `concurrency` logins at a time."""

    async def job(factory: Callable[[], C], name: str) -> C:
        connection = await connect(factory, endpoint)
        await connection.login(name)
        return connection

    jobs = [functools.partial(job, f, n) for f, n in zip(factories, names, strict=True)]
    return await bounded_gather(jobs, concurrency)


async def settle(connections: Sequence[Connection], concurrency: int = 200) -> None:
    """A `ping` answered on every connection: what the server queued for them before (the
    presence events of everyone's login) has been read, so it does not pollute a measurement."""

    async def ping(connection: Connection) -> None:
        await connection.request({"op": "ping"})

    await bounded_gather([functools.partial(ping, c) for c in connections], concurrency)


def close_all(connections: Sequence[Connection]) -> None:
    for connection in connections:
        connection.close()
