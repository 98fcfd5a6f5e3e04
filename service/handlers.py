"""What each chat/1 request does: `handle_<op>(ctx, request) -> reply fields`.

Handlers decide and delegate: the store persists, the hub reaches other users, the link is
this connection. They never touch a socket, so the rules of chat/1 read top to bottom here.
Work that must follow the reply on the wire (backlog after a login ok, say) is queued as a
follow-up, which the connection runs once the reply has been sent.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from service import events
from service import messages as m
from service.auth import (
    Attempts,
    LockoutPolicy,
    hash_password,
    is_valid_username,
    retry_after_seconds,
    verify_password,
)
from service.brokering import handle_private_answer, handle_startprivate, handle_stopprivate
from service.context import Context, Fields, Link, Services
from service.errors import ErrorCode, RequestError, too_long
from service.outcomes import Refusal
from service.room_handlers import ROOM_HANDLERS, enter_rooms
from service.session import PIPELINED_OPS, EndReason, SessionState
from service.timeutil import to_rfc3339

_SECONDS_SINCE_EPOCH_MAX = 60 * 60 * 24 * 365 * 50  # whoelsesince: longer windows mean "ever"

log = logging.getLogger("parley.sessions")  # one line per login, logout, lockout; no secrets


# --- login, register, logout -----------------------------------------------------------------


def _failure(attempts: Attempts, now: datetime, policy: LockoutPolicy) -> RequestError:
    if attempts.locked_until is not None and attempts.is_locked(now):
        seconds = retry_after_seconds(attempts.locked_until, now)
        return RequestError(
            ErrorCode.LOCKED,
            f"Too many failed attempts: this account is locked. Try again in {seconds} s.",
            retry_after=seconds,
        )
    left = attempts.attempts_left(policy)
    return RequestError(
        ErrorCode.BAD_CREDENTIALS,
        f"Wrong username or password. {left} attempt{'s' if left != 1 else ''} left.",
        attempts_left=left,
    )


def handle_login(ctx: Context, request: m.Login) -> Fields:
    if ctx.state.logged_in:
        raise RequestError(ErrorCode.ALREADY_LOGGED_IN, "You are already logged in.")
    services, name, policy = ctx.services, request.user, ctx.services.lockout
    with services.login_gate.hold(name):  # check, verify and count: one step per name
        now = services.clock()
        credentials = services.store.credentials(name) if is_valid_username(name) else None
        if credentials is None:  # answered exactly like a wrong password (chat/1 point 4)
            attempts = services.store.unknown_name_attempts(name, now)
            if attempts.is_locked(now):
                raise _failure(attempts, now, policy)
            verify_password(None, request.password)
            raise _failure(services.store.record_unknown_failure(name, now, policy), now, policy)
        attempts = credentials.attempts.current(now)
        if attempts.is_locked(now):
            raise _failure(attempts, now, policy)
        if not verify_password(credentials.password_hash, request.password):
            after = services.store.record_failed_login(name, now, policy)
            if after.is_locked(now):
                seconds = services.config.block_duration_s
                log.info("lockout %s for %ss from %s", name, seconds, ctx.link.peer)
            raise _failure(after, now, policy)
        return _begin_session(ctx, name, now)


def handle_register(ctx: Context, request: m.Register) -> Fields:
    config, store = ctx.services.config, ctx.services.store
    if ctx.state.logged_in:
        raise RequestError(ErrorCode.ALREADY_LOGGED_IN, "You are already logged in.")
    if not config.allow_signup:
        raise RequestError(ErrorCode.SIGNUP_CLOSED, "This server does not allow sign-up.")
    name = request.user
    if store.user_exists(name):
        raise RequestError(ErrorCode.USER_EXISTS, f"The name {name} is taken.")
    if not is_valid_username(name):
        raise RequestError(
            ErrorCode.BAD_USERNAME,
            "A username is 1 to 32 letters, digits, '_', '.' or '-'.",
        )
    if len(request.password) < config.min_password_chars:
        raise RequestError(
            ErrorCode.WEAK_PASSWORD,
            f"A password needs at least {config.min_password_chars} characters.",
        )
    now = ctx.services.clock()
    if store.create_user(name, hash_password(request.password), now) is Refusal.NAME_TAKEN:
        raise RequestError(ErrorCode.USER_EXISTS, f"The name {name} is taken.")
    fields = _begin_session(ctx, name, now)
    # A new account has no backlog: chat/1 lists only `user` here, and the rooms (none).
    return {"user": name, "rooms": fields["rooms"]}


def _begin_session(ctx: Context, name: str, now: datetime) -> Fields:
    """Online from here: backlog after the reply, then live messages, then presence."""
    hub, store, link = ctx.services.hub, ctx.services.store, ctx.link
    link.delivery.hold()  # live deliveries wait until the backlog is out
    if not hub.claim(name, link):
        link.delivery.drop_held()
        raise RequestError(ErrorCode.ONLINE_ELSEWHERE, f"{name} is already logged in elsewhere.")
    try:
        ctx.state.period_id, ctx.state.user_id = store.start_period(name, link.peer, now)
        backlog = store.backlog_snapshot(name)  # after the claim: nothing falls in between
        rooms = enter_rooms(ctx.services, name)  # likewise for the rooms' messages
    except BaseException:
        hub.release(name, link)
        link.delivery.drop_held()  # they are stored, or were for nobody: a failed login
        raise
    ctx.state.user = name
    log.info("login %s from %s", name, link.peer)

    def after_reply() -> None:  # on the worker running the login
        direct = (
            events.message_event(s.msg_id, s.sender, s.text, to_rfc3339(s.sent_at), True)
            for s in store.iter_backlog(name, backlog)
        )
        frames = itertools.chain(direct, rooms.frames(store))  # chat/1: rooms after the DMs
        # False: a slow consumer, ending
        if link.delivery.catch_up(frames, backlog.last_id, rooms.last_seqs):
            _announce(ctx.services, name, "online", now)

    ctx.follow_ups.append(after_reply)
    return {"user": name, "pending": backlog.count, "rooms": rooms.listing}


def handle_logout(ctx: Context, request: m.Logout) -> Fields:
    ctx.link.end_after_reply(EndReason.LOGOUT)
    return {}


def handle_ping(ctx: Context, request: m.Ping) -> Fields:
    return {"time": to_rfc3339(ctx.services.clock())}


def _announce(services: Services, user: str, state: str, at: datetime) -> None:
    """Presence for everyone but `user` and those `user` blocks (chat/1 blocking rule)."""
    event = events.presence(user, state, to_rfc3339(at))
    services.hub.announce(event, skip=frozenset(services.store.blocked_by(user) | {user}))


def leave(services: Services, state: SessionState, link: Link, reason: EndReason) -> None:
    """However a session ends: offline, peers told, period closed, before the socket closes."""
    user = state.user
    if user is None:
        return
    hub, now = services.hub, services.clock()
    endings = hub.release(user, link)
    for peer in endings.peers:
        hub.send(peer, events.private_stopped(user, reason.private_stopped_reason))
    for request in endings.withdrawn:
        if request.target == user:
            hub.send(request.requester, events.private_declined(request))
    # At shutdown everyone leaves at once: stop() closes every period in one statement, and
    # presence to users who are all getting `bye shutdown` would cost n^2 events.
    if reason is not EndReason.SHUTDOWN:
        if state.period_id is not None:
            services.store.end_period(state.period_id, now)
        _announce(services, user, "offline", now)
    log.info("logout %s from %s (%s)", user, link.peer, reason.value)


# --- messages and broadcasts -----------------------------------------------------------------


def _check_length(ctx: Context, text: str) -> None:
    limit = ctx.services.config.max_text_chars
    if len(text) > limit:
        raise too_long(limit)


def handle_broadcast(ctx: Context, request: m.Broadcast) -> Fields:
    _check_length(ctx, request.text)
    services, user = ctx.services, ctx.user
    blockers = services.store.blockers_of(user)
    event = events.broadcast(user, request.text, to_rfc3339(services.clock()))
    delivered = services.hub.send_to_all(event, skip=blockers | {user})
    blocked_by = len(blockers.intersection(services.hub.online_users()))
    return {"delivered_to": delivered, "blocked_by": blocked_by}


# --- who is around ---------------------------------------------------------------------------


def _visible(ctx: Context, users: set[str]) -> list[str]:
    """Hide the caller and everyone who blocks the caller (chat/1 blocking rule)."""
    return sorted(users - ctx.services.store.blockers_of(ctx.user) - {ctx.user})


def handle_whoelse(ctx: Context, request: m.WhoElse) -> Fields:
    return {"users": _visible(ctx, set(ctx.services.hub.online_users()))}


def handle_whoelsesince(ctx: Context, request: m.WhoElseSince) -> Fields:
    services = ctx.services
    now = services.clock()
    since = now - timedelta(seconds=min(request.seconds, _SECONDS_SINCE_EPOCH_MAX))
    seen = services.store.seen_since(since) | set(services.hub.online_users())
    return {"users": _visible(ctx, seen)}


# --- blocking --------------------------------------------------------------------------------


def handle_block(ctx: Context, request: m.Block) -> Fields:
    services, user, other = ctx.services, ctx.user, request.user
    refusal = services.store.block(user, other, services.clock())
    if refusal is not None:
        raise _block_refusal(refusal, other)
    endings = services.hub.end_private_between(user, other)

    def after_reply() -> None:  # chat/1 precise point 13
        for peer in endings.peers:
            ctx.link.send_event(events.private_stopped(peer, "blocked"))
            services.hub.send(peer, events.private_stopped(user, "blocked"))
        for withdrawn in endings.withdrawn:
            event = events.private_declined(withdrawn)
            if withdrawn.requester == user:
                ctx.link.send_event(event)
            else:
                services.hub.send(withdrawn.requester, event)

    ctx.follow_ups.append(after_reply)
    return {}


def handle_unblock(ctx: Context, request: m.Unblock) -> Fields:
    refusal = ctx.services.store.unblock(ctx.user, request.user)
    if refusal is not None:
        raise _block_refusal(refusal, request.user)
    return {}


def _block_refusal(refusal: Refusal, other: str) -> RequestError:
    code, text = _BLOCK_REFUSALS[refusal]
    return RequestError(code, text.format(other=other))


_BLOCK_REFUSALS = {
    Refusal.NO_SUCH_USER: (ErrorCode.NO_SUCH_USER, "There is no user {other}."),
    Refusal.SELF: (ErrorCode.SELF, "You cannot block or unblock yourself."),
    Refusal.ALREADY_BLOCKED: (ErrorCode.ALREADY_BLOCKED, "You already block {other}."),
    Refusal.NOT_BLOCKED: (ErrorCode.NOT_BLOCKED, "You do not block {other}."),
}


def handle_blocklist(ctx: Context, request: m.BlockList) -> Fields:
    return {"users": sorted(ctx.services.store.blocked_by(ctx.user))}


# --- dispatch --------------------------------------------------------------------------------

Handler = Callable[[Context, Any], Fields]

HANDLERS: dict[str, Handler] = {
    "login": handle_login,
    "register": handle_register,
    "broadcast": handle_broadcast,
    "whoelse": handle_whoelse,
    "whoelsesince": handle_whoelsesince,
    "block": handle_block,
    "unblock": handle_unblock,
    "blocklist": handle_blocklist,
    "startprivate": handle_startprivate,
    "private_answer": handle_private_answer,
    "stopprivate": handle_stopprivate,
    "logout": handle_logout,
    "ping": handle_ping,
    **ROOM_HANDLERS,
}
# `message` and `ack` (and `say`, `read`) are pipelined: the writer answers them in batches
# (service/messaging.py).
assert set(HANDLERS) | PIPELINED_OPS == set(m.REQUEST_TYPES), "every chat/1 op has a handler"
assert not set(HANDLERS) & PIPELINED_OPS
