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

from service.core.context import Context, Fields, Link, Services
from service.core.handlers.private import (
    end_private_on_block,
    end_private_on_leave,
    handle_private_answer,
    handle_startprivate,
    handle_stopprivate,
)
from service.core.handlers.rooms import ROOM_HANDLERS, enter_rooms
from service.core.refusals import refusal_error
from service.core.session import CHECKS_ACCOUNT, PIPELINED_OPS, EndReason, SessionState
from service.credentials.masking import masked_name
from service.credentials.passwords import (
    Attempts,
    LockoutPolicy,
    hash_password,
    is_valid_username,
    needs_rehash,
    retry_after_seconds,
    stored_cost,
    verify_password,
)
from service.store.outcomes import Refusal
from service.wire import events, paging
from service.wire import requests as m
from service.wire.errors import ErrorCode, RequestError, too_long
from service.wire.names import login_name_key
from service.wire.timeutil import to_rfc3339

_SECONDS_SINCE_EPOCH_MAX = 60 * 60 * 24 * 365 * 50  # whoelsesince: longer windows mean "ever"

log = logging.getLogger("parley.sessions")  # a line per login, failed login, logout; no secrets


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


def _refused_login(
    ctx: Context, name: str, attempts: Attempts, now: datetime, *, counted: bool, known: bool
) -> RequestError:
    """The reply to a failed login, and its one log line: the name, the client's address and
    the refusal, for an operator watching for guessing. Never the password.
    `counted`: this attempt was counted (a wrong password), so a lock now is new."""
    refusal = _failure(attempts, now, ctx.services.lockout)
    if refusal.code is ErrorCode.LOCKED:
        seconds = refusal.extra["retry_after"]
        outcome = f"locked{' now' if counted else ''}, retry after {seconds} s"
    else:
        left = refusal.extra["attempts_left"]
        outcome = f"bad_credentials, {left} attempt{'s' if left != 1 else ''} left"
    if not known:
        outcome += " (no such account)"
    shown = name if known else masked_name(name)  # perhaps a password typed as a name
    log.warning("failed login %s from %s: %s", shown, ctx.link.peer, outcome)
    ctx.services.store.note_failed_login(name, known, ctx.link.peer, outcome, now)  # --failed
    return refusal


def handle_login(ctx: Context, request: m.Login) -> Fields:
    if ctx.state.logged_in:
        raise RequestError(ErrorCode.ALREADY_LOGGED_IN, "You are already logged in.")
    services, name, policy = ctx.services, request.user, ctx.services.lockout
    cost, valid = services.config.argon2, is_valid_username(name)
    # check, verify and count: one step per account, however its name's case is typed
    with services.login_gate.hold(login_name_key(name)):
        now = services.clock()
        credentials = services.store.login_credentials(name) if valid else None
        if credentials is None:  # answered exactly like a wrong password (chat/1 point 4)
            attempts = services.store.unknown_name_attempts(name, now)
        else:
            name, attempts = credentials.name, credentials.attempts.current(now)
        known = credentials is not None
        if attempts.is_locked(now):
            raise _refused_login(ctx, name, attempts, now, counted=False, known=known)
        if credentials is None:  # the time of a wrong password, of some account's cost
            verify_password(None, request.password, services.decoys.cost_for(name))
            after = services.store.record_unknown_failure(name, now, policy)
            raise _refused_login(ctx, name, after, now, counted=True, known=False)
        stored = credentials.password_hash
        if not (
            verify_password(stored, request.password, cost)
            and _still_stored(services, name, stored, request.password)
        ):
            after = services.store.record_failed_login(name, now, policy)
            raise _refused_login(ctx, name, after, now, counted=True, known=True)
        return _begin_session(ctx, name, now)  # as the account's exact name


def _still_stored(services: Services, name: str, stored: str, password: str) -> bool:
    """After the right password: whether its hash is still the account's. A hash with other
    parameters than the server's (older defaults, or the operator changed them) is made anew
    at the server's cost; the rehash is the one place that sees the stored hash again, and
    finds another when `chat-admin passwd` came between: then the password just checked is
    the old one, and is refused as a wrong one is (counted too: it is one, now)."""
    cost = services.config.argon2
    if not (services.config.rehash and needs_rehash(stored, cost)):
        return True
    if not services.store.rehash_password(name, stored, hash_password(password, cost)):
        return False
    services.decoys.moved(stored_cost(stored), cost)
    return True


def handle_register(ctx: Context, request: m.Register) -> Fields:
    config, store = ctx.services.config, ctx.services.store
    if ctx.state.logged_in:
        raise RequestError(ErrorCode.ALREADY_LOGGED_IN, "You are already logged in.")
    if not config.allow_signup:
        raise RequestError(ErrorCode.SIGNUP_CLOSED, "This server does not allow sign-up.")
    name = request.user
    if (holder := store.name_taken_by(name)) is not None:
        raise _name_taken(name, holder)
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
    password_hash = hash_password(request.password, config.argon2)
    if store.create_user(name, password_hash, now) is Refusal.NAME_TAKEN:
        raise _name_taken(name, store.name_taken_by(name) or name)  # taken meanwhile
    ctx.services.decoys.moved(None, config.argon2)
    fields = _begin_session(ctx, name, now)
    del fields["pending"]  # a new account has no backlog: chat/1 lists `user` (and `rooms`: none)
    return fields


