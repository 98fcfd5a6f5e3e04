"""The operator's queries (chat-admin): accounts, lockouts, login history, blocks, deletion.

A repository of the store: see service/store/base.py for what every call promises. The rules
an operator must follow (names, passwords, imports) stay in service/admin/accounts.py, which
calls these. A user that does not exist comes back as None, never as an exception, so the
caller words the refusal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, func, or_, select
from sqlalchemy.orm import Session, aliased

from service.credentials.passwords import Attempts
from service.store.base import Database, attempts_of
from service.store.login_tokens import revoke_all
from service.store.models import ActivePeriod, BacklogEntry, Block, User
from service.store.periods import open_since
from service.store.users import find_user, reset_failures
from service.wire.timeutil import as_utc


@dataclass(frozen=True, slots=True)
class UserSummary:
    name: str
    created_at: datetime
    last_login: datetime | None  # None: never logged in
    failed_attempts: int  # consecutive wrong passwords that still count now
    locked_until: datetime | None  # None unless locked at `now`
    pending_messages: int  # stored direct messages not yet acknowledged


@dataclass(frozen=True, slots=True)
class Footprint:
    """What deleting a user takes with it. Direct messages to and from them stay in the
    other users' records under their name; those not yet delivered to them never will be."""

    name: str
    pending_messages: int  # unacknowledged messages *to* this user: never delivered now
    blocks: int  # blocks by or of this user
    login_periods: int  # their login history
    online: bool  # an active period is still open


@dataclass(frozen=True, slots=True)
class Login:
    """One active period: a session from login to logout (None while it is open)."""

    user: str
    login_at: datetime
    logout_at: datetime | None
    peer: str  # "host:port" the server saw
    # Why it ended (`logout`, `timeout`, `server_restart`...); None while it is open, and for
    # sessions recorded before the reason was (schema revision 0003).
    end_reason: str | None = None

    def duration(self, now: datetime) -> timedelta:
        """How long the session lasted, or has lasted so far when it is still open."""
        return (self.logout_at or now) - self.login_at


@dataclass(frozen=True, slots=True)
class BlockEntry:
    blocker: str  # blocks `blocked`: blocked's messages to blocker are refused
    blocked: str
    since: datetime


