"""What `search` does (chat/1 "Search", feature `search`): the newest messages the caller may
see that hold every word of its query, in one frame.

Checks in chat/1's order: the fields (service/wire/requests.py: types, `query` 1-200 code
points, `limit` 1-50, not both `room` and `with`), then the scope (`no_such_room`/`not_member`
or `no_such_user`/`self`), then the query's words (none: `bad_request`). The store finds the
hits (service/store/search.py); the words' rules are service/wire/search.py's.
"""

from __future__ import annotations

from typing import Any

from service.core.context import Context, Fields
from service.core.refusals import refusal_error
from service.store import DmHit, Refusal, RoomHit
from service.wire import paging
from service.wire import requests as m
from service.wire.codec import encode
from service.wire.errors import ErrorCode, RequestError
from service.wire.search import LIMIT_DEFAULT, words
from service.wire.timeutil import to_rfc3339

NO_WORDS = RequestError(
    ErrorCode.BAD_REQUEST,
    "A search needs at least one word: letters or digits (punctuation alone finds nothing).",
)


def handle_search(ctx: Context, request: m.Search) -> Fields:
    limit = LIMIT_DEFAULT if request.limit is None else request.limit
    query_words = words(request.query)
    # One more than asked for: whether more hits exist (`more`) without counting them.
    found = ctx.services.store.search.find(
        ctx.user, query_words, limit + 1, room=request.room, partner=request.with_
    )
    if isinstance(found, Refusal):
        raise _refused(ctx, found, request)
    if not query_words:
        raise NO_WORDS
    # As many of the newest as fit in one frame (20 texts of 4,000 characters would not).
    budget = paging.budget(ctx.request_id, {"results": [], "more": False})
    page = paging.fit((_result(hit) for hit in found), limit, budget, _entry_bytes)
    return {"results": page.items, "more": page.more}


def _refused(ctx: Context, refusal: Refusal, request: m.Search) -> RequestError:
    name = request.room if request.room is not None else (request.with_ or "")
    return refusal_error(refusal, "search", name)


def _result(hit: RoomHit | DmHit) -> dict[str, Any]:
    sent_at = to_rfc3339(hit.sent_at)
    if isinstance(hit, DmHit):
        return {"with": hit.partner, "msg_id": hit.msg_id, "from": hit.sender,
                "to": hit.recipient, "text": hit.text, "sent_at": sent_at}  # fmt: skip
    return {"room": hit.room, "seq": hit.seq, "from": hit.sender, "text": hit.text,
            "sent_at": sent_at}  # fmt: skip


def _entry_bytes(entry: dict[str, Any]) -> int:
    """What one result costs in the JSON list: its encoding, whose newline stands for the comma."""
    return len(encode(entry))
