"""Peer-to-peer brokering: startprivate, private_answer, stopprivate and their events.

The server only introduces two clients (PROTOCOL.md "Peer-to-peer private messaging"); what is
allowed when lives in service/core/broker.py, and this module turns it into replies and events.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import timedelta

from service.core.broker import Chat, Endings, Pending
from service.core.context import Context, Fields, Services
from service.core.hub import Session
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
    """Asks every session of the addressee that can take a peer-to-peer chat; when none can,
    the requester hears `private_declined` `unsupported` at once (chat/1 precise point 16).
    What follows goes to this session, the one that asked (chat/1 "Several sessions")."""
    services, user, target, link = ctx.services, ctx.user, request.user, ctx.link
    if not services.store.users.user_exists(target):
        raise refusal_error(Refusal.NO_SUCH_USER, request.op, target)
    if target == user:
        raise refusal_error(Refusal.SELF, request.op, target)
    if target in services.store.blocks.blockers_of(user):
        raise refusal_error(Refusal.BLOCKED, request.op, target)
    pending: Pending[Session] = Pending(
        PrivateRequest(secrets.token_hex(8), user, target, services.clock()), link
    )
    offered = services.hub.request_private(pending)  # offline, already_private
    if not offered:
        declined = private_declined(pending.request, DeclineReason.UNSUPPORTED)
        ctx.follow_ups.append(lambda: link.send_event(declined))
    else:
        event = private_request(pending.request.request_id, user)
        # If a session leaves before this is sent, leave() tells the sides what ended.
        ctx.follow_ups.append(lambda: _send_each(services, offered, event))
    return {"request": pending.request.request_id}


def _send_each(services: Services, sessions: Iterable[Session], event: Fields) -> None:
    for session in sessions:
        services.hub.send_to(session, event)


def handle_private_answer(ctx: Context, request: m.PrivateAnswer) -> Fields:
    """The first answer decides; the addressee's other sessions asked hear
    `private_cancelled` `answered_elsewhere`, the asking session the outcome."""
    services, link = ctx.services, ctx.link
    pending = services.hub.answer_private(ctx.user, link, request.request, request.accept)
    elsewhere = private_cancelled(pending.request, CancelReason.ANSWERED_ELSEWHERE)
    others = [s for s in pending.offered if s is not link]
    if not request.accept:
        declined = private_declined(pending.request, DeclineReason.DECLINED)

        def after_no() -> None:
            services.hub.send_to(pending.asker, declined)
            _send_each(services, others, elsewhere)

        ctx.follow_ups.append(after_no)
        return {}
    assert request.port is not None  # service/wire/requests.py refuses an accept without one
    token = secrets.token_hex(16)  # 128 random bits, single use (chat/1 precise point 12)
    expect = private_expect(pending.request, token)
    host = request.host or link.peer_host
    ready = private_ready(pending.request, host, request.port, token)

    def after_yes() -> None:  # expect first, so the listener knows the token before a dial
        link.send_event(expect)
        services.hub.send_to(pending.asker, ready)
        _send_each(services, others, elsewhere)

    ctx.follow_ups.append(after_yes)
    return {}


def handle_stopprivate(ctx: Context, request: m.StopPrivate) -> Fields:
    """Ends a chat, or withdraws one's own pending request (chat/1 precise point 16: the
    addressee hears `private_cancelled` `withdrawn`; the requester gets no private_declined),
    from any session of the user. From a session that is not in the chat it ends it as if sent
    from the one that is: both sessions in it hear `private_stopped` `stopped`. A request
    withdrawn from another session than the one that asked: that one hears `private_declined`
    `cancelled`, so it does not wait for an answer that cannot come (docs/PROTOCOL.md)."""
    services, peer, user, link = ctx.services, request.user, ctx.user, ctx.link
    ended = services.hub.stop_private(user, peer)
    tell: list[tuple[Session, Fields]] = []
    if isinstance(ended, Chat):
        tell.append((ended.ends[peer], private_stopped(user, StopReason.STOPPED)))
        if ended.ends[user] is not link:
            tell.append((ended.ends[user], private_stopped(peer, StopReason.STOPPED)))
    else:
        withdrawn = private_cancelled(ended.request, CancelReason.WITHDRAWN)
        tell.extend((session, withdrawn) for session in ended.offered)
        if ended.asker is not link:
            declined = private_declined(ended.request, DeclineReason.CANCELLED)
            tell.append((ended.asker, declined))
    ctx.follow_ups.append(lambda: _tell(services, tell))
    return {}


def _tell(services: Services, tell: Iterable[tuple[Session, Fields]]) -> None:
    for session, event in tell:
        services.hub.send_to(session, event)


def expire_private_requests(services: Services) -> None:
    """Unanswered requests end after the configured time (chat/1: 60 s), for both sides."""
    ttl = timedelta(seconds=services.config.private_request_ttl_s)
    for expired in services.hub.expire_private(services.clock(), ttl):
        declined = private_declined(expired.request, DeclineReason.EXPIRED)
        services.hub.send_to(expired.asker, declined)
        cancelled = private_cancelled(expired.request, CancelReason.EXPIRED)
        _send_each(services, expired.offered, cancelled)


def end_private_on_block(ctx: Context, other: str) -> None:
    """chat/1 precise points 13 and 16: a block between two users ends their chat for both
    sessions in it (`private_stopped` `blocked`) and their pending request for both sides,
    after the reply."""
    services, user = ctx.services, ctx.user
    endings = services.hub.end_private_between(user, other)
    tell: list[tuple[Session, Fields]] = []
    for chat in endings.chats:
        for name, session in chat.ends.items():
            tell.append((session, private_stopped(chat.other(name)[0], StopReason.BLOCKED)))
    for pending in endings.withdrawn:
        tell.append((pending.asker, private_declined(pending.request, DeclineReason.BLOCKED)))
        cancelled = private_cancelled(pending.request, CancelReason.BLOCKED)
        tell.extend((session, cancelled) for session in pending.offered)
    ctx.follow_ups.append(lambda: _tell(services, tell))


def end_private_on_leave(
    services: Services, user: str, endings: Endings[Session], reason: EndReason
) -> None:
    """A session of `user` ended: the peer session of each chat it was in hears why; the
    requests it asked end for the sessions asked, and a request to `user` none of whose
    asked sessions is left ends for its asker (precise point 16: `cancelled`)."""
    hub = services.hub
    for chat in endings.chats:
        hub.send_to(chat.other(user)[1], private_stopped(user, reason.private_stopped_reason))
    for pending in endings.withdrawn:
        cancelled = private_cancelled(pending.request, reason.private_cancelled_reason)
        _send_each(services, pending.offered, cancelled)
    for pending in endings.cancelled:
        hub.send_to(pending.asker, private_declined(pending.request, DeclineReason.CANCELLED))


def end_private_on_shutdown(services: Services) -> None:
    """Before `bye shutdown`: both sessions of every private chat hear `private_stopped`
    `shutdown` (precise point 16), and every pending request ends for both sides, as if the
    other's session ended first. Done once for all, before any session ends, so nobody misses
    it because the other side left a moment earlier."""
    hub = services.hub
    chats, pending = hub.end_all_private()
    for chat in chats:
        for name, session in chat.ends.items():
            hub.send_to(session, private_stopped(chat.other(name)[0], StopReason.SHUTDOWN))
    for request in pending:
        hub.send_to(request.asker, private_declined(request.request, DeclineReason.CANCELLED))
        cancelled = private_cancelled(request.request, CancelReason.DISCONNECTED)
        _send_each(services, request.offered, cancelled)
