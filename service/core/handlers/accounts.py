"""A session's life: `login` (or `register`) to `logout` or however else it ends, and `ping` and
`active` in between. A login reads top to bottom here: judge the name and password (or token:
chat/1 "Staying signed in"), claim a place among the user's sessions in the hub (chat/1
"Several sessions": at the most, refused or taking the oldest one's place), open the period
(first session), snapshot the backlog and the rooms (service/core/handlers/login_rooms.py),
reply, then deliver the backlog and the rooms' catch-up and announce the user (first session).
The user goes offline with its last session.

Handlers decide and delegate: the store persists, the hub reaches other users, the link is
this connection. They never touch a socket. Work that must follow the reply on the wire (the
backlog after a login ok) is queued as a follow-up, which the connection runs once the reply
has been sent.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from datetime import datetime
from functools import partial

from service.core.context import Context, Fields, Link, Services
from service.core.handlers.login_rooms import enter_rooms
from service.core.handlers.private import end_private_on_leave
from service.core.session import EndReason, SessionState
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
from service.credentials.tokens import new_token, token_digest
from service.store import Refusal
from service.wire import events
from service.wire import requests as m
from service.wire.errors import ErrorCode, RequestError
from service.wire.names import login_name_key
from service.wire.timeutil import to_rfc3339

log = logging.getLogger("parley.sessions")  # a line per login, failed login, logout; no secrets


def handle_login(ctx: Context, request: m.Login) -> Fields:
    if ctx.state.logged_in:
        raise RequestError(ErrorCode.ALREADY_LOGGED_IN, "You are already logged in.")
    services, name, policy = ctx.services, request.user, ctx.services.lockout
    users, cost, valid = services.store.users, services.config.argon2, is_valid_username(name)
    # check, verify and count: one step per account, however its name's case is typed
    with services.login_gate.hold(login_name_key(name)):
        now = services.clock()
        credentials = users.login_credentials(name) if valid else None
        if credentials is None:  # answered exactly like a wrong password (chat/1 point 4)
            attempts = users.unknown_name_attempts(name, now)
        else:
            name, attempts = credentials.name, credentials.attempts.current(now)
        known = credentials is not None
        if attempts.is_locked(now):  # with a token too (chat/1 "Staying signed in")
            raise _refused_login(ctx, name, attempts, now, counted=False, known=known,
                                 by_token=request.token is not None)  # fmt: skip
        replace = bool(request.replace)
        if request.token is not None:
            return _token_login(ctx, request.token, name, attempts, now, known, replace)
        password = request.password
        assert password is not None, "a login has a password or a token (wire/requests.py)"
        if credentials is None:  # the time of a wrong password, of some account's cost
            verify_password(None, password, services.decoys.cost_for(name))
            after = users.record_unknown_failure(name, now, policy)
            raise _refused_login(ctx, name, after, now, counted=True, known=False)
        stored = credentials.password_hash
        if not (
            verify_password(stored, password, cost)
            and _still_stored(services, name, stored, password)
        ):
            after = users.record_failed_login(name, now, policy)
            raise _refused_login(ctx, name, after, now, counted=True, known=True)
        # as the account's exact name
        begin = partial(_begin_session, ctx, name, now, credentials.epoch, replace=replace)
        return _remembered(ctx, name, now, begin) if request.remember else begin()


def _token_login(
    ctx: Context, token: str, name: str, attempts: Attempts, now: datetime, known: bool,
    replace: bool,
) -> Fields:  # fmt: skip
    """chat/1 "Staying signed in": a token instead of the password, for a name that is not
    locked. No argon2: a token is no secret a person chose (service/credentials/tokens.py).
    A refusal counts toward the address's limits (the guard charges every failed login) but
    not toward the account's lockout: 256 random bits are not guessed, so counting would
    protect nothing and let anyone lock an account with made-up tokens. An unknown name
    costs the same lookup as a known one."""
    services = ctx.services
    digest, expires = token_digest(token), now + services.config.token_lifetime
    used = services.store.login_tokens.redeem(name, digest, now, expires)
    if used is None or not known:
        raise _refused_login(ctx, name, attempts, now, counted=False, known=known, by_token=True)
    fields = _begin_session(ctx, name, now, used.epoch, replace=replace, by_token=True)
    ctx.state.token_digest = digest  # for `logout` with `forget`
    return {**fields, "token": token, "token_expires": to_rfc3339(used.expires_at)}


def _remembered(ctx: Context, name: str, now: datetime, begin: Callable[[], Fields]) -> Fields:
    """`remember`: `begin` the session with a new token, of which the store keeps only the
    digest. Stored first, so a session never begins with a token that could not be kept; a
    login then refused (`online_elsewhere`) takes it back, as nobody was given it."""
    tokens, token = ctx.services.store.login_tokens, new_token()
    digest, expires = token_digest(token), now + ctx.services.config.token_lifetime
    tokens.issue(name, digest, now, expires)
    try:
        fields = begin()
    except RequestError:
        tokens.revoke(digest)
        raise
    ctx.state.token_digest = digest  # for `logout` with `forget`
    return {**fields, "token": token, "token_expires": to_rfc3339(expires)}


def _refused_login(
    ctx: Context, name: str, attempts: Attempts, now: datetime, *, counted: bool, known: bool,
    by_token: bool = False,
) -> RequestError:  # fmt: skip
    """The reply to a failed login, and its one log line: the name, the client's address and
    the refusal, for an operator watching for guessing. Never the password nor the token.
    `counted`: this attempt was counted (a wrong password), so a lock now is new."""
    refusal = _failure(attempts, now, ctx.services.lockout, by_token)
    if refusal.code is ErrorCode.LOCKED:
        seconds = refusal.extra["retry_after"]
        outcome = f"locked{' now' if counted else ''}, retry after {seconds} s"
    else:
        left = refusal.extra["attempts_left"]
        outcome = f"bad_credentials, {left} attempt{'s' if left != 1 else ''} left"
    if not known:
        outcome += " (no such account)"
    if by_token:
        outcome += " (with a token)"
    shown = name if known else masked_name(name)  # perhaps a password typed as a name
    log.warning("failed login %s from %s: %s", shown, ctx.link.peer, outcome)
    failed_logins = ctx.services.store.failed_logins  # for `chat-admin history --failed`
    failed_logins.note(name, known, ctx.link.peer, outcome, now)
    return refusal


def _failure(
    attempts: Attempts, now: datetime, policy: LockoutPolicy, by_token: bool
) -> RequestError:
    """The refusal's words say what to do: the same for a name without an account as for one
    with (chat/1 precise point 4), a token's own when a token was refused."""
    if attempts.locked_until is not None and attempts.is_locked(now):
        seconds = retry_after_seconds(attempts.locked_until, now)
        return RequestError(
            ErrorCode.LOCKED,
            f"Too many failed attempts: this account is locked. Try again in {seconds} s.",
            retry_after=seconds,
        )
    left = attempts.attempts_left(policy)
    attempts_left = f"{left} attempt{'s' if left != 1 else ''} left"
    if by_token:
        text = (f"Wrong username, or a login token that has expired or was revoked: log in with "
                f"the password ({attempts_left}).")  # fmt: skip
    else:
        text = f"Wrong username or password. {attempts_left}."
    return RequestError(ErrorCode.BAD_CREDENTIALS, text, attempts_left=left)


