"""The operator's view of the database: accounts, lockouts, login history, blocks, imports.

chat-admin's commands call these; the server never does. Each function is one short
transaction through Store.read / Store.write, so it is safe while chat-server runs (the server
reads users, locks and blocks from the database per request and sees every change at once).
Results are frozen dataclasses with aware UTC datetimes. Refusals an operator should read as
is are AccountError; anything else is a bug or a broken database and propagates.

This module does not render anything, read the terminal, or read the clock: `now` comes in.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, func, or_, select
from sqlalchemy.orm import Session, aliased

from service.auth import Attempts, hash_password, is_valid_username
from service.config import ServerConfig
from service.errors import RequestError
from service.models import ActivePeriod, Block, Message, User
from service.store import Store
from service.timeutil import as_utc

# The same floor as chat/1 `register` (weak_password), so every account meets one rule.
MIN_PASSWORD_CHARS = ServerConfig().min_password_chars


class AccountError(Exception):
    """A refusal with a sentence meant for the operator as is (no such user, name taken...)."""


# --- rules --------------------------------------------------------------------------------


def username_problem(name: str) -> str | None:
    """Why `name` cannot be a chat/1 username, or None when it can."""
    if is_valid_username(name):
        return None
    return (
        f"{name!r} is not a valid username: use 1 to 32 letters, digits, '_', '.' or '-' "
        "(case-sensitive)"
    )


def password_problem(password: str) -> str | None:
    """Why `password` is refused, or None. Never repeats the password itself."""
    if not password:
        return "the password is empty"
    if len(password) < MIN_PASSWORD_CHARS:
        return f"the password is shorter than {MIN_PASSWORD_CHARS} characters"
    return None


# --- users --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UserSummary:
    name: str
    created_at: datetime
    last_login: datetime | None  # None: never logged in
    failed_attempts: int  # consecutive wrong passwords that still count now
    locked_until: datetime | None  # None unless locked at `now`
    pending_messages: int  # stored direct messages not yet acknowledged


def list_users(store: Store, now: datetime) -> list[UserSummary]:
    """Every account with its lockout state as the server would judge it at `now`."""

    def query(s: Session) -> list[UserSummary]:
        last = (
            select(ActivePeriod.user_id, func.max(ActivePeriod.login_at).label("at"))
            .group_by(ActivePeriod.user_id)
            .subquery()
        )
        pending = (
            select(Message.recipient_id, func.count().label("n"))
            .group_by(Message.recipient_id)
            .subquery()
        )
        rows = s.execute(
            select(User, last.c.at, pending.c.n)
            .outerjoin(last, last.c.user_id == User.id)
            .outerjoin(pending, pending.c.recipient_id == User.id)
        )
        return [_summary(user, at, n, now) for user, at, n in rows]

    users = store.read(query)
    return sorted(users, key=lambda u: (u.name.casefold(), u.name))


def _summary(user: User, last: datetime | None, pending: int | None, now: datetime) -> UserSummary:
    # An expired lock counts from zero (chat/1 precise point 4): show what the server would do.
    attempts = _attempts(user).current(now)
    return UserSummary(
        name=user.name,
        created_at=as_utc(user.created_at),
        last_login=None if last is None else as_utc(last),
        failed_attempts=attempts.failures,
        locked_until=attempts.locked_until if attempts.is_locked(now) else None,
        pending_messages=pending or 0,
    )


def _attempts(user: User) -> Attempts:
    locked = None if user.locked_until is None else as_utc(user.locked_until)
    return Attempts(user.failed_attempts, locked)


def add_user(store: Store, name: str, password: str, now: datetime) -> None:
    """Create an account that can log in at once; the password is stored only as argon2id."""
    problem = username_problem(name) or password_problem(password)
    if problem is not None:
        raise AccountError(problem)
    password_hash = hash_password(password)  # ~50 ms: outside any transaction
    try:
        store.create_user(name, password_hash, now)
    except RequestError:
        raise AccountError(f"there is already a user {name}") from None


def set_password(store: Store, name: str, password: str) -> None:
    """New password; also clears the failure counter and any lockout.

    An operator resets a password so that its owner can log in now: a lock earned by
    guesses at the old password protects nothing once that password is gone.
    """
    problem = password_problem(password)
    if problem is not None:
        raise AccountError(problem)
    password_hash = hash_password(password)

    def job(s: Session) -> None:
        user = _user(s, name)
        user.password_hash = password_hash
        user.failed_attempts = 0
        user.locked_until = None

    store.write(job)


def unlock(store: Store, name: str, now: datetime) -> Attempts:
    """Clear the lockout and the failure counter; returns the state it had at `now`."""

    def job(s: Session) -> Attempts:
        user = _user(s, name)
        before = _attempts(user).current(now)
        user.failed_attempts = 0
        user.locked_until = None
        return before

    return store.write(job)


@dataclass(frozen=True, slots=True)
class Footprint:
    """What deleting a user takes with it (messages they sent to others stay stored)."""

    name: str
    pending_messages: int  # stored messages *to* this user
    blocks: int  # blocks by or of this user
    login_periods: int  # their login history
    online: bool  # an active period is still open


def footprint(store: Store, name: str) -> Footprint:
    """What `delete_user` would remove, for the operator's confirmation."""
    return store.read(lambda s: _footprint(s, _user(s, name)))


