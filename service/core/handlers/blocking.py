"""`block`, `unblock` and `blocklist` (chat/1 "Blocking"): the store keeps who blocks whom;
what a block hides is applied where each thing is sent (presence, broadcast, rooms, messages).

Handlers in the style of service/core/handlers/accounts.py: decide, let the store and the hub
do the rest.
"""

from __future__ import annotations

from service.core.context import Context, Fields
from service.core.handlers.private import end_private_on_block
from service.core.refusals import refusal_error
from service.wire import events
from service.wire import requests as m
from service.wire.timeutil import to_rfc3339


def handle_block(ctx: Context, request: m.Block) -> Fields:
    services, user, other = ctx.services, ctx.user, request.user
    refusal = services.store.blocks.block(user, other, services.clock())
    if refusal is not None:
        raise refusal_error(refusal, "block", other)
    end_private_on_block(ctx, other)
    return {}


def handle_unblock(ctx: Context, request: m.Unblock) -> Fields:
    """The unblocked user could not see the caller: it gets `presence` `online` for it now,
    so its view is whole again. A block sends no `offline` in turn: chat/1 gives the blocked
    user no presence events about the blocker, and a departure would be one."""
    services, user, other = ctx.services, ctx.user, request.user
    refusal = services.store.blocks.unblock(user, other)
    if refusal is not None:
        raise refusal_error(refusal, "unblock", other)
    services.hub.send(other, events.presence(user, "online", to_rfc3339(services.clock())))
    return {}


def handle_blocklist(ctx: Context, request: m.BlockList) -> Fields:
    return {"users": sorted(ctx.services.store.blocks.blocked_by(ctx.user))}