class Operator:
    def __init__(self, db: Database) -> None:
        self._db = db

    def list_users(self, now: datetime) -> list[UserSummary]:
        """Every account with its lockout state as the server would judge it at `now`."""

        def query(s: Session) -> list[UserSummary]:
            last = (
                select(ActivePeriod.user_id, func.max(ActivePeriod.login_at).label("at"))
                .group_by(ActivePeriod.user_id)
                .subquery()
            )
            pending = (
                select(BacklogEntry.recipient_id, func.count().label("n"))
                .group_by(BacklogEntry.recipient_id)
                .subquery()
            )
            rows = s.execute(
                select(User, last.c.at, pending.c.n)
                .outerjoin(last, last.c.user_id == User.id)
                .outerjoin(pending, pending.c.recipient_id == User.id)
            )
            return [_summary(user, at, n, now) for user, at, n in rows]

        return sorted(self._db.read(query), key=lambda u: (u.name.casefold(), u.name))

    def set_password_hash(self, name: str, password_hash: str) -> bool:
        """New password; also clears the failure count and any lockout, ends the user's
        open sessions (the epoch moves: `bye kicked`) and revokes its login tokens. False: no
        such user."""

        def job(s: Session) -> bool:
            user = find_user(s, name)
            if user is None:
                return False
            user.password_hash = password_hash
            reset_failures(user)
            user.session_epoch += 1
            revoke_all(s, user.id)  # a remembered login is no way around the new password
            return True

        return self._db.write(job)

    def end_sessions(self, name: str) -> bool | None:
        """`kick`: move the user's session epoch, so the server ends every session of it that
        logged in before (service/core/account_watch.py), and revoke its login tokens. Whether
        it was online (an active period is open); None when there is no such user."""

        def job(s: Session) -> bool | None:
            user = find_user(s, name)
            if user is None:
                return None
            user.session_epoch += 1
            revoke_all(s, user.id)  # or the client would log in again with its token
            return _is_online(s, user.id)

        return self._db.write(job)

    def unlock(self, name: str, now: datetime) -> Attempts | None:
        """Clear the lockout and the failure count; returns the state it had at `now`, or
        None when there is no such user."""

        def job(s: Session) -> Attempts | None:
            user = find_user(s, name)
            if user is None:
                return None
            before = attempts_of(user.failed_attempts, user.locked_until).current(now)
            reset_failures(user)
            return before

        return self._db.write(job)

    def footprint(self, name: str) -> Footprint | None:
        """What `delete_user` would remove, for the operator's confirmation."""
        return self._db.read(lambda s: _footprint(s, name))

    def delete_user(self, name: str) -> Footprint | None:
        """Delete the account with its blocks both ways, nonces, conversations summary, login
        tokens and login history (ON DELETE CASCADE). Its direct messages both ways stay in
        the other users' records under its name (ON DELETE SET NULL on the ids); those it never
        saw keep their `backlog` rows with no recipient: never delivered, never purged.

        The SET NULL of `recipient_id` has no index to find its rows by (the record keeps one
        conversation index, (sender_id, recipient_id, id), to keep each message cheap: see
        `Message` in service/store/models.py), so SQLite scans `messages` here. Acceptable for
        a rare operator command; the hot path (store, ack) never pays for it."""

        def job(s: Session) -> Footprint | None:
            gone = _footprint(s, name)
            if gone is not None:
                s.execute(delete(User).where(User.name == name))
            return gone

        return self._db.write(job)

    def login_history(self, *, since: datetime | None, user: str | None) -> list[Login] | None:
        """Sessions open at some moment since `since` (all when None), oldest first; None when
        `user` is given and does not exist."""

        def query(s: Session) -> list[Login] | None:
            statement = select(User.name, ActivePeriod).join(User, ActivePeriod.user_id == User.id)
            if user is not None:
                if find_user(s, user) is None:
                    return None
                statement = statement.where(User.name == user)
            if since is not None:
                statement = statement.where(open_since(since))
            rows = s.execute(statement.order_by(ActivePeriod.login_at, ActivePeriod.id))
            return [_login(name, period) for name, period in rows]

        return self._db.read(query)

    def list_blocks(self, name: str | None = None) -> list[BlockEntry] | None:
        """All blocks, or those by or of `name` (None if no such user); by blocker, blocked."""
        blocker, blocked = aliased(User), aliased(User)

        def query(s: Session) -> list[BlockEntry] | None:
            statement = (
                select(blocker.name, blocked.name, Block.created_at)
                .join(blocker, Block.blocker_id == blocker.id)
                .join(blocked, Block.blocked_id == blocked.id)
            )
            if name is not None:
                if find_user(s, name) is None:
                    return None
                statement = statement.where(or_(blocker.name == name, blocked.name == name))
            rows = s.execute(statement.order_by(blocker.name, blocked.name))
            return [BlockEntry(a, b, as_utc(at)) for a, b, at in rows]

        return self._db.read(query)


def _summary(user: User, last: datetime | None, pending: int | None, now: datetime) -> UserSummary:
    # An expired lock counts from zero (chat/1 precise point 4): show what the server would do.
    attempts = attempts_of(user.failed_attempts, user.locked_until).current(now)
    return UserSummary(
        name=user.name,
        created_at=as_utc(user.created_at),
        last_login=None if last is None else as_utc(last),
        failed_attempts=attempts.failures,
        locked_until=attempts.locked_until if attempts.is_locked(now) else None,
        pending_messages=pending or 0,
    )


def _footprint(s: Session, name: str) -> Footprint | None:
    user = find_user(s, name)
    if user is None:
        return None

    def count(*where: ColumnElement[bool]) -> int:
        return s.scalar(select(func.count()).where(*where)) or 0

    return Footprint(
        name=user.name,
        pending_messages=count(BacklogEntry.recipient_id == user.id),
        blocks=count(or_(Block.blocker_id == user.id, Block.blocked_id == user.id)),
        login_periods=count(ActivePeriod.user_id == user.id),
        online=_is_online(s, user.id),
    )


def _is_online(s: Session, user_id: int) -> bool:
    """An active period of the user is open: the server counts it online (or crashed, and
    closes it at its next start)."""
    where = (ActivePeriod.user_id == user_id, ActivePeriod.logout_at.is_(None))
    return (s.scalar(select(func.count()).where(*where)) or 0) > 0


def _login(name: str, period: ActivePeriod) -> Login:
    logout = None if period.logout_at is None else as_utc(period.logout_at)
    return Login(name, as_utc(period.login_at), logout, period.peer, period.end_reason)
