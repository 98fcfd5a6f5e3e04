"""The direct-message record as lines (chat/1 `dm_history`, `conversations`). Pure: every
function takes `now`; what came from the wire passes through `render.clean`, as everywhere."""

from __future__ import annotations

from datetime import datetime

from cli.client import render as r
from service.wire.codec import JsonObject


def dm_line(message: JsonObject, now: datetime, me: str) -> r.Line:
    """One message of a `dm_history` reply: `bob: text` from them, `you → bob: text` ours."""
    sender, stamp = message.get("from"), ("time", r.clock(message.get("sent_at"), now) + " ")
    if sender == me:
        return [stamp, ("me", "you"), ("", f" → {r.clean(message.get('to'))}: "),
                ("", r.clean(message.get("text")))]  # fmt: skip
    return [stamp, *r.spoken(sender, message.get("text"), (r.user_style(r.clean(sender)),
                                                           r.clean(sender)), [])]  # fmt: skip


def dm_history_page(
    user: str, messages: list[JsonObject], now: datetime, me: str, *, earlier: bool, more: bool
) -> list[r.Line]:
    """A `dm_history` page: a header, the messages oldest first, and whether older ones are.
    `earlier`: it goes on from a page shown before (`more`); `more`: the reply's."""
    who = r.clean(user)
    if not messages:
        text = f"There is nothing before that with {who}." if earlier else (
            f"No messages between you and {who} yet.")  # fmt: skip
        return [r.note(text)]
    count = len(messages)
    what = (
        r.plural(count, "earlier message") if earlier else f"the last {r.plural(count, 'message')}"
    )
    lines = [r.note(f"You and {who}, {what}:")]
    lines += [dm_line(message, now, me) for message in messages]
    end = "(more shows older ones)" if more else f"(that is the beginning with {who})"
    lines.append(r.note(end, "time"))
    return lines


def conversations_listing(entries: list[JsonObject], now: datetime) -> list[r.Line]:
    """`conversations`: one line per partner, newest first: the unread count and when."""
    if not entries:
        return [r.note("No direct messages yet.")]
    lines = [r.note("Conversations, newest first:")]
    for entry in entries:
        who = r.clean(entry.get("with"))
        unread = entry.get("unread")
        count = unread if isinstance(unread, int) and not isinstance(unread, bool) else 0
        tag: r.Line = [("stored", f" — {count} unread")] if count else []
        lines.append([("", "  "), (r.user_style(who), who), *tag,
                      ("time", f" (last {r.clock(entry.get('last_at'), now)})")])  # fmt: skip
    return lines