def _still_stored(services: Services, name: str, stored: str, password: str) -> bool:
    """After the right password: whether its hash is still the account's. A hash with other
    parameters than the server's (older defaults, or the operator changed them) is made anew
    at the server's cost; the rehash is the one place that sees the stored hash again, and
    finds another when `chat-admin passwd` came between: then the password just checked is
    the old one, and is refused as a wrong one is (counted too: it is one, now)."""
    cost = services.config.argon2
    if not (services.config.rehash and needs_rehash(stored, cost)):
        return True
    if not services.store.users.rehash_password(name, stored, hash_password(password, cost)):
        return False
    services.decoys.moved(stored_cost(stored), cost)
    return True


def handle_register(ctx: Context, request: m.Register) -> Fields:
    config, users = ctx.services.config, ctx.services.store.users
    if ctx.state.logged_in:
        raise RequestError(ErrorCode.ALREADY_LOGGED_IN, "You are already logged in.")
    if not config.allow_signup:
        raise RequestError(ErrorCode.SIGNUP_CLOSED, "This server does not allow sign-up.")
    name = request.user
    if (holder := users.name_taken_by(name)) is not None:
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
    if users.create_user(name, password_hash, now) is Refusal.NAME_TAKEN:
        raise _name_taken(name, users.name_taken_by(name) or name)  # taken meanwhile
    ctx.services.decoys.moved(None, config.argon2)
    begin = partial(_begin_session, ctx, name, now, epoch=0)  # a new account's first epoch
    fields = _remembered(ctx, name, now, begin) if request.remember else begin()
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


