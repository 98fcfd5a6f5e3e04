"""What the client does: commands become requests, events and replies become lines.

`Chat` is one logged-in session (one connection). It runs on one thread, the asyncio loop
that also runs the prompt; the link and the private chats report from their own threads
through `loop.call_soon_threadsafe`, so no state here needs a lock. It owns no socket and no
terminal: it is handed a ServerLink, a PeerChats and an `out` function, which is how the unit
tests drive it with fakes. What outlives a connection (names seen, message ids shown, direct
messages the server has not confirmed) is in a `Memory` that the next session after a
reconnect is handed.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Protocol, TypeGuard

from cli.client import commands as c
from cli.client import render as r
from cli.client import render_rooms as rr
from cli.client.activity import NOT_ACTIVITY, Activity
from cli.client.dm_talk import FEATURE as DM_HISTORY_FEATURE
from cli.client.dm_talk import DmTalk
from cli.client.link import Incoming, LinkClosed
from cli.client.p2p import PeerClosed, PeerEvent, PeerMessage, PeerOpened
from cli.client.paging import PAGED, all_pages
from cli.client.pending import SHOW_AFTER_S, Pending, Sent, cmd_has_nonce, prompt_line, retryable
from cli.client.render_search import results as search_results
from cli.client.room_talk import RoomTalk
from cli.client.rooms import FEATURE as ROOMS_FEATURE
from cli.client.rooms import RoomBook, RoomUnread
from service.wire.addresses import is_peer_address
from service.wire.codec import JsonObject

REPLY_TIMEOUT_S = 10.0  # a server that has not answered by then is treated as stuck
LOGOUT_TIMEOUT_S = 3.0  # how long a logout waits for the server's goodbye before hanging up
RETURNING_WINDOW_S = 60.0  # after a reconnect: how long others' coming back is not announced

EXIT_OK = 0  # logout, idle timeout, server shutdown (all announced by `bye`)
EXIT_LOST = 1  # the connection was lost or refused us (login failure included)
EXIT_USAGE = 2  # bad command-line arguments (argparse's own code)

_CLEAN_BYES = frozenset({"logout", "timeout", "shutdown"})  # bye reasons that exit 0
# Bye reasons after which logging in again makes sense (as after a connection lost without
# a word): the user was idle, or the server dropped us for reading too slowly.
_RESUMABLE_BYES = frozenset({"timeout", "slow_consumer"})
# What our private chat peers are told (p2p_stop reason) when our session ends: the bye's
# reason where a peer's line fits it, else `disconnected`.
_PEER_STOP_REASONS = frozenset({"logout", "timeout", "shutdown"})
# Private chat ends the server may not know about (the peer told it nothing): we tell it.
_UNANNOUNCED_ENDS = frozenset({"lost", "no_show", "unreachable"})
# private_stopped reasons true for both sides, which our p2p_stop may repeat to the peer. The
# others are about the peer's own session (its idle logout...): repeated back, they would
# make its screen blame us ("bob was logged out for being idle" on the idle one's screen).
_BOTH_SIDES_STOPS = frozenset({"blocked", "shutdown"})


def _is_port(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 65_536


class ServerLink(Protocol):
    def request(self, op: str, **fields: Any) -> Future[JsonObject]: ...
    def send_nowait(self, frame: JsonObject) -> None: ...
    def close(self) -> None: ...


class Cancellable(Protocol):
    def cancel(self) -> None: ...


# Run a callback after a delay in seconds (the loop's call_later; a fake in tests).
Schedule = Callable[[float, Callable[[], None]], Cancellable]


def _call_later(delay_s: float, callback: Callable[[], None]) -> Cancellable:
    return asyncio.get_running_loop().call_later(delay_s, callback)


@dataclass
class Memory:
    """What a reconnect carries over from one session to the next."""

    known_users: set[str] = field(default_factory=set)  # for completion: anyone seen or listed
    seen_msg_ids: set[int | str] = field(default_factory=set)  # re-deliveries keep their msg_id
    # Direct and room messages sent and not yet confirmed, by nonce: resent with the same
    # nonce after a reconnect, which the server stores once (chat/1 precise point 11).
    unsent: dict[str, c.Message | c.Say] = field(default_factory=dict)
    rooms: RoomBook = field(default_factory=RoomBook)  # rooms seen, ours, the current one
    online: set[str] = field(default_factory=set)  # others online, as whoelse and presence say
    # After a reconnect: those online before it, whose `online` presence as they come back
    # from the same restart is no news (a class's restart would be a screenful of it).
    returning: set[str] = field(default_factory=set)
    returning_until: float = 0.0  # monotonic seconds; past it, every presence is news again


class PeerChats(Protocol):
    def is_open(self, peer: str) -> bool: ...
    def peers(self) -> list[str]: ...
    def listen(self, peer: str) -> int: ...
    def expect(self, peer: str, token: str) -> None: ...
    def connect(self, peer: str, host: str, port: int, token: str) -> None: ...
    def send(self, peer: str, text: str) -> bool: ...
    def stop(self, peer: str, reason: str = "stopped") -> bool: ...
    def stop_all(self, reason: str) -> None: ...


# Commands that are one plain request: command type -> (op, its fields).
_REQUESTS: dict[type, Callable[[Any], tuple[str, dict[str, Any]]]] = {
    c.WhoElse: lambda m: ("whoelse", {}),
    c.WhoElseSince: lambda m: ("whoelsesince", {"seconds": m.seconds}),
    c.Block: lambda m: ("block", {"user": m.user}),
    c.Unblock: lambda m: ("unblock", {"user": m.user}),
    c.BlockList: lambda m: ("blocklist", {}),
    c.StartPrivate: lambda m: ("startprivate", {"user": m.user}),
}


class Chat:
    """One logged-in session's state: pending private requests, activity, and how it ended
    (`exit_code`, `bye_reason`, `ended`)."""

    def __init__(
        self,
        me: str,
        link: ServerLink,
        peers: PeerChats,
        out: Callable[[r.Line], None],
        now: Callable[[], datetime],
        on_change: Callable[[], None] = lambda: None,
        when_shown: Callable[[Callable[[], None]], None] = lambda then: then(),
        *,
        memory: Memory | None = None,
        bell: Callable[[], None] = lambda: None,
        idle_timeout_s: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        schedule: Schedule = _call_later,
        features: frozenset[str] = frozenset(),  # what the server's hello listed
        rooms: tuple[RoomUnread, ...] = (),  # the login reply's rooms and unread counts
    ) -> None:
        self.me = me
        self.exit_code: int | None = None  # set once: the session is over
        self.bye_reason: str | None = None  # the server's word on why, if it said one
        self.ended = asyncio.Event()
        self.memory = memory or Memory()
        self._link = link
        self._peers = peers
        self._out = out
        self._now = now
        self._on_change = on_change  # the prompt text may have changed: redraw it
        self._when_shown = when_shown  # run a callback once what `out` printed is on screen
        self._bell = bell  # something arrived that wants the user's attention
        self._clock = clock  # monotonic seconds, for activity
        self._schedule = schedule
        self._activity = Activity(idle_timeout_s, clock())
        self._idle_timer: Cancellable | None = None
        self._requests: deque[tuple[object, str]] = deque()  # (request id, from), oldest first
        self._ended_requests: set[int | str] = set()  # ids the server cancelled (already said)
        self._asked: set[str] = set()  # users our unanswered startprivate went to
        self._logging_out = False
        self.forgot_login = False  # the user logged out with `forget`
        self._pending = Pending()  # messages the server has not answered, the last failed
        self._stalled = False  # the last request got no answer in time (the link is up)
        self.rooms = RoomTalk(
            me, self.memory.rooms, link, self._request, out, now,
            enabled=ROOMS_FEATURE in features, at_login=rooms, unsent=self.memory.unsent,
            when_shown=when_shown, schedule=schedule, bell=bell, on_change=on_change,
            remember=self._remember, active=self._noted_activity,
        )  # fmt: skip
        self.dms = DmTalk(me, self._request, out, now, enabled=DM_HISTORY_FEATURE in features,
                          remember=self._remember)  # fmt: skip
        self._dms_paged_last = False  # `more` alone goes on with the direct messages' history
        self._arm_idle_warning()

    @property
    def known_users(self) -> set[str]:
        return self.memory.known_users

    @property
    def current(self) -> str | None:
        """The current conversation, where plain lines go: a room, a user, or None."""
        return self.memory.rooms.current

    @property
    def current_room(self) -> str | None:
        """The current conversation if it is a room (chat/1 rooms)."""
        return self.memory.rooms.current_room

    @property
    def known_rooms(self) -> set[str]:
        return self.memory.rooms.known

    @property
    def resumable(self) -> bool:
        """The session ended without the user asking, in a way worth logging in again
        after: the connection lost, or the server's idle logout."""
        return (
            self.exit_code is not None
            and not self._logging_out
            and (self.bye_reason is None or self.bye_reason in _RESUMABLE_BYES)
        )

    @property
    def asking(self) -> bool:
        """A private chat request is waiting for y/n; the prompt shows the oldest."""
        return bool(self._requests)

    def prompt(self) -> str:
        """The prompt: messages still on their way (one row each), then the question of a
        private chat request, or who we are and the current conversation."""
        sending = "".join(prompt_line(cmd) + "\n" for cmd in self._pending.shown())
        if self._requests:
            return f"{sending}{self._requests[0][1]} asks for a private chat. Accept? [y/n] "
        where = self.memory.rooms.current
        if where is None:
            return f"{sending}{self.me}> "
        return f"{sending}{self.me} {where if where.startswith('#') else '→ ' + where}> "

    # ---- from the server ------------------------------------------------------------------

    def handle_incoming(self, item: Incoming) -> None:
        if isinstance(item, LinkClosed):
            self._link_closed(item)
            return
        handler = self._EVENT_HANDLERS.get(str(item.get("ev")))
        if handler is not None:
            handler(self, item)
            return
        renderer = r.EVENT_RENDERERS.get(str(item.get("ev")))
        if renderer is not None:  # unknown events are ignored: chat/1 forward compatibility
            self._out(renderer(item, self._now()))

    def _on_message(self, ev: JsonObject) -> None:
        """Show, then ack: chat/1 keeps a message until acked, so an ack must never run ahead
        of the user seeing it. A re-delivery of one already shown is acked but not shown."""
        msg_id = ev.get("msg_id")
        if not isinstance(msg_id, int | str):
            msg_id = None  # not a chat/1 msg_id: show it, but there is nothing to ack
        if msg_id is None or msg_id not in self.memory.seen_msg_ids:
            self._out(r.message_event(ev, self._now()))
            self._bell()
            if msg_id is not None:
                self.memory.seen_msg_ids.add(msg_id)
            self._remember(ev.get("from"))
        if msg_id is not None:
            ack = {"op": "ack", "msg_id": msg_id}
            self._when_shown(lambda: self._link.send_nowait(ack))

    def _on_message_sent(self, ev: JsonObject) -> None:
        """chat/1 "Several sessions": what we sent from another session, shown as ours."""
        self._remember(ev.get("to"))
        self._out(r.message_sent_event(ev, self._now()))

    def _on_seen_user(self, ev: JsonObject) -> None:
        self._remember(ev.get("from") or ev.get("user"))
        renderer = r.EVENT_RENDERERS[str(ev["ev"])]
        self._out(renderer(ev, self._now()))

    def _on_private_request(self, ev: JsonObject) -> None:
        who = r.clean(ev.get("from"))
        self._requests.append((ev.get("request"), who))
        self._remember(who)
        self._out(r.private_request_event(ev, self._now()))
        self._bell()
        self._on_change()

    def _on_private_cancelled(self, ev: JsonObject) -> None:
        """chat/1 precise point 16: the request we were asking about ended unanswered. The
        question goes; a line says why. Matched by request id, else by the asker (there is at
        most one pending request between two users: chat/1 precise point 12)."""
        request_id, asker = ev.get("request"), r.clean(ev.get("user"))
        if isinstance(request_id, int | str):  # a chat/1 id; anything else matches nothing
            self._ended_requests.add(request_id)
        before = len(self._requests)
        self._requests = deque(item for item in self._requests if item[0] != request_id)
        if len(self._requests) == before:
            self._requests = deque(item for item in self._requests if item[1] != asker)
        self._out(r.private_cancelled_event(ev, self._now()))
        if len(self._requests) != before:
            self._on_change()

    def _on_private_declined(self, ev: JsonObject) -> None:
        self._asked.discard(str(ev.get("user")))
        self._remember(ev.get("user"))
        self._out(r.private_declined_event(ev, self._now()))

    def _on_private_ready(self, ev: JsonObject) -> None:
        self._asked.discard(str(ev.get("user")))
        host, port = ev.get("host"), ev.get("port")
        user, token = r.clean(ev.get("user")), str(ev.get("token"))
        if not isinstance(host, str) or not is_peer_address(host) or not _is_port(port):
            self._out(r.note(f"The server sent no address for {user}; cannot connect.", "error"))
            return
        self._peers.connect(user, host, port, token)

    def _on_private_expect(self, ev: JsonObject) -> None:
        token = ev.get("token")
        if isinstance(token, str):  # without one, nobody can get in: the listener lapses
            self._peers.expect(str(ev.get("user")), token)

    def _on_private_stopped(self, ev: JsonObject) -> None:
        """The server's word that a session ended. If the peer already told us directly
        (p2p_stop), the line has been shown and there is nothing left to close."""
        user, reason = str(ev.get("user")), str(ev.get("reason"))
        self._asked.discard(user)
        self._withdraw_requests_from(user)
        if self._peers.stop(user, reason if reason in _BOTH_SIDES_STOPS else "ended"):
            self._out(r.private_stopped(user, reason, self._now()))

    def _on_presence(self, ev: JsonObject) -> None:
        user, memory = str(ev.get("user")), self.memory
        if ev.get("state") == "offline":
            memory.online.discard(user)
            memory.returning.discard(user)
            self._withdraw_requests_from(user)
        else:
            memory.online.add(user)
            if user in memory.returning and self._clock() < memory.returning_until:
                memory.returning.discard(user)
                self._remember(user)
                return  # back from the same restart as we are: not news
        self._on_seen_user(ev)

    def note_reconnected(self) -> None:
        """This session follows a reconnect: for RETURNING_WINDOW_S, users online before it
        who come back are not announced again. Called before any event of the session is
        handled (the first may be such a return)."""
        self.memory.returning = set(self.memory.online)
        self.memory.returning_until = self._clock() + RETURNING_WINDOW_S

    async def refresh_online(self) -> None:
        """Who is online now, learnt without a line (it was said before the break), so that
        whose going is news stays true."""
        reply = await all_pages(self._request, "whoelse", {})
        if reply is not None and reply.get("ok") and isinstance(reply.get("users"), list):
            self.memory.online = {str(user) for user in reply["users"]}

    def _withdraw_requests_from(self, user: str) -> None:
        """A request whose sender left or was cut off cannot be accepted: stop asking."""
        before = len(self._requests)
        self._requests = deque(item for item in self._requests if item[1] != user)
        if len(self._requests) != before:
            self._on_change()

    def _on_room_event(self, ev: JsonObject) -> None:
        self.rooms.on_event(ev)

    def _on_room_read(self, ev: JsonObject) -> None:
        self.rooms.on_read(ev)

    def _on_bye(self, ev: JsonObject) -> None:
        self.bye_reason = str(ev.get("reason"))
        self._out(r.bye_event(ev))

    _EVENT_HANDLERS: ClassVar[dict[str, Callable[[Chat, JsonObject], None]]] = {
        "message": _on_message,
        "message_sent": _on_message_sent,
        "broadcast": _on_seen_user,
        "presence": _on_presence,
        "private_request": _on_private_request,
        "private_cancelled": _on_private_cancelled,
        "private_declined": _on_private_declined,
        "private_ready": _on_private_ready,
        "private_expect": _on_private_expect,
        "private_stopped": _on_private_stopped,
        "room_message": _on_room_event,
        "room_join": _on_room_event,
        "room_leave": _on_room_event,
        "room_read": _on_room_read,
        "bye": _on_bye,
    }

    def _link_closed(self, closed: LinkClosed) -> None:
        if self.bye_reason is not None:
            self._end(EXIT_OK if self.bye_reason in _CLEAN_BYES else EXIT_LOST)
        elif self._logging_out:
            self._end(EXIT_OK)
        else:
            why = f" ({closed.error})" if closed.error else ""
            self._out(r.note(f"Lost the connection to the server{why}.", "error"))
            self._end(EXIT_LOST)

    def _end(self, code: int) -> None:
        if self.exit_code is None:
            self.exit_code = code
            if self._idle_timer is not None:
                self._idle_timer.cancel()
            self.rooms.stop()
            reason = "logout" if self._logging_out else self.bye_reason
            self._peers.stop_all(reason if reason in _PEER_STOP_REASONS else "disconnected")
            self.ended.set()
            self._on_change()

    def _remember(self, user: object) -> None:
        if isinstance(user, str) and user != self.me:
            self.known_users.add(user)

    # ---- from the peers -------------------------------------------------------------------

    def handle_peer(self, ev: PeerEvent) -> None:
        now = self._now()
        if isinstance(ev, PeerOpened):
            self._out(r.private_opened(ev.peer, now))
        elif isinstance(ev, PeerMessage):
            self._out(r.private_message(ev.peer, ev.text, now, outgoing=False))
            self._maybe_active()  # reading a private chat is activity too
        elif isinstance(ev, PeerClosed):
            self._out(r.private_stopped(ev.peer, ev.reason, now))
            if ev.reason in _UNANNOUNCED_ENDS and self.exit_code is None:
                # The server may still count the session as open: release it (errors expected).
                self._link.request("stopprivate", user=ev.peer)

    # ---- from the user --------------------------------------------------------------------

    async def run(self, cmd: c.Command) -> None:
        """Carry out one command; its outcome is printed, never raised. A name typed in
        another case is first made the one we know (chat/1 names are unique ignoring case)."""
        cmd = c.with_known_names(cmd, self._names())
        if isinstance(cmd, c.Help):
            for line in r.help_text(cmd.topic):
                self._out(line)
        elif isinstance(cmd, c.Message | c.Broadcast) or (
            isinstance(cmd, c.Say) and self.rooms.enabled
        ):
            # A nonce for every message (a broadcast has none on the wire: only in Pending).
            await self._send(cmd, secrets.token_hex(16))
        elif isinstance(cmd, c.Query):
            self._query(cmd.user)
        elif isinstance(cmd, c.Me):
            await self._me(cmd.text)
        elif isinstance(cmd, c.Retry):
            await self._retry()
        elif isinstance(cmd, c.Answer):
            await self._answer(cmd.accept)
        elif isinstance(cmd, c.Private):
            await self._private(cmd)
        elif isinstance(cmd, c.StopPrivate):
            await self._stop_private(cmd)
        elif isinstance(cmd, c.Logout):
            await self.logout()
        elif isinstance(cmd, c.DmHistory | c.Conversations) or (
            isinstance(cmd, c.More) and cmd.room is None and self._dms_paged_last
        ):
            await self._direct_record(cmd)
        elif isinstance(cmd, c.ROOM_COMMANDS):
            self._dms_paged_last = self._dms_paged_last and not isinstance(cmd, c.History | c.More)
            await self.rooms.run(cmd)
        elif isinstance(cmd, c.Search):
            await self._search(cmd)
        else:
            op, fields = _REQUESTS[type(cmd)](cmd)
            paged = op in PAGED  # a long list: every page of it (chat/1 precise point 18)
            reply = await (all_pages(self._request, op, fields) if paged else
                           self._request(op, **fields))  # fmt: skip
            if reply is not None:
                self._after_reply(cmd, reply)

    def _after_reply(self, cmd: c.Command, reply: JsonObject) -> None:
        if reply.get("ok") and isinstance(cmd, c.StartPrivate):
            self._asked.add(cmd.user)
        if reply.get("ok"):
            users = reply.get("users", []) if isinstance(reply.get("users"), list) else []
            for user in users:
                self._remember(user)
            if isinstance(cmd, c.WhoElse):
                self.memory.online = {str(user) for user in users}
            self._remember(getattr(cmd, "user", None))
        line = r.reply_line(cmd, reply, self._now())
        if line is not None:
            self._out(line)

    async def _direct_record(self, cmd: c.DmHistory | c.Conversations | c.More) -> None:
        """`history USER`, `conversations`, and `more` after a `history USER` (dm_talk.py)."""
        if isinstance(cmd, c.Conversations):
            await self.dms.conversations()
            return
        self._dms_paged_last = True
        if isinstance(cmd, c.DmHistory):
            await self.dms.history(cmd.user, cmd.count)
        else:
            await self.dms.more(cmd.count)

    async def _search(self, cmd: c.Search) -> None:
        reply = await self._request("search", **cmd.fields)
        if reply is None:
            return
        if not reply.get("ok"):
            self._out(r.note(r.clean(reply.get("text") or reply.get("error")), "error"))
            return
        for line in search_results(cmd, reply, self._now(), self.me):
            self._out(line)

    async def _answer(self, accept: bool) -> None:
        if not self._requests:
            self._out(r.note("No private chat request is waiting for an answer.", "usage"))
            return
        request_id, who = self._requests.popleft()
        self._on_change()
        if not accept:
            reply = await self._request("private_answer", request=request_id, accept=False)
            if reply is not None and reply.get("ok"):
                self._out(r.note(f"You declined {who}'s private chat request.", "private"))
            elif reply is not None:
                self._answer_failed(request_id, who, reply)
            return
        try:
            port = self._peers.listen(who)
        except OSError as exc:
            self._out(r.note(f"Cannot open a port for a private chat: {exc}", "error"))
            await self._request("private_answer", request=request_id, accept=False)
            return
        reply = await self._request("private_answer", request=request_id, accept=True, port=port)
        if reply is not None and reply.get("ok"):
            self._out(r.note(f"Accepted; waiting for {who} to connect.", "private"))
            return
        self._peers.stop(who)
        if reply is not None:
            self._answer_failed(request_id, who, reply)

    def _answer_failed(self, request_id: object, who: str, reply: JsonObject) -> None:
        """The request ended as the answer went out (expired, withdrawn...). If the server's
        private_cancelled said so already, that line is enough."""
        if isinstance(request_id, int | str) and request_id in self._ended_requests:
            return
        if reply.get("error") == "no_such_request":
            self._out(r.note(f"{who}'s private chat request had already ended.", "private"))
        else:
            self._out(r.note(f"Could not answer: {r.clean(reply.get('text', ''))}", "error"))

    async def _private(self, cmd: c.Private) -> None:
        if not self._peers.is_open(cmd.user):
            why = f"no private chat with {cmd.user} is open; start one with startprivate {cmd.user}"
            self._out(r.not_sent(cmd, why, self._now()))
        # Sent off the prompt's thread: a peer that stopped reading never freezes the typing.
        elif await asyncio.to_thread(self._peers.send, cmd.user, cmd.text):
            self._out(r.private_message(cmd.user, cmd.text, self._now(), outgoing=True))
            self._maybe_active()
        else:
            self._out(r.not_sent(cmd, "the private connection failed", self._now()))

    async def _stop_private(self, cmd: c.StopPrivate) -> None:
        had_one = self._peers.stop(cmd.user, "stopped")
        if not had_one and any(who == cmd.user for _, who in self._requests):
            # The server would only say there is no session: the request is ours to answer.
            self._out(r.note(f"{cmd.user}'s private chat request is waiting for your answer: "
                             "type n to decline it, or y to accept.", "usage"))  # fmt: skip
            return
        asked = cmd.user in self._asked and not had_one
        reply = await self._request("stopprivate", user=cmd.user)
        if asked and reply is not None and reply.get("ok"):  # chat/1 precise point 16
            self._asked.discard(cmd.user)
            self._out(r.private_withdrawn(cmd.user, self._now()))
            return
        if had_one and reply is not None:
            reply = {**reply, "ok": True}  # ours is closed, whatever the server's books say
        if reply is not None:
            self._after_reply(cmd, reply)

    async def logout(self, *, forget: bool = False) -> None:
        """Say goodbye to peers and server; the server's `bye` and close end the session.
        `forget`: the server also revokes the session's token (chat/1 "Staying signed in");
        the caller deletes the file that kept it."""
        if self._logging_out or self.exit_code is not None:
            return
        self._logging_out = True
        self.forgot_login = forget
        self.rooms.flush_reads()  # what is on screen has been read
        if self._idle_timer is not None:
            self._idle_timer.cancel()
        self._peers.stop_all("logout")
        future = self._link.request("logout", **({"forget": True} if forget else {}))
        try:
            await asyncio.wait_for(asyncio.wrap_future(future), LOGOUT_TIMEOUT_S)
            await asyncio.wait_for(self.ended.wait(), LOGOUT_TIMEOUT_S)
        except (TimeoutError, ConnectionError):
            pass  # hang up ourselves below; the link then reports the close
        if self.exit_code is None:
            self._link.close()

    async def _send(self, cmd: Sent, nonce: str) -> None:
        """A direct message, a room line or a broadcast: shown as `sending…` in the prompt
        while the server has not answered; when it fails, `retry` sends it again. (A broadcast
        carries no nonce, so one left unanswered, which may have gone out, is not offered.)"""
        self._pending.started(nonce, cmd)
        timer = self._schedule(SHOW_AFTER_S, lambda: self._overdue(nonce))
        try:
            reply = await self._send_now(cmd, nonce)
        finally:
            timer.cancel()
            self._pending.answered(nonce)
            self._on_change()
        if (reply is not None and reply.get("ok")) or (reply is None and not cmd_has_nonce(cmd)):
            return
        self._pending.failed(cmd, nonce if reply is None else None)
        if retryable(reply) and (reply is not None or self._stalled):  # not after a lost link
            self._out(r.note("Type /retry to send it again.", "usage"))

    async def _send_now(self, cmd: Sent, nonce: str) -> JsonObject | None:
        if isinstance(cmd, c.Say):
            return await self.rooms.say(cmd, nonce)
        if isinstance(cmd, c.Message):
            return await self._message(cmd, nonce)
        reply = await self._request("broadcast", text=cmd.text)
        if reply is not None:
            self._after_reply(cmd, reply)
        return reply

    def _overdue(self, nonce: str) -> None:
        """No answer yet after SHOW_AFTER_S: the prompt shows the message as `sending…`."""
        self._pending.overdue(nonce)
        self._on_change()

    async def _retry(self) -> None:
        failed = self._pending.take_failed()
        if failed is None:
            self._out(r.note("There is no failed message to send again.", "usage"))
            return
        await self._send(failed.cmd, failed.nonce or secrets.token_hex(16))

    def _query(self, user: str | None) -> None:
        """`query USER`: plain lines go to USER; None (`close`): no current conversation."""
        self.memory.rooms.current = user
        self._on_change()
        self._out(rr.no_conversation() if user is None else rr.query(user))

    async def _me(self, text: str) -> None:
        """`/me waves`: `* alice waves`, said in the current conversation, as IRC's action."""
        if self.current is None:
            self._out(r.note("/me needs a current conversation: /join #ROOM or /query USER "
                             "first.", "usage"))  # fmt: skip
            return
        try:
            cmd = c.said(self.current, f"* {self.me} {text}")
        except c.UsageError as exc:  # the name made it too long
            self._out(r.note(exc.hint, "usage"))
            return
        await self._send(cmd, secrets.token_hex(16))

    def _names(self) -> set[str]:
        """Every name this client knows: seen, listed, a private chat's peer, our own."""
        return self.known_users | set(self._peers.peers()) | {self.me}

    async def _message(self, cmd: c.Message, nonce: str) -> JsonObject | None:
        """Held in `memory.unsent` until the server answers: a message whose answer was lost
        with the connection is sent again, same nonce, after a reconnect."""
        again = nonce in self.memory.unsent  # sent before, its answer never came
        self.memory.unsent[nonce] = cmd
        reply = await self._request("message", to=cmd.user, text=cmd.text, nonce=nonce)
        if reply is None:
            self._out(r.message_held(cmd, self._now()))
            return None
        self.memory.unsent.pop(nonce, None)
        if again and reply.get("ok") and not reply.get("delivered"):
            self._out(r.message_confirmed(cmd, self._now()))  # not "bob is offline"
        else:
            self._after_reply(cmd, reply)
        return reply

    async def resend_unsent(self) -> None:
        """After a reconnect: the messages the last connection left unconfirmed."""
        held = list(self.memory.unsent.items())
        if held:
            self._out(r.note(f"Sending again {r.plural(len(held), 'message')} the server "
                             "had not confirmed:", "info"))  # fmt: skip
        for nonce, cmd in held:
            await self._send(cmd, nonce)

    # ---- activity -------------------------------------------------------------------------

    def _noted_activity(self) -> None:
        self._activity.note(self._clock())
        self._arm_idle_warning()

    def user_active(self) -> None:
        """The user is typing: activity the server does not see until Enter."""
        self._maybe_active()

    def _maybe_active(self) -> None:
        """The user did something the server does not see (typing, a private message sent
        or read): tell it, at most once every ACTIVE_EVERY_S (chat/1 precise point 15)."""
        if self.exit_code is None and self._activity.active_due(self._clock()):
            self._link.send_nowait({"op": "active"})
            self._noted_activity()

    def _arm_idle_warning(self) -> None:
        if self._idle_timer is not None:
            self._idle_timer.cancel()
        delay = self._activity.warning_in_s(self._clock())
        self._idle_timer = None if delay is None else self._schedule(delay, self._warn_idle)

    def _warn_idle(self) -> None:
        self._idle_timer = None
        if self.exit_code is None and not self._logging_out:
            self._out(r.idle_warning(self._activity.logout_in_s(self._clock()), self._now()))
            self._bell()

    async def _request(self, op: str, **fields: Any) -> JsonObject | None:
        """The reply, or None when there will be none (a line says why, or the link's close
        will)."""
        future = self._link.request(op, **fields)  # queued for the link's sender: never waits
        if op not in NOT_ACTIVITY:
            self._noted_activity()
        try:
            reply = await asyncio.wait_for(asyncio.wrap_future(future), REPLY_TIMEOUT_S)
        except ConnectionError:
            return None
        except TimeoutError:
            self._stalled = True
            self._out(r.note(f"The server did not answer the {op} request in time.", "error"))
            return None
        self._stalled = False
        return reply
