"""A `search` reply -> styled lines. Pure: takes `now`, as every function that stamps a time.

A room's hit reads as its message does in history (`09:12 #lab #12 bob: text`, with its seq);
a direct message's hit names the other user (`09:12 [bob] you: text`).
"""

from __future__ import annotations

from datetime import datetime

from cli.client import render as r
from cli.client.render_rooms import room_message
from cli.client.render_rooms import sender_name as _sender
from cli.client.search import JsonObject, Search


def results(cmd: Search, reply: JsonObject, now: datetime, me: str) -> list[r.Line]:
    """A header naming what was searched, the hits newest first, each with its place (room and
    seq, or the other user) and time, and a hint when more were found than shown."""
    hits = [hit for hit in _list(reply.get("results")) if isinstance(hit, dict)]
    where = f" in {cmd.room}" if cmd.room else f" with {r.clean(cmd.with_)}" if cmd.with_ else ""
    if not hits:
        return [r.note(f"Nothing found for {r.clean(cmd.query)!r}{where}.")]
    found = r.plural(len(hits), "message")
    lines = [r.note(f"{found} found for {r.clean(cmd.query)!r}{where}, newest first:")]
    lines += [_hit(hit, now, me) for hit in hits]
    if reply.get("more") is True:
        lines.append(r.note("(more were found: add words, or `in #ROOM` / `with USER`)", "time"))
    return lines


def _hit(hit: JsonObject, now: datetime, me: str) -> r.Line:
    if "room" in hit:
        line = room_message(hit, now, me)
        seq = hit.get("seq")
        if isinstance(seq, int) and not isinstance(seq, bool):
            line.insert(2, ("time", f" #{seq}"))  # after the time and the room's name
        return line
    partner = r.clean(hit.get("with"))
    return [
        ("time", r.clock(hit.get("sent_at"), now) + " "),
        (r.user_style(partner), f"[{partner}]"),
        ("", " "),
        *r.spoken(hit.get("from"), hit.get("text"), _sender(hit.get("from"), me), []),
    ]


def _list(value: object) -> list[object]:
    return list(value) if isinstance(value, list) else []