def _begin_session(
    ctx: Context, name: str, now: datetime, epoch: int, *, replace: bool = False,
    by_token: bool = False,
) -> Fields:  # fmt: skip
    """Online from here: backlog after the reply, then live messages, then presence (for the
    user's first session only: chat/1 "Several sessions"). `epoch`: the account's session
    epoch as read with its password (or token), so a `kick` or `passwd` committed since ends
    it too."""
    hub, store, link = ctx.services.hub, ctx.services.store, ctx.link
    most = ctx.services.config.max_sessions_per_user
    link.delivery.hold()  # live deliveries wait until the backlog is out
    claim = hub.claim(name, link, most=most, replace=replace)
    if claim is None:
        link.delivery.drop_held()
        raise _online_elsewhere(name, most)
    if claim.replaced is not None:  # out of the hub already: its end changes no presence
        claim.replaced.request_end(EndReason.REPLACED)
    try:
        if claim.first:
            period_id, ctx.state.user_id = store.periods.start_period(name, link.peer, now)
            if not hub.set_period(name, period_id):  # left meanwhile (replaced, say)
                store.periods.end_period(period_id, now, EndReason.REPLACED.value)
        else:
            ctx.state.user_id = store.periods.log_in_again(name)
        backlog = store.messages.backlog_snapshot(name)  # after the claim: none falls between
        rooms = enter_rooms(ctx.services, name)  # likewise for the rooms' messages
    except BaseException:
        left = hub.release(name, link)
        if left.last:  # nobody heard `online` from a first login that failed
            _end_user(ctx.services, name, left.period_id, now, "login_failed",
                      announce=not claim.first)  # fmt: skip
        link.delivery.drop_held()  # they are stored, or were for nobody: a failed login
        raise
    ctx.state.user, ctx.state.session_epoch = name, epoch
    how = " with a token" if by_token else ""
    log.info("login %s from %s%s (session %d of %d)", name, link.peer, how, claim.count, most)

    def after_reply() -> None:  # on the worker running the login
        direct = (
            events.message_event(s.msg_id, s.sender, s.text, to_rfc3339(s.sent_at), True)
            for s in store.messages.iter_backlog(name, backlog)
        )
        frames = itertools.chain(direct, rooms.frames(store))  # chat/1: rooms after the DMs
        # False: a slow consumer, ending
        if link.delivery.catch_up(frames, backlog.last_id, rooms.last_seqs) and claim.first:
            _announce(ctx.services, name, "online", now)

    ctx.follow_ups.append(after_reply)
    # `idle_timeout`, an extra field (chat/1 allows them): the client can warn before it.
    idle_timeout = ctx.services.config.idle_timeout_whole_s
    return {
        "user": name, "pending": backlog.count, "rooms": rooms.listing,
        "idle_timeout": idle_timeout, "sessions": claim.count,
    }  # fmt: skip


def _online_elsewhere(name: str, most: int) -> RequestError:
    """At the most sessions a user may have: chat/1's one-login text when that is one."""
    if most == 1:
        return RequestError(ErrorCode.ONLINE_ELSEWHERE, f"{name} is already logged in elsewhere.")
    return RequestError(
        ErrorCode.ONLINE_ELSEWHERE,
        f"{name} is already logged in on {most} sessions, as many as this server allows; "
        "log in with replace to end the oldest.",
    )


# --- the other requests of a session, and its end ----------------------------------------------


def handle_logout(ctx: Context, request: m.Logout) -> Fields:
    """With `forget`: the session's token is revoked first, so a failure to do so is
    answered `internal` and the session stays (chat/1: nothing half-done)."""
    digest = ctx.state.token_digest
    if request.forget and digest is not None:
        ctx.services.store.login_tokens.revoke(digest)
        ctx.state.token_digest = None
        log.info("%s from %s revoked its login token", ctx.user, ctx.link.peer)
    ctx.link.end_after_reply(EndReason.LOGOUT)
    return {}


def handle_ping(ctx: Context, request: m.Ping) -> Fields:
    return {"time": to_rfc3339(ctx.services.clock())}


def handle_active(ctx: Context, request: m.Active) -> Fields:
    """Nothing to do: admitting it counted it as activity (chat/1 precise point 15)."""
    return {}


def leave(services: Services, state: SessionState, link: Link, reason: EndReason) -> None:
    """However a session ends: its private chats end, and with the user's last session the
    user goes offline and its period closes, before the socket closes (chat/1 point 9)."""
    user = state.user
    if user is None:
        return
    left = services.hub.release(user, link)
    end_private_on_leave(services, user, left.endings, reason)
    # At shutdown everyone leaves at once: stop() closes every period in one statement, and
    # presence to users who are all getting `bye shutdown` would cost n^2 events.
    if reason is not EndReason.SHUTDOWN and left.last:
        _end_user(services, user, left.period_id, services.clock(), reason.value)
    log.info("logout %s from %s (%s)", user, link.peer, reason.value)


def _end_user(
    services: Services, user: str, period_id: int | None, now: datetime, why: str,
    *, announce: bool = True,
) -> None:  # fmt: skip
    """The user's last session ended: its active period closes, and others see it go."""
    if period_id is not None:
        services.store.periods.end_period(period_id, now, why)
    if announce:
        _announce(services, user, "offline", now)


def _announce(services: Services, user: str, state: str, at: datetime) -> None:
    """Presence for everyone but `user` and those `user` blocks (chat/1 blocking rule)."""
    event = events.presence(user, state, to_rfc3339(at))
    skip = frozenset(services.store.blocks.blocked_by(user) | {user})
    services.hub.announce(event, skip=skip)
