"""What the client does with rooms: room commands become requests, room events become lines,
and shown messages become `read` markers. The rooms part of `controller.Chat`, which owns one
of these per session and hands it the room events and commands.

Like `Chat`, it runs on the asyncio loop's thread and owns no socket and no terminal: it gets
the link, a `request` coroutine (Chat's: activity and timeouts are dealt with there), `out`,
`when_shown` and `schedule`, so tests drive it with fakes.

`read` (chat/1 "Read markers") is sent only once a message's line is on the terminal
(`when_shown`), and batched: at most one per room every READ_BATCH_S, carrying the highest seq
shown, so the fifty lines of a catch-up cost one `read`, never one per line.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, ClassVar, Protocol

from cli.client import render as r
from cli.client import render_rooms as rr
from cli.client import room_commands as rc
from cli.client.paging import all_pages
from cli.client.rooms import (
    CATCH_UP_PER_ROOM,
    HISTORY_MAX,
    HISTORY_PAGE,
    ReadMarks,
    RoomBook,
    RoomUnread,
    is_valid_room_name,
    mentions,
    wire_seq,
)
from service.wire.codec import JsonObject

READ_BATCH_S = 0.5  # how long shown messages gather before one `read` per room reports them

# Refusals after which the room is not ours (any more): it stops being current.
_NOT_OURS = frozenset({"not_member", "no_such_room"})


class Request(Protocol):
    def __call__(self, op: str, **fields: Any) -> Awaitable[JsonObject | None]: ...


class Sender(Protocol):
    def send_nowait(self, frame: JsonObject) -> None: ...


class Cancellable(Protocol):
    def cancel(self) -> None: ...


Schedule = Callable[[float, Callable[[], None]], Cancellable]


class RoomTalk:
    def __init__(  # the session's parts, as Chat has them
        self,
        me: str,
        book: RoomBook,
        link: Sender,
        request: Request,
        out: Callable[[r.Line], None],
        now: Callable[[], datetime],
        *,
        enabled: bool,
        at_login: tuple[RoomUnread, ...] = (),
        unsent: dict[str, Any],
        when_shown: Callable[[Callable[[], None]], None],
        schedule: Schedule,
        bell: Callable[[], None],
        on_change: Callable[[], None],
        remember: Callable[[object], None],
        active: Callable[[], None] = lambda: None,
    ) -> None:
        self.me, self.book, self.enabled = me, book, enabled
        self._link, self._request, self._out, self._now = link, request, out, now
        self._unsent = unsent  # Memory.unsent: says held for a reconnect, by nonce
        self._when_shown, self._schedule = when_shown, schedule
        self._bell, self._on_change, self._remember = bell, on_change, remember
        self._active = active  # a request that counts as activity went out
        self._unread = {entry.room: entry.unread for entry in at_login}  # from the login reply
        self._headed: set[str] = set()  # rooms whose catch-up header is out
        # Rooms whose catch-up was cut short -> how many the header said `more` shows.
        self._catch_up_rest: dict[str, int] = {}
        self._marks = ReadMarks()
        self._read_timer: Cancellable | None = None
        self._stopped = False
        if enabled:
            book.logged_in(at_login)

    # ---- from the server ------------------------------------------------------------------

    def on_event(self, ev: JsonObject) -> None:
        """`room_message`, `room_join` or `room_leave`: each is about one of our rooms."""
        room = ev.get("room")
        self.book.seen(room, member=True)
        self._remember(ev.get("from") or ev.get("user"))
        if ev.get("ev") == "room_message":
            self._on_message(ev, room if isinstance(room, str) else "")
        elif ev.get("ev") == "room_join":
            self._out(rr.room_join_event(ev, self._now()))
        else:
            self._out(rr.room_leave_event(ev, self._now()))

    def on_read(self, ev: JsonObject) -> None:
        """`room_read`: another session of ours read `room` up to `seq` (chat/1 "Several
        sessions"). Our marker is the user's: no `read` of ours repeats what it covers."""
        room, seq = ev.get("room"), wire_seq(ev.get("seq"))
        if isinstance(room, str) and is_valid_room_name(room) and seq is not None:
            self._marks.read_elsewhere(room, seq)

    def _on_message(self, ev: JsonObject, room: str) -> None:
        seq, catch_up = wire_seq(ev.get("seq")), ev.get("stored") is True
        if not is_valid_room_name(room):
            seq = None  # shown as it came, but nothing to mark read in a room with no name
        if catch_up and seq is not None and self.book.was_shown(room, seq):
            self._when_shown(lambda: self._shown(room, seq))  # the server missed our read
            return
        if catch_up and room not in self._headed:
            self._headed.add(room)
            unread = self._unread.get(room, 0)
            if unread:
                self._out(rr.catch_up_header(room, unread))
            if unread > CATCH_UP_PER_ROOM:
                self.book.last_paged = room  # `more` alone shows the older unread ones
                self._catch_up_rest[room] = rr.catch_up_rest(unread)
        self._out(rr.room_message(ev, self._now(), self.me, catch_up=catch_up))
        if not catch_up and mentions(str(ev.get("text", "")), self.me):
            self._bell()
        if seq is not None:
            self.book.shown(room, seq)
            self._when_shown(lambda: self._shown(room, seq))

    def _shown(self, room: str, seq: int) -> None:
        """A message's line is on the terminal: its `read` is due within READ_BATCH_S."""
        self._marks.shown(room, seq)
        if self._read_timer is None and not self._stopped:
            self._read_timer = self._schedule(READ_BATCH_S, self.flush_reads)

    def flush_reads(self) -> None:
        """Send the `read` markers due now (also at logout: what is shown is read)."""
        self._read_timer = None
        due = self._marks.due()
        for room, seq in due:
            self._link.send_nowait({"op": "read", "room": room, "seq": seq})
        if due:  # chat/1 counts every request but ping and ack as activity, read included
            self._active()

    def stop(self) -> None:
        """The session is over: no more `read`."""
        self._stopped = True
        if self._read_timer is not None:
            self._read_timer.cancel()
            self._read_timer = None

    # ---- from the user --------------------------------------------------------------------

    async def run(self, cmd: rc.RoomCommand) -> None:
        if not self.enabled:
            self._out(rr.no_rooms())
        elif isinstance(cmd, rc.Say):
            await self.say(cmd, secrets.token_hex(16))  # a nonce for every say, as for messages
        else:
            await self._HANDLERS[type(cmd)](self, cmd)

    async def say(self, cmd: rc.Say, nonce: str) -> JsonObject | None:
        """Held in `unsent` until the server answers: a say whose answer was lost with the
        connection is sent again, same nonce, after a reconnect (the server stores it once).
        Returns the reply (None: none came), for the caller's pending and retry."""
        self._unsent[nonce] = cmd
        reply = await self._request("say", room=cmd.room, text=cmd.text, nonce=nonce)
        if reply is None:
            self._out(rr.say_held(cmd, self._now()))
            return None
        self._unsent.pop(nonce, None)
        if not reply.get("ok"):
            self._out(rr.not_said(cmd, _why(reply), self._now()))
            self._maybe_not_ours(cmd.room, reply)
            return reply
        self._out(rr.own_message(cmd, self._now()))
        seq = wire_seq(reply.get("seq"))
        if seq is not None:
            self.book.said(cmd.room, seq)
        return reply

    async def _join(self, cmd: rc.Join) -> None:
        reply = await self._request("join", room=cmd.room)
        if reply is None or self._refused(reply):
            return
        self.book.join(cmd.room)
        self._on_change()
        self._out(rr.joined(cmd.room, reply))

    async def _leave(self, cmd: rc.Leave) -> None:
        reply = await self._request("leave", room=cmd.room)
        if reply is None or self._refused(reply, cmd.room):
            return
        self.book.leave(cmd.room)
        self._on_change()
        self._out(rr.left(cmd.room))

    async def _rooms(self, cmd: rc.Rooms) -> None:
        reply = await all_pages(self._request, "rooms", {})
        if reply is None or self._refused(reply):
            return
        entries = [
            (entry["room"], _count(entry.get("members")), entry.get("joined") is True)
            for entry in _dicts(reply.get("rooms"))
            if isinstance(entry.get("room"), str)
        ]
        self.book.listed((room, joined) for room, _, joined in entries)
        self._on_change()
        for line in rr.rooms_listing([(r.clean(room), n, j) for room, n, j in entries]):
            self._out(line)

    async def _members(self, cmd: rc.Members) -> None:
        reply = await all_pages(self._request, "members", {"room": cmd.room})
        if reply is None or self._refused(reply, cmd.room):
            return
        users = _list(reply.get("users"))
        for user in users:
            self._remember(user)
        self._out(rr.members_listing(cmd.room, users, _list(reply.get("online")), self.me))

    async def _history(self, cmd: rc.History) -> None:
        await self._page(cmd.room, cmd.count or HISTORY_PAGE, before=None)

    async def _more(self, cmd: rc.More) -> None:
        room = cmd.room or self.book.last_paged or self.book.current_room
        if room is None:
            self._out(r.note("Which room? Usage: more [#ROOM] [N]", "usage"))
            return
        before = self.book.oldest_shown.get(room)
        if before is not None and before <= 1:
            self._out(r.note(f"There is nothing before that in {room}."))
            return
        rest = self._catch_up_rest.pop(room, None)  # what the catch-up header promised
        page = self.book.page.get(room, HISTORY_PAGE)
        await self._page(room, cmd.count or rest or page, before)
        if rest is not None and not cmd.count:
            self.book.page[room] = page  # a one-off: the next `more` pages as before

    async def _page(self, room: str, limit: int, before: int | None) -> None:
        """One page of history, oldest first; `before` None: the newest. A `limit` above
        what the server gives at once is capped (chat/1 refuses it), with a line saying so."""
        if limit > HISTORY_MAX:
            self._out(r.note(f"At most {HISTORY_MAX} messages at a time: showing {HISTORY_MAX}."))
            limit = HISTORY_MAX
        fields: dict[str, Any] = {"room": room, "limit": limit}
        if before is not None:
            fields["before"] = before
        reply = await self._request("history", **fields)
        if reply is None or self._refused(reply, room):
            return
        messages = _dicts(reply.get("messages"))
        seqs = [seq for seq in (wire_seq(m.get("seq")) for m in messages) if seq is not None]
        for message in messages:
            self._remember(message.get("from"))
        lines = rr.history_page(room, messages, seqs, self._now(), self.me,
                                more=before is not None)  # fmt: skip
        for line in lines:
            self._out(line)
        self.book.paged(room, seqs, limit)
        if seqs:
            newest = max(seqs)
            self._when_shown(lambda: self._shown(room, newest))

    async def _current(self, cmd: rc.CurrentRoom) -> None:
        if cmd.room is not None and cmd.room not in self.book.joined:
            self._out(rr.not_member(cmd.room))
            return
        self.book.current = cmd.room
        self._on_change()
        self._out(rr.current(cmd.room))

    _HANDLERS: ClassVar[dict[type, Callable[[RoomTalk, Any], Awaitable[None]]]] = {
        rc.Join: _join,
        rc.Leave: _leave,
        rc.Rooms: _rooms,
        rc.Members: _members,
        rc.History: _history,
        rc.More: _more,
        rc.CurrentRoom: _current,
    }

    def _refused(self, reply: JsonObject, room: str | None = None) -> bool:
        """True (after a line with the server's sentence) if the request was refused."""
        if reply.get("ok"):
            return False
        self._out(r.note(_why(reply), "error"))
        if room is not None:
            self._maybe_not_ours(room, reply)
        return True

    def _maybe_not_ours(self, room: str, reply: JsonObject) -> None:
        if reply.get("error") in _NOT_OURS and room in self.book.joined | {self.book.current}:
            self.book.leave(room)
            self._on_change()


def _why(reply: JsonObject) -> str:
    return r.clean(reply.get("text") or reply.get("error") or "The request failed.")


def _dicts(value: object) -> list[JsonObject]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _list(value: object) -> list[object]:
    return list(value) if isinstance(value, list) else []


def _count(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