def delete_user(store: Store, name: str) -> Footprint:
    """Delete the account with its incoming stored messages, blocks both ways, nonces and
    login history (ON DELETE CASCADE). Messages it sent stay: they keep the sender by name.
    """

    def job(s: Session) -> Footprint:
        user = _user(s, name)
        gone = _footprint(s, user)
        s.execute(delete(User).where(User.id == user.id))
        return gone

    return store.write(job)


def _footprint(s: Session, user: User) -> Footprint:
    def count(*where: ColumnElement[bool]) -> int:
        return s.scalar(select(func.count()).where(*where)) or 0

    open_periods = count(ActivePeriod.user_id == user.id, ActivePeriod.logout_at.is_(None))
    return Footprint(
        name=user.name,
        pending_messages=count(Message.recipient_id == user.id),
        blocks=count(or_(Block.blocker_id == user.id, Block.blocked_id == user.id)),
        login_periods=count(ActivePeriod.user_id == user.id),
        online=open_periods > 0,
    )


def _user(s: Session, name: str) -> User:
    user = s.scalars(select(User).where(User.name == name)).one_or_none()
    if user is None:
        raise AccountError(f"there is no user {name}")
    return user


# --- login history and blocks -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Login:
    """One active period: a session from login to logout (None while it is open)."""

    user: str
    login_at: datetime
    logout_at: datetime | None
    peer: str  # "host:port" the server saw

    def duration(self, now: datetime) -> timedelta:
        """How long the session lasted, or has lasted so far when it is still open."""
        return (self.logout_at or now) - self.login_at


def login_history(store: Store, *, since: datetime | None, user: str | None) -> list[Login]:
    """Sessions that were open at some moment since `since` (all when None), oldest first.

    A session that began before `since` but was still open after it counts: the operator
    asks "who was on since then", the question chat/1 `whoelsesince` answers for users.
    """

    def query(s: Session) -> list[Login]:
        statement = select(User.name, ActivePeriod).join(User, ActivePeriod.user_id == User.id)
        if user is not None:
            _user(s, user)
            statement = statement.where(User.name == user)
        if since is not None:
            naive = as_utc(since).replace(tzinfo=None)
            statement = statement.where(
                or_(ActivePeriod.logout_at.is_(None), ActivePeriod.logout_at >= naive)
            )
        rows = s.execute(statement.order_by(ActivePeriod.login_at, ActivePeriod.id))
        return [_login(name, period) for name, period in rows]

    return store.read(query)


def _login(name: str, period: ActivePeriod) -> Login:
    logout = None if period.logout_at is None else as_utc(period.logout_at)
    return Login(name, as_utc(period.login_at), logout, period.peer)


@dataclass(frozen=True, slots=True)
class BlockEntry:
    blocker: str  # blocks `blocked`: blocked's messages to blocker are refused
    blocked: str
    since: datetime


