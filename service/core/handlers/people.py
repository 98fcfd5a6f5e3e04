"""The other users: who is around (`whoelse`, `whoelsesince`) and telling all of them at once
(`broadcast`), each seen through the blocks (chat/1 blocking rule: whoever blocks the caller
is hidden from it and does not hear it).

Handlers in the style of service/core/handlers/accounts.py: decide, let the store and the hub
do the rest.
"""

from __future__ import annotations

from datetime import timedelta

from service.core.context import Context, Fields
from service.wire import events, paging
from service.wire import requests as m
from service.wire.errors import too_long
from service.wire.timeutil import to_rfc3339

_SECONDS_SINCE_EPOCH_MAX = 60 * 60 * 24 * 365 * 50  # whoelsesince: longer windows mean "ever"


def handle_broadcast(ctx: Context, request: m.Broadcast) -> Fields:
    limit = ctx.services.config.max_text_chars
    if len(request.text) > limit:
        raise too_long(limit)
    services, user = ctx.services, ctx.user
    blockers = services.store.blocks.blockers_of(user)
    event = events.broadcast(user, request.text, to_rfc3339(services.clock()))
    # every other user's sessions and this user's others; counted in users (chat/1 point 6)
    delivered = services.hub.send_to_all(event, set(blockers), user, ctx.link)
    blocked_by = len(blockers.intersection(services.hub.online_users()))
    return {"delivered_to": delivered, "blocked_by": blocked_by}


def handle_whoelse(ctx: Context, request: m.WhoElse) -> Fields:
    users = _visible(ctx, set(ctx.services.hub.online_users()))
    return _names_page(ctx, users, request.after, request.limit)


def handle_whoelsesince(ctx: Context, request: m.WhoElseSince) -> Fields:
    services = ctx.services
    now = services.clock()
    since = now - timedelta(seconds=min(request.seconds, _SECONDS_SINCE_EPOCH_MAX))
    seen = services.store.periods.seen_since(since) | set(services.hub.online_users())
    return _names_page(ctx, _visible(ctx, seen), request.after, request.limit)


def _visible(ctx: Context, users: set[str]) -> list[str]:
    """Hide the caller and everyone who blocks the caller (chat/1 blocking rule)."""
    return paging.by_name(users - ctx.services.store.blocks.blockers_of(ctx.user) - {ctx.user})


def _names_page(ctx: Context, names: list[str], after: str | None, limit: int | None) -> Fields:
    """One page of sorted `names` (chat/1 precise point 18): `users` and `more`."""
    page = paging.fit(
        paging.after(names, after, paging.same), limit or paging.NAMES_LIMIT_MAX,
        paging.budget(ctx.request_id, {"users": [], "more": False}), paging.name_bytes,
    )  # fmt: skip
    return {"users": page.items, "more": page.more}
