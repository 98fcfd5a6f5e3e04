"""The operator's view of the database: accounts, lockouts, login history, blocks, imports.

chat-admin's commands call these; the server never does. The queries themselves live in the
store (service/store/operator.py, users.py); each is one short transaction, so it is safe while
chat-server runs (the server reads users, locks and blocks per request and sees every change).
Results are frozen dataclasses with aware UTC datetimes. Refusals an operator should read as
is are AccountError; anything else is a bug or a broken database and propagates.

This module does not render anything, read the terminal, or read the clock: `now` comes in.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from service.credentials.passwords import Attempts, hash_password, is_valid_username
from service.store import BlockEntry as BlockEntry  # the operator's records
from service.store import FailedLoginEntry as FailedLoginEntry
from service.store import Footprint as Footprint
from service.store import Login as Login
from service.store import Refusal, Store
from service.store import UserSummary as UserSummary
from service.wire.names import MIN_PASSWORD_CHARS as MIN_PASSWORD_CHARS  # the floor of register too

T = TypeVar("T")


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


def list_users(store: Store, now: datetime) -> list[UserSummary]:
    """Every account with its lockout state as the server would judge it at `now`."""
    return store.operator.list_users(now)


def add_user(store: Store, name: str, password: str, now: datetime) -> None:
    """Create an account that can log in at once; the password is stored only as argon2id."""
    problem = new_name_problem(store, name) or password_problem(password)
    if problem is not None:
        raise AccountError(problem)
    password_hash = hash_password(password)  # ~50 ms: outside any transaction
    if store.users.create_user(name, password_hash, now) is Refusal.NAME_TAKEN:  # taken meanwhile
        raise AccountError(name_taken_problem(name, store.users.name_taken_by(name) or name))


def new_name_problem(store: Store, name: str) -> str | None:
    """Why `name` cannot be a new account (its form, or an account of that name ignoring
    case), or None when it can: what to check before asking for a password."""
    problem = username_problem(name)
    if problem is None and (holder := store.users.name_taken_by(name)) is not None:
        problem = name_taken_problem(name, holder)
    return problem


def name_taken_problem(name: str, holder: str) -> str:
    """Why `name` cannot be a new account while `holder` exists (equal, or equal ignoring case:
    chat/1 precise point 14, so that `Alice` cannot pose as `alice`)."""
    if holder == name:
        return f"there is already a user {name}"
    return (
        f"there is already a user {holder}, and names must differ by more than case "
        f"(so that {name} cannot pose as {holder})"
    )


def set_password(store: Store, name: str, password: str) -> bool:
    """New password; also clears the failure counter and any lockout, and ends the user's
    open sessions (`bye kicked`: whoever is logged in with the old password is out). Whether
    the user was online.

    An operator resets a password so that its owner can log in now: a lock earned by
    guesses at the old password protects nothing once that password is gone.
    """
    problem = password_problem(password)
    if problem is not None:
        raise AccountError(problem)
    if not store.operator.set_password_hash(name, hash_password(password)):
        raise _no_such_user(name)
    return footprint(store, name).online


def kick(store: Store, name: str) -> bool:
    """End every session of the user (`bye kicked`, within seconds, by the server's watch);
    whether it was online. Also when it is not: a session that was logging in meanwhile
    ends too."""
    return _found(store.operator.end_sessions(name), name)


def unlock(store: Store, name: str, now: datetime) -> Attempts:
    """Clear the lockout and the failure counter; returns the state it had at `now`."""
    return _found(store.operator.unlock(name, now), name)


def footprint(store: Store, name: str) -> Footprint:
    """What `delete_user` would remove, for the operator's confirmation."""
    return _found(store.operator.footprint(name), name)


def delete_user(store: Store, name: str) -> Footprint:
    """Delete the account with its incoming stored messages, blocks both ways, nonces and
    login history. Messages it sent stay: they keep the sender by name."""
    return _found(store.operator.delete_user(name), name)


def login_history(store: Store, *, since: datetime | None, user: str | None) -> list[Login]:
    """Sessions that were open at some moment since `since` (all when None), oldest first.

    A session that began before `since` but was still open after it counts: the operator
    asks "who was on since then", the question chat/1 `whoelsesince` answers for users.
    """
    return _found(store.operator.login_history(since=since, user=user), user or "")


def failed_logins(
    store: Store, *, since: datetime | None, user: str | None
) -> list[FailedLoginEntry]:
    """Failed logins since `since` (all kept when None), of account `user` only when given,
    oldest first. A name without an account is kept masked, so it cannot be asked for."""
    if user is not None and not store.users.user_exists(user):
        raise _no_such_user(user)
    return store.failed_logins.entries(since=since, user=user)


def list_blocks(store: Store, name: str | None = None) -> list[BlockEntry]:
    """All blocks, or those by or of `name`; sorted by blocker, then blocked."""
    return _found(store.operator.list_blocks(name), name or "")


def _found(value: T | None, name: str) -> T:
    if value is None:
        raise _no_such_user(name)
    return value


def _no_such_user(name: str) -> AccountError:
    return AccountError(f"there is no user {name}")


# --- importing a credentials.txt of a chat server written before Parley ------------------


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
    """`username password` per line, as chat servers written before Parley kept their
    accounts (passwords in clear), checked line by line.

    Blank lines and lines starting with `#` are skipped (no username can start with `#`).
    A line with other than two whitespace-separated fields is rejected: those servers
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
        reason = f"expected 2 fields (a username and a password), found {len(fields)}"
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

    Existing names are checked before hashing, so a re-run costs no argon2 time for them. A
    name that equals an existing one only ignoring case is rejected, not skipped: it is
    another person's name (chat/1 precise point 14).
    """
    results: list[ImportResult] = []
    for line in lines:
        if isinstance(line, RejectedLine):
            results.append(ImportResult(line.line_no, line.name, Outcome.REJECTED, line.reason))
        elif (holder := store.users.name_taken_by(line.name)) == line.name:
            results.append(ImportResult(line.line_no, line.name, Outcome.SKIPPED))
        elif holder is not None:
            reason = name_taken_problem(line.name, holder)
            results.append(ImportResult(line.line_no, line.name, Outcome.REJECTED, reason))
        else:
            results.append(_import_one(store, line, now, hasher))
    return results


def _import_one(
    store: Store, line: CredentialLine, now: datetime, hasher: Callable[[str], str]
) -> ImportResult:
    if store.users.create_user(line.name, hasher(line.password), now) is Refusal.NAME_TAKEN:
        # created meanwhile, by the server's `register` or another admin
        return ImportResult(line.line_no, line.name, Outcome.SKIPPED)
    return ImportResult(line.line_no, line.name, Outcome.ADDED)