def list_blocks(store: Store, name: str | None = None) -> list[BlockEntry]:
    """All blocks, or those by or of `name`; sorted by blocker, then blocked."""
    blocker = aliased(User)
    blocked = aliased(User)

    def query(s: Session) -> list[BlockEntry]:
        statement = (
            select(blocker.name, blocked.name, Block.created_at)
            .join(blocker, Block.blocker_id == blocker.id)
            .join(blocked, Block.blocked_id == blocked.id)
        )
        if name is not None:
            _user(s, name)
            statement = statement.where(or_(blocker.name == name, blocked.name == name))
        rows = s.execute(statement.order_by(blocker.name, blocked.name))
        return [BlockEntry(a, b, as_utc(at)) for a, b, at in rows]

    return store.read(query)


# --- importing the original assignment's credentials.txt ----------------------------------


@dataclass(frozen=True, slots=True)
class CredentialLine:
    line_no: int
    name: str
    password: str = field(repr=False)  # never in a repr, a log or a report


@dataclass(frozen=True, slots=True)
class RejectedLine:
    line_no: int
    name: str | None  # a valid username, else None: the rest of a line may be a password
    reason: str


ParsedLine = CredentialLine | RejectedLine


def parse_credentials(text: str) -> list[ParsedLine]:
    """`username password` per line, the original assignment's format, checked line by line.

    Blank lines and lines starting with `#` are skipped (no username can start with `#`).
    A line with other than two whitespace-separated fields is rejected: the original servers
    split on spaces, so no password there can contain one.
    """
    parsed: list[ParsedLine] = []
    for line_no, line in enumerate(text.splitlines(), start=1):
        fields = line.split()
        if not fields or fields[0].startswith("#"):
            continue
        parsed.append(_parse_line(line_no, fields))
    return parsed


def _parse_line(line_no: int, fields: Sequence[str]) -> ParsedLine:
    # A lone field may be a password, so only a first field of several is taken for a name.
    name = fields[0] if len(fields) > 1 and is_valid_username(fields[0]) else None
    if len(fields) != 2:
        reason = f"expected 2 fields (`username password`), found {len(fields)}"
        return RejectedLine(line_no, name, reason)
    if name is None:
        reason = "not a valid username (1 to 32 letters, digits, '_', '.' or '-')"
        return RejectedLine(line_no, None, reason)
    problem = password_problem(fields[1])
    if problem is not None:
        return RejectedLine(line_no, name, problem)
    return CredentialLine(line_no, name, fields[1])


class Outcome(enum.Enum):
    ADDED = "added"  # a new account
    SKIPPED = "skipped"  # the name exists already (in the database or earlier in the file)
    REJECTED = "rejected"  # the line breaks a rule; see the reason


@dataclass(frozen=True, slots=True)
class ImportResult:
    line_no: int
    name: str | None
    outcome: Outcome
    reason: str | None = None


def import_credentials(
    store: Store,
    lines: Sequence[ParsedLine],
    now: datetime,
    hasher: Callable[[str], str] = hash_password,
) -> list[ImportResult]:
    """Add each valid line's user unless the name exists; one transaction per user.

    Existing names are checked before hashing, so a re-run costs no argon2 time for them.
    """
    results: list[ImportResult] = []
    for line in lines:
        if isinstance(line, RejectedLine):
            results.append(ImportResult(line.line_no, line.name, Outcome.REJECTED, line.reason))
        elif store.user_exists(line.name):
            results.append(ImportResult(line.line_no, line.name, Outcome.SKIPPED))
        else:
            results.append(_import_one(store, line, now, hasher))
    return results


def _import_one(
    store: Store, line: CredentialLine, now: datetime, hasher: Callable[[str], str]
) -> ImportResult:
    try:
        store.create_user(line.name, hasher(line.password), now)
    except RequestError:  # created meanwhile, by the server's `register` or another admin
        return ImportResult(line.line_no, line.name, Outcome.SKIPPED)
    return ImportResult(line.line_no, line.name, Outcome.ADDED)
