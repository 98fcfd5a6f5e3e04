"""What the requests of the direct-message record do (chat/1 "Direct-message history",
feature `dm_history`): `dm_history` pages backwards through a conversation, `conversations`
lists them. Both only read: the record is written by the pipeline (`message`, and `ack`,
which marks a message shown and keeps it), and kept short by `chat-admin purge-dms`.
"""

from __future__ import annotations

from typing import Any

from service.core.context import Context, Fields
from service.core.refusals import refusal_error
from service.store import ConversationEntry, Refusal, StoredMessage
from service.wire import paging
from service.wire import requests as m
from service.wire.codec import encode
from service.wire.dm_history import CONVERSATIONS_MAX, DM_HISTORY_DEFAULT
from service.wire.timeutil import to_rfc3339


def handle_dm_history(ctx: Context, request: m.DmHistory) -> Fields:
    limit = DM_HISTORY_DEFAULT if request.limit is None else request.limit
    # One more than asked for: whether older messages exist (`more`) without a count.
    found = ctx.services.store.dm_record.history(ctx.user, request.with_, request.before, limit + 1)
    if isinstance(found, Refusal):
        raise refusal_error(found, request.op, request.with_)
    lines = [_line(message) for message in reversed(found)]  # newest first, to fit
    # The newest that fit in one frame, as `history` in a room (chat/1 precise point 18): the
    # client pages on with `before` = the oldest `msg_id` it got.
    budget = paging.budget(ctx.request_id, {"messages": [], "more": False})
    page = paging.fit(lines, limit, budget, _entry_bytes)
    return {"messages": page.items[::-1], "more": page.more}


def _line(message: StoredMessage) -> dict[str, Any]:
    return {
        "msg_id": message.msg_id, "from": message.sender, "to": message.recipient,
        "text": message.text, "sent_at": to_rfc3339(message.sent_at),
    }  # fmt: skip


def handle_conversations(ctx: Context, request: m.Conversations) -> Fields:
    """The newest CONVERSATIONS_MAX conversations; fewer if their names would not fit in the
    frame (only with a request id of most of a frame: 200 entries take about 20 KiB)."""
    entries = ctx.services.store.dm_record.conversations(ctx.user, CONVERSATIONS_MAX)
    listing = (_conversation(entry) for entry in entries)
    budget = paging.budget(ctx.request_id, {"conversations": []})
    page = paging.fit(listing, CONVERSATIONS_MAX, budget, _entry_bytes)
    return {"conversations": page.items}


def _conversation(entry: ConversationEntry) -> dict[str, Any]:
    return {
        "with": entry.partner, "last_msg_id": entry.last_msg_id,
        "last_at": to_rfc3339(entry.last_at), "unread": entry.unread,
    }  # fmt: skip


def _entry_bytes(entry: dict[str, Any]) -> int:
    """What one object costs in a JSON list: its encoding, whose newline stands for the comma."""
    return len(encode(entry))


DM_HANDLERS: dict[str, Any] = {
    "dm_history": handle_dm_history,
    "conversations": handle_conversations,
}