def _name_taken(name: str, holder: str) -> RequestError:
    """chat/1 precise point 14: `Alice` is taken when `alice` exists, so nobody poses as her."""
    if holder == name:
        return RequestError(ErrorCode.USER_EXISTS, f"The name {name} is taken.")
    return RequestError(
        ErrorCode.USER_EXISTS,
        f"The name {name} is taken: {holder} exists, and names must differ by more than case.",
    )


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
    # `idle_timeout`, an extra field (chat/1 allows them): the client can warn before it.
    idle_timeout = ctx.services.config.idle_timeout_whole_s
    return {
        "user": name, "pending": backlog.count, "rooms": rooms.listing,
        "idle_timeout": idle_timeout,
    }  # fmt: skip


def handle_logout(ctx: Context, request: m.Logout) -> Fields:
    ctx.link.end_after_reply(EndReason.LOGOUT)
    return {}


def handle_ping(ctx: Context, request: m.Ping) -> Fields:
    return {"time": to_rfc3339(ctx.services.clock())}


def handle_active(ctx: Context, request: m.Active) -> Fields:
    """Nothing to do: admitting it counted it as activity (chat/1 precise point 15)."""
    return {}


def _announce(services: Services, user: str, state: str, at: datetime) -> None:
    """Presence for everyone but `user` and those `user` blocks (chat/1 blocking rule)."""
    event = events.presence(user, state, to_rfc3339(at))
    services.hub.announce(event, skip=frozenset(services.store.blocked_by(user) | {user}))


def leave(services: Services, state: SessionState, link: Link, reason: EndReason) -> None:
    """However a session ends: offline, peers told, period closed, before the socket closes."""
    user = state.user
    if user is None:
        return
    now = services.clock()
    end_private_on_leave(services, user, services.hub.release(user, link), reason)
    # At shutdown everyone leaves at once: stop() closes every period in one statement, and
    # presence to users who are all getting `bye shutdown` would cost n^2 events.
    if reason is not EndReason.SHUTDOWN:
        if state.period_id is not None:
            services.store.end_period(state.period_id, now, reason.value)
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
    return paging.by_name(users - ctx.services.store.blockers_of(ctx.user) - {ctx.user})


def _names_page(ctx: Context, names: list[str], after: str | None, limit: int | None) -> Fields:
    """One page of sorted `names` (chat/1 precise point 18): `users` and `more`."""
    page = paging.fit(
        paging.after(names, after, paging.same), limit or paging.NAMES_LIMIT_MAX,
        paging.budget(ctx.request_id, {"users": [], "more": False}), paging.name_bytes,
    )  # fmt: skip
    return {"users": page.items, "more": page.more}


def handle_whoelse(ctx: Context, request: m.WhoElse) -> Fields:
    users = _visible(ctx, set(ctx.services.hub.online_users()))
    return _names_page(ctx, users, request.after, request.limit)


def handle_whoelsesince(ctx: Context, request: m.WhoElseSince) -> Fields:
    services = ctx.services
    now = services.clock()
    since = now - timedelta(seconds=min(request.seconds, _SECONDS_SINCE_EPOCH_MAX))
    seen = services.store.seen_since(since) | set(services.hub.online_users())
    return _names_page(ctx, _visible(ctx, seen), request.after, request.limit)


# --- blocking --------------------------------------------------------------------------------


def handle_block(ctx: Context, request: m.Block) -> Fields:
    services, user, other = ctx.services, ctx.user, request.user
    refusal = services.store.block(user, other, services.clock())
    if refusal is not None:
        raise refusal_error(refusal, "block", other)
    end_private_on_block(ctx, other)
    return {}


def handle_unblock(ctx: Context, request: m.Unblock) -> Fields:
    """The unblocked user could not see the caller: it gets `presence` `online` for it now,
    so its view is whole again. A block sends no `offline` in turn: chat/1 gives the blocked
    user no presence events about the blocker, and a departure would be one."""
    services, user, other = ctx.services, ctx.user, request.user
    refusal = services.store.unblock(user, other)
    if refusal is not None:
        raise refusal_error(refusal, "unblock", other)
    services.hub.send(other, events.presence(user, "online", to_rfc3339(services.clock())))
    return {}


def handle_blocklist(ctx: Context, request: m.BlockList) -> Fields:
    return {"users": sorted(ctx.services.store.blocked_by(ctx.user))}


# --- dispatch --------------------------------------------------------------------------------


def run_request(ctx: Context, request: m.Request) -> Fields:
    """The request's handler, once a logged-in session's account is known to exist still: a
    deleted account's session ends (`bye account_deleted`) after this request's refusal."""
    user_id, store = ctx.state.user_id, ctx.services.store
    if user_id is not None and request.op in CHECKS_ACCOUNT and not store.account_exists(user_id):
        ctx.link.end_after_reply(EndReason.ACCOUNT_DELETED)
        raise RequestError(ErrorCode.NOT_LOGGED_IN, "Your account has been deleted.")
    return HANDLERS[request.op](ctx, request)


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
    "active": handle_active,
    **ROOM_HANDLERS,
}
# `message` and `ack` (and `say`, `read`) are pipelined: the writer answers them in batches
# (service/pipeline/).
assert set(HANDLERS) | PIPELINED_OPS == set(m.REQUEST_TYPES), "every chat/1 op has a handler"
assert not set(HANDLERS) & PIPELINED_OPS
