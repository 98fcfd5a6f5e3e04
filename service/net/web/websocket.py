"""chat/1 over WebSocket: the second wire adapter, on the same session core as TCP.

Each text message carries exactly one chat/1 frame, without the newline (the message is the
frame); wsproto (sans-IO) reads the messages (but plain text messages, the common case, read
past it by service/net/web/plain_text.py), the session core (service/net/adapter.py) does
everything else, with the same engine, limits and pipeline as TCP. Output is framed by the
outbox (service/net/web/outbox.py). The message's text is decoded as one JSON value, so a
message holding two frames on two lines is not valid JSON: `bad_frame`, as on TCP. What only
a WebSocket can break closes it with the close code RFC 6455 gives, after chat/1's `error`
event and `bye protocol_error` (precise point 8), and a log line:
- a message over 65,536 bytes (chat/1's frame limit): `frame_too_large`, close 1009;
- a binary message: close 1003; text that is not UTF-8: close 1007;
- a frame that breaks RFC 6455 (unmasked, a bad opcode...): close 1002.
A browser page cannot listen for peer-to-peer chats: `can_private` is False, so nobody sends
it `private_request` (chat/1 precise point 16). The close at the end of a session carries a
code that fits its `bye` (CLOSE_CODES); a peer's own close is answered with its code.
"""

from __future__ import annotations

import socket
import time
from typing import Any

from wsproto.connection import Connection as WsConnection
from wsproto.connection import ConnectionState, ConnectionType
from wsproto.events import BytesMessage, CloseConnection, Ping, TextMessage
from wsproto.frame_protocol import CloseReason, ParseFailed

from service.core.session import BYE_TEXTS, EndReason
from service.limits.guard import Kind
from service.net.adapter import SessionAdapter
from service.net.runtime import Runtime
from service.net.web.frames import close_frame, text_frames
from service.net.web.outbox import WsOutbox
from service.net.web.plain_text import PlainTextSplitter
from service.wire import events
from service.wire.codec import (
    MAX_FRAME_BYTES,
    Decoded,
    FrameError,
    FrameProblem,
    decode_line,
    encode,
)

CLOSE_CODES = {  # why the session ended -> the close code after its `bye` (RFC 6455 7.4.1)
    EndReason.SHUTDOWN: CloseReason.GOING_AWAY,
    EndReason.SLOW_CONSUMER: CloseReason.POLICY_VIOLATION,
    EndReason.PROTOCOL_ERROR: CloseReason.POLICY_VIOLATION,
}  # any other: NORMAL_CLOSURE


