"""Accounts: finding one (as a login does, ignoring case), creating one, its password hash, and
the lockout count of wrong passwords, for accounts and for names without one alike.

A repository of the store: see service/store/base.py for what every call promises. The lockout
rule itself (how many failures, how long a lock) is service/credentials/passwords.py's; here
only its state is kept.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, delete, exists, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.credentials.hash_cost import HashCost
from service.credentials.passwords import Attempts, LockoutPolicy, stored_cost
from service.store.base import Database, attempts_of, maybe_naive_utc, naive_utc
from service.store.batch_reads import chunks
from service.store.models import UnknownNameFailure, User
from service.store.outcomes import Refusal
from service.wire.names import login_name_key, username_key

UNKNOWN_NAMES_KEPT = 10_000  # rows of unknown-name counts; the oldest go first

_ACCOUNT_BY_ID = select(User.id).where(User.id == bindparam("id"))


@dataclass(frozen=True, slots=True)
class Credentials:
    name: str
    password_hash: str
    attempts: Attempts
    epoch: int  # the session epoch: `kick` and `passwd` move it (service/core/account_watch.py)


class Users:
    def __init__(self, db: Database) -> None:
        self._db = db

    # --- finding an account ---------------------------------------------------------------

    def credentials(self, name: str) -> Credentials | None:
        """The account named exactly `name`."""
        return self._db.read(lambda s: _credentials(find_user(s, name)))

    def login_credentials(self, name: str) -> Credentials | None:
        """The account a `login` as `name` is for: the one whose name equals `name` ignoring
        case (at most one: precise point 14), so `Erin` logs in to `erin`, and its wrong
        passwords count toward that account's lockout. Credentials.name is the exact name."""
        by_key = select(User).where(func.lower(User.name) == username_key(name))
        return self._db.read(lambda s: _credentials(s.scalar(by_key)))

    def user_exists(self, name: str) -> bool:
        return self._db.read(lambda s: s.scalar(select(exists().where(User.name == name))) or False)

    def account_exists(self, user_id: int) -> bool:
        """Whether the account a session logged in to is still there (an operator may delete
        it meanwhile; one made anew under the same name has another id)."""
        return self._db.read(lambda s: s.scalar(_ACCOUNT_BY_ID, {"id": user_id}) is not None)

    def account_marks(self, names: Sequence[str]) -> dict[str, tuple[int, int]]:
        """name -> (id, session epoch) of those of `names` that name an account now (the
        server's watch asks about the online users: service/core/account_watch.py). One
        unique-index read per 1,024 names."""

        def query(s: Session) -> dict[str, tuple[int, int]]:
            statement = select(User.name, User.id, User.session_epoch).where(
                User.name.in_(bindparam("names", expanding=True))
            )
            rows = (row for part in chunks(names) for row in s.execute(statement, {"names": part}))
            return {name: (uid, epoch) for name, uid, epoch in rows}

        return self._db.read(query)

    def name_taken_by(self, name: str) -> str | None:
        """The account whose name equals `name` ignoring case, if any (chat/1 precise point
        14: a new account may not have it). Login finds its account so: login_credentials()."""
        return self._db.read(lambda s: _holder_of(s, name))

    # --- creating one, and its password -----------------------------------------------------

    def create_user(self, name: str, password_hash: str, now: datetime) -> Refusal | None:
        """A new account; Refusal.NAME_TAKEN when a name equal ignoring case exists."""

        def job(s: Session) -> Refusal | None:
            if _holder_of(s, name) is not None:
                return Refusal.NAME_TAKEN
            try:
                with s.begin_nested():  # the unique index decides a race with another writer
                    s.add(User(name=name, password_hash=password_hash, created_at=naive_utc(now)))
            except IntegrityError:
                return Refusal.NAME_TAKEN
            return None

        return self._db.write(job)

    def rehash_password(self, name: str, old_hash: str, new_hash: str) -> bool:
        """The same password hashed at the server's current cost. False, and nothing changed,
        when the stored hash is no longer `old_hash` (an operator set a new password)."""

        def job(s: Session) -> bool:
            result = s.execute(
                update(User)
                .where(User.name == name, User.password_hash == old_hash)
                .values(password_hash=new_hash)
            )
            return int(result.rowcount) == 1  # type: ignore[attr-defined]

        return self._db.write(job)

    def hash_costs(self) -> Counter[HashCost]:
        """How many accounts' hashes were made at each cost (service/credentials/decoy_cost.py);
        read once at start, a row at a time."""

        def query(s: Session) -> Counter[HashCost]:
            hashes = s.scalars(select(User.password_hash).execution_options(yield_per=1_000))
            return Counter(cost for h in hashes if (cost := stored_cost(h)) is not None)

        return self._db.read(query)

    # --- wrong passwords: an account's, and a name's without one (chat/1 precise point 4) -----

    def record_failed_login(self, name: str, now: datetime, policy: LockoutPolicy) -> Attempts:
        """Count one wrong password atomically; returns the new state (locked or not). A
        successful login starts the count again (Periods.start_period)."""

        def job(s: Session) -> Attempts:
            user = s.scalars(select(User).where(User.name == name)).one()
            after = attempts_of(user.failed_attempts, user.locked_until).after_failure(now, policy)
            user.failed_attempts = after.failures
            user.locked_until = maybe_naive_utc(after.locked_until)
            return after

        return self._db.write(job)

    def unknown_name_attempts(self, name: str, now: datetime) -> Attempts:
        """A name without an account: its lockout state at `now`, counted like an account's."""
        row = self._db.read(lambda s: s.get(UnknownNameFailure, name_digest(name)))
        if row is None:
            return Attempts()
        return attempts_of(row.failures, row.locked_until).current(now)

    def record_unknown_failure(self, name: str, now: datetime, policy: LockoutPolicy) -> Attempts:
        """Count a failure for a name that has no account, as record_failed_login does."""
        digest = name_digest(name)

        def job(s: Session) -> Attempts:
            row = s.get(UnknownNameFailure, digest)
            if row is None:
                row = UnknownNameFailure(name_digest=digest, failures=0, locked_until=None)
                s.add(row)
            after = attempts_of(row.failures, row.locked_until).after_failure(now, policy)
            row.failures = after.failures
            row.locked_until = maybe_naive_utc(after.locked_until)
            row.updated_at = naive_utc(now)
            return after

        return self._db.write(job)

    def evict_unknown_names(self, keep: int = UNKNOWN_NAMES_KEPT) -> int:
        """Bound the table: keep the `keep` most recently failed names."""

        def job(s: Session) -> int:
            newest = (
                select(UnknownNameFailure.name_digest)
                .order_by(UnknownNameFailure.updated_at.desc())
                .limit(keep)
            )
            result = s.execute(
                delete(UnknownNameFailure).where(UnknownNameFailure.name_digest.not_in(newest))
            )
            return int(result.rowcount)  # type: ignore[attr-defined]

        return self._db.write(job)


# --- the rows of users, for the other repositories of the store ------------------------------


def find_user(s: Session, name: str) -> User | None:
    return s.scalars(select(User).where(User.name == name)).one_or_none()


def user_id(s: Session, name: str) -> int | None:
    return s.scalar(select(User.id).where(User.name == name))


def reset_failures(user: User) -> None:
    """A login, a new password or an operator's unlock: the count starts again from zero."""
    user.failed_attempts = 0
    user.locked_until = None


def _credentials(user: User | None) -> Credentials | None:
    if user is None:
        return None
    attempts = attempts_of(user.failed_attempts, user.locked_until)
    return Credentials(user.name, user.password_hash, attempts, user.session_epoch)


def _holder_of(s: Session, name: str) -> str | None:
    """The name of the account `name` equals ignoring case (found by the lower(name) index)."""
    return s.scalar(select(User.name).where(func.lower(User.name) == username_key(name)))


def name_digest(name: str) -> str:
    """Fixed-size key for any name the peer sent (it may be up to a frame long). A valid
    name is keyed by its username_key, as an account is found (precise point 14): `Gost` and
    `GOST` count on one row, or a name without an account would answer otherwise than one
    with (chat/1 precise point 4)."""
    key = login_name_key(name)
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
