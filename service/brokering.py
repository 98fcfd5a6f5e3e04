"""Peer-to-peer brokering: startprivate, private_answer, stopprivate and their events.

The server only introduces two clients (PROTOCOL.md "Peer-to-peer private messaging"); what is
allowed when lives in service/private.py, and this module turns it into replies and events.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from service import messages as m
from service.context import Context, Fields, Services
from service.errors import ErrorCode, RequestError
from service.events import private_declined, private_request, private_stopped
from service.private import PrivateRequest


def handle_startprivate(ctx: Context, request: m.StartPrivate) -> Fields:
    services, user, target = ctx.services, ctx.user, request.user
    if not services.store.user_exists(target):
        raise RequestError(ErrorCode.NO_SUCH_USER, f"There is no user {target}.")
    if target == user:
        raise RequestError(ErrorCode.SELF, "You cannot start a private chat with yourself.")
    if target in services.store.blockers_of(user):
        raise RequestError(ErrorCode.BLOCKED, f"{target} has blocked you.")
    pending = PrivateRequest(secrets.token_hex(8), user, target, services.clock())
    services.hub.request_private(pending)  # offline, already_private
    event = private_request(pending.request_id, user)
    # If the target leaves before this is sent, leave() withdraws the request and declines it.
    ctx.follow_ups.append(lambda: services.hub.send(pending.target, event))
    return {"request": pending.request_id}


def handle_private_answer(ctx: Context, request: m.PrivateAnswer) -> Fields:
    services, link = ctx.services, ctx.link
    pending = services.hub.answer_private(ctx.user, request.request, request.accept)
    if not request.accept:
        ctx.follow_ups.append(
            lambda: services.hub.send(pending.requester, private_declined(pending))
        )
        return {}
    token = secrets.token_hex(16)  # 128 random bits, single use (chat/1 precise point 12)
    expect = {"ev": "private_expect", "request": pending.request_id, "user": pending.requester,
              "token": token}  # fmt: skip
    host = request.host or link.peer_host
    ready = {"ev": "private_ready", "request": pending.request_id, "user": ctx.user,
             "host": host, "port": request.port, "token": token}  # fmt: skip

    def after_reply() -> None:  # expect first, so the listener knows the token before a dial
        link.send_event(expect)
        services.hub.send(pending.requester, ready)

    ctx.follow_ups.append(after_reply)
    return {}


def handle_stopprivate(ctx: Context, request: m.StopPrivate) -> Fields:
    services = ctx.services
    services.hub.stop_private(ctx.user, request.user)
    stopped = private_stopped(ctx.user, "stopped")
    ctx.follow_ups.append(lambda: services.hub.send(request.user, stopped))
    return {}


def expire_private_requests(services: Services) -> None:
    """Unanswered requests are declined after the configured time (chat/1: 60 s)."""
    ttl = timedelta(seconds=services.config.private_request_ttl_s)
    for expired in services.hub.expire_private(services.clock(), ttl):
        services.hub.send(expired.requester, private_declined(expired))