class WebSocketConnection(SessionAdapter):
    def __init__(
        self,
        sock: socket.socket,
        address: tuple[Any, ...],
        runtime: Runtime,
        outbox: WsOutbox,
        trailing: bytes,
        upgraded_at: float,
    ) -> None:
        """`outbox`: the HTTP exchange's, with the 101 in it; `trailing`: what the client
        sent after its upgrade request, read already."""
        super().__init__(sock, address, runtime, upgraded_at, outbox)
        outbox.redirect(self._on_output_waiting, runtime.services.config.outbox_limit_bytes)
        if outbox.has_pending:  # the 101: the exchange it was queued for writes no more
            self._on_output_waiting()
        self._ws_outbox = outbox
        self.state.can_private = False
        self._ws = WsConnection(ConnectionType.SERVER)  # no extensions: no compression
        self._splitter = PlainTextSplitter()  # plain text messages skip wsproto
        self._parts: list[bytes] = []  # a message that came in pieces, so far
        self._size = 0  # its bytes
        self._spent = False  # the peer broke a rule: nothing more is read
        self._close_code: int | None = None  # the rule it broke
        self._close_reply: bytes | None = None  # the answer to the peer's close
        self._trailing = trailing

    def start(self) -> None:
        super().start()
        if self._trailing:
            self._received(self._trailing)
            self._trailing = b""
            self.pump()

    def _received(self, data: bytes) -> None:
        if self._spent:
            return
        out: list[Decoded] = []
        for plain, piece in self._splitter.feed(data):
            if plain:  # (never inside a fragmented message: _parts is empty)
                self._text(piece, True, out)
            else:
                self._ws.receive_data(piece)
                self._read_events(out)
            if self._spent:
                break
        self._engine.receive(out)
        if self._close_reply is not None:
            self._engine.receive_eof()  # the peer closed: answer what it sent, then end

    def _read_events(self, out: list[Decoded]) -> None:
        """What wsproto made of what it was handed: all but plain text messages."""
        try:
            for event in self._ws.events():
                if isinstance(event, TextMessage):
                    self._text(event.data.encode("utf-8"), event.message_finished, out)
                elif isinstance(event, BytesMessage):
                    self._break(CloseReason.UNSUPPORTED_DATA, FrameProblem.BAD_FRAME,
                                "Send chat/1 frames as text messages.", out)  # fmt: skip
                elif isinstance(event, Ping):
                    self._ws_outbox.send_raw_nowait(self._ws.send(event.response()))
                elif isinstance(event, CloseConnection):
                    self._closed_by_peer(event, out)
                if self._spent:
                    break
        except ParseFailed as error:  # (wsproto reports it as a CloseConnection, see below)
            self._broken(error.code, str(error), out)

    def _closed_by_peer(self, event: CloseConnection, out: list[Decoded]) -> None:
        """The peer's close frame, or (the state still OPEN) wsproto's word for a frame that
        broke RFC 6455."""
        if self._ws.state is not ConnectionState.REMOTE_CLOSING:
            self._broken(event.code, event.reason or "", out)
            return
        self._close_reply = close_frame(_echoed(event.code))
        self._spent = True

    def _broken(self, code: int, why: str, out: list[Decoded]) -> None:
        text = f"Not a valid WebSocket frame: {why}."
        if code == CloseReason.INVALID_FRAME_PAYLOAD_DATA:
            text = "The frame is not valid UTF-8."
        self._break(code, FrameProblem.BAD_FRAME, text, out)

    def _text(self, data: bytes, finished: bool, out: list[Decoded]) -> None:
        if finished and not self._parts:  # one piece: the usual case
            if len(data) > MAX_FRAME_BYTES:
                self._too_large(out)
            elif (decoded := decode_line(data)) is not None:
                out.append(decoded)
            return
        self._size += len(data)
        if self._size > MAX_FRAME_BYTES:
            self._too_large(out)
            return
        self._parts.append(data)
        if finished:
            whole = b"".join(self._parts)
            self._parts, self._size = [], 0
            if (decoded := decode_line(whole)) is not None:
                out.append(decoded)

    def _too_large(self, out: list[Decoded]) -> None:
        self._break(CloseReason.MESSAGE_TOO_BIG, FrameProblem.FRAME_TOO_LARGE,
                    f"A message may be at most {MAX_FRAME_BYTES} bytes.", out)  # fmt: skip

    def _break(self, code: int, problem: FrameProblem, text: str, out: list[Decoded]) -> None:
        """The peer broke a rule of the WebSocket: chat/1's error, then the end (the engine
        ends the session at a fatal frame error, after the requests before it)."""
        self._spent, self._close_code = True, code
        self._parts, self._size = [], 0
        out.append(FrameError(problem, text, fatal=True))
        self._runtime.guard.note(Kind.WEBSOCKET, self.source, time.monotonic(),
                                 f"closed the WebSocket of {self.peer} with {code}: "
                                 f"{text}")  # fmt: skip

    def _say_goodbye(self, reason: EndReason) -> None:
        """On a worker: the `bye` unless the peer closed first, then the close frame (ours,
        or the answer to the peer's)."""
        goodbye = b""
        if reason.sends_bye and self._close_reply is None:
            goodbye = text_frames(encode(events.bye(reason.value, BYE_TEXTS[reason])))
        closing = self._close_reply
        if closing is None:
            code = self._close_code or CLOSE_CODES.get(reason, CloseReason.NORMAL_CLOSURE)
            closing = close_frame(code, reason.value)
        self._ws_outbox.send_final_raw(goodbye + closing)


def _echoed(code: int) -> int:
    """The code to answer a peer's close with: its own, unless it may not be sent."""
    if code in (CloseReason.NO_STATUS_RCVD, CloseReason.ABNORMAL_CLOSURE) or code < 1000:
        return CloseReason.NORMAL_CLOSURE
    return code
