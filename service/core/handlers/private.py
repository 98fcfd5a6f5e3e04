"""Peer-to-peer brokering: startprivate, private_answer, stopprivate and their events.

The server only introduces two clients (PROTOCOL.md "Peer-to-peer private messaging"); what is
allowed when lives in service/core/broker.py, and this module turns it into replies and events.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from service.core.broker import Endings
from service.core.context import Context, Fields, Services
from service.core.refusals import refusal_error
from service.core.session import EndReason
from service.store.outcomes import Refusal
from service.wire import requests as m
from service.wire.events import (
    private_cancelled,
    private_declined,
    private_expect,
    private_ready,
    private_request,
    private_stopped,
)
from service.wire.private import CancelReason, DeclineReason, PrivateRequest, StopReason


def handle_startprivate(ctx: Context, request: m.StartPrivate) -> Fields:
    services, user, target = ctx.services, ctx.user, request.user
    if not services.store.users.user_exists(target):
        raise refusal_error(Refusal.NO_SUCH_USER, request.op, target)
    if target == user:
        raise refusal_error(Refusal.SELF, request.op, target)
    if target in services.store.blocks.blockers_of(user):
        raise refusal_error(Refusal.BLOCKED, request.op, target)
    pending = PrivateRequest(secrets.token_hex(8), user, target, services.clock())
    if not services.hub.request_private(pending):  # offline, already_private
        # A web page cannot listen for a peer: declined at once, never asked (point 16).
        declined = private_declined(pending, DeclineReason.UNSUPPORTED)
        ctx.follow_ups.append(lambda: ctx.link.send_event(declined))
        return {"request": pending.request_id}
    event = private_request(pending.request_id, user)
    # If the target leaves before this is sent, leave() withdraws the request and declines it.
    ctx.follow_ups.append(lambda: services.hub.send(pending.target, event))
    return {"request": pending.request_id}


def handle_private_answer(ctx: Context, request: m.PrivateAnswer) -> Fields:
    services, link = ctx.services, ctx.link
    pending = services.hub.answer_private(ctx.user, request.request, request.accept)
    if not request.accept:
        declined = private_declined(pending, DeclineReason.DECLINED)
        ctx.follow_ups.append(lambda: services.hub.send(pending.requester, declined))
        return {}
    assert request.port is not None  # service/wire/requests.py refuses an accept without one
    token = secrets.token_hex(16)  # 128 random bits, single use (chat/1 precise point 12)
    expect = private_expect(pending, token)
    ready = private_ready(pending, request.host or link.peer_host, request.port, token)

    def after_reply() -> None:  # expect first, so the listener knows the token before a dial
        link.send_event(expect)
        services.hub.send(pending.requester, ready)

    ctx.follow_ups.append(after_reply)
    return {}


def handle_stopprivate(ctx: Context, request: m.StopPrivate) -> Fields:
    """Ends a session, or withdraws one's own pending request (chat/1 precise point 16: the
    addressee hears `private_cancelled` `withdrawn`; the requester gets no private_declined)."""
    services, peer = ctx.services, request.user
    withdrawn = services.hub.stop_private(ctx.user, peer)
    if withdrawn is None:
        event = private_stopped(ctx.user, StopReason.STOPPED)
    else:
        event = private_cancelled(withdrawn, CancelReason.WITHDRAWN)
    ctx.follow_ups.append(lambda: services.hub.send(peer, event))
    return {}


def expire_private_requests(services: Services) -> None:
    """Unanswered requests end after the configured time (chat/1: 60 s), for both sides."""
    ttl = timedelta(seconds=services.config.private_request_ttl_s)
    for expired in services.hub.expire_private(services.clock(), ttl):
        services.hub.send(expired.requester, private_declined(expired, DeclineReason.EXPIRED))
        services.hub.send(expired.target, private_cancelled(expired, CancelReason.EXPIRED))


def end_private_on_block(ctx: Context, other: str) -> None:
    """chat/1 precise points 13 and 16: a block between two users ends their session for both
    (`private_stopped` `blocked`) and their pending request for both sides, after the reply."""
    services, user = ctx.services, ctx.user
    endings = services.hub.end_private_between(user, other)

    def send(name: str, event: Fields) -> None:
        if name == user:
            ctx.link.send_event(event)
        else:
            services.hub.send(name, event)

    def after_reply() -> None:
        for peer in endings.peers:
            send(user, private_stopped(peer, StopReason.BLOCKED))
            send(peer, private_stopped(user, StopReason.BLOCKED))
        for withdrawn in endings.withdrawn:
            send(withdrawn.requester, private_declined(withdrawn, DeclineReason.BLOCKED))
            send(withdrawn.target, private_cancelled(withdrawn, CancelReason.BLOCKED))

    ctx.follow_ups.append(after_reply)


def end_private_on_leave(
    services: Services, user: str, endings: Endings, reason: EndReason
) -> None:
    """`user`'s session ended: its private peers hear why, and its pending requests end for
    the other side (precise point 16: `cancelled` to a requester, the reason to an addressee).
    """
    hub = services.hub
    for peer in endings.peers:
        hub.send(peer, private_stopped(user, reason.private_stopped_reason))
    for request in endings.withdrawn:
        if request.target == user:
            hub.send(request.requester, private_declined(request, DeclineReason.CANCELLED))
        else:
            hub.send(request.target, private_cancelled(request, reason.private_cancelled_reason))


def end_private_on_shutdown(services: Services) -> None:
    """Before `bye shutdown`: both sides of every private session hear `private_stopped`
    `shutdown` (precise point 16), and every pending request ends for both sides, as if the
    other's session ended first. Done once for all, before any session ends, so nobody misses
    it because the other side left a moment earlier."""
    hub = services.hub
    sessions, pending = hub.end_all_private()
    for a, b in sessions:
        hub.send(a, private_stopped(b, StopReason.SHUTDOWN))
        hub.send(b, private_stopped(a, StopReason.SHUTDOWN))
    for request in pending:
        hub.send(request.requester, private_declined(request, DeclineReason.CANCELLED))
        hub.send(request.target, private_cancelled(request, CancelReason.DISCONNECTED))
