"""What the client does with the direct-message record (chat/1 feature `dm_history`):
`history USER [N]` pages backwards through the messages with USER, `more` goes on before the
oldest shown, `conversations` lists the partners with their unread counts.

Like `room_talk.RoomTalk`, it runs on the asyncio loop's thread and owns no socket and no
terminal: it gets `controller.Chat`'s `request` coroutine, `out` and `now`, so tests drive it
with fakes. Where the server lists no `dm_history` in its hello, it says so and asks nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, Protocol

from cli.client import render as r
from cli.client import render_dms as rd
from cli.client.rooms import HISTORY_MAX, HISTORY_PAGE
from service.wire.codec import JsonObject

FEATURE = "dm_history"  # the word in the server's hello


class Request(Protocol):
    def __call__(self, op: str, **fields: Any) -> Awaitable[JsonObject | None]: ...


class DmTalk:
    def __init__(
        self, me: str, request: Request, out: Callable[[r.Line], None],
        now: Callable[[], datetime], *, enabled: bool, remember: Callable[[object], None],
    ) -> None:  # fmt: skip
        self.me, self.enabled = me, enabled
        self._request, self._out, self._now, self._remember = request, out, now, remember
        self.last_paged: str | None = None  # whose messages `more` goes on with
        self._oldest: dict[str, int] = {}  # user -> the oldest msg_id shown
        self._page: dict[str, int] = {}  # user -> the last page's size

    async def history(self, user: str, count: int | None) -> None:
        """The newest `count` messages with `user` (the page size when None)."""
        self._oldest.pop(user, None)
        await self._show(user, count or HISTORY_PAGE, before=None)

    async def more(self, count: int | None) -> None:
        """The messages before the oldest shown of the conversation paged last."""
        user = self.last_paged
        if user is None:
            self._out(r.note("Which conversation? Type history USER first.", "usage"))
            return
        await self._show(user, count or self._page.get(user, HISTORY_PAGE), self._oldest.get(user))

    async def conversations(self) -> None:
        if not self._available():
            return
        reply = await self._request("conversations")
        if reply is None or self._refused(reply):
            return
        entries = _dicts(reply.get("conversations"))
        for entry in entries:
            self._remember(entry.get("with"))
        for line in rd.conversations_listing(entries, self._now()):
            self._out(line)

    async def _show(self, user: str, limit: int, before: int | None) -> None:
        if not self._available():
            return
        if limit > HISTORY_MAX:
            self._out(r.note(f"At most {HISTORY_MAX} messages at a time: showing {HISTORY_MAX}."))
            limit = HISTORY_MAX
        fields: dict[str, Any] = {"with": user, "limit": limit}
        if before is not None:
            fields["before"] = before
        reply = await self._request("dm_history", **fields)
        if reply is None or self._refused(reply):
            return
        messages = _dicts(reply.get("messages"))
        ids = [m["msg_id"] for m in messages if _is_id(m.get("msg_id"))]
        more = reply.get("more") is True
        lines = rd.dm_history_page(
            user, messages, self._now(), self.me, earlier=before is not None, more=more
        )
        for line in lines:
            self._out(line)
        self._remember(user)
        self.last_paged, self._page[user] = user, limit
        if ids:
            self._oldest[user] = min(ids)

    def _available(self) -> bool:
        if not self.enabled:
            self._out(r.note("This server keeps no record of direct messages.", "error"))
        return self.enabled

    def _refused(self, reply: JsonObject) -> bool:
        if reply.get("ok"):
            return False
        why = reply.get("text") or reply.get("error") or "The request failed."
        self._out(r.note(r.clean(why), "error"))
        return True


def _is_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _dicts(value: object) -> list[JsonObject]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []
