"""Passwords and lockout: argon2id hashing, and the lockout rule as pure functions of time.

Hashing takes a HashCost (service/credentials/hash_cost.py): the server's comes from its options,
and a stored hash made with another cost is made anew at the owner's next login (`needs_rehash`).

The lockout functions take `now` and return new state; the store applies them inside one
write transaction, so two racing wrong passwords are always counted twice.
"""

from __future__ import annotations

import functools
import math
import os
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher, extract_parameters
from argon2.exceptions import InvalidHashError, VerificationError

from service.credentials.hash_cost import DEFAULT_COST, HashCost
from service.wire.names import is_valid_username as is_valid_username  # re-exported for callers

# A login storm must neither multiply that memory by the number of connections nor take every
# core from the users already online: hashes queue for all cores but one (each is tens of ms).
_hashing_slots = threading.BoundedSemaphore(max(1, (os.cpu_count() or 2) - 1))
# Logins from addresses that failed lately hash apart (service/limits/auth_pool.py): in one slot of
# their own, at a lower CPU priority, so they never hold a slot another login waits for.
_suspect_slots = threading.BoundedSemaphore(1)
SUSPECT_NICENESS = 10  # Linux: such a thread gets about a tenth of a contended core
_lane = threading.local()  # .slots: where the calling thread hashes


def hash_as_suspect() -> None:
    """From now on the calling thread hashes in the suspects' slot, at a lower priority
    (a thread may lower its own priority, never raise it back: a thread for this alone)."""
    _lane.slots = _suspect_slots
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), SUSPECT_NICENESS)
    except (AttributeError, OSError):
        pass  # not Linux (or not allowed): the slot of its own is what matters most


def _slots() -> threading.BoundedSemaphore:
    slots: threading.BoundedSemaphore = getattr(_lane, "slots", _hashing_slots)
    return slots


@functools.cache
def _hasher(cost: HashCost) -> PasswordHasher:
    return PasswordHasher(
        time_cost=cost.time_cost, memory_cost=cost.memory_kib, parallelism=cost.parallelism
    )


@functools.cache
def _decoy_hash(cost: HashCost) -> str:
    """Verified when the user does not exist, so an unknown name costs what a wrong password
    at the server's cost costs. Made on first use, not at import (a hash takes megabytes and
    tens of ms)."""
    return _hasher(cost).hash("parley decoy password, never a real one")


def hash_password(password: str, cost: HashCost = DEFAULT_COST) -> str:
    with _slots():
        return _hasher(cost).hash(password)


def verify_password(
    password_hash: str | None, password: str, cost: HashCost = DEFAULT_COST
) -> bool:
    """True only for the right password; `None` (no such user) is checked against a decoy made
    at `cost`. A stored hash is verified with the parameters it carries, whatever `cost`."""
    try:
        with _slots():
            matches = _hasher(cost).verify(password_hash or _decoy_hash(cost), password)
    except (VerificationError, InvalidHashError):
        return False
    return matches and password_hash is not None


def needs_rehash(password_hash: str, cost: HashCost) -> bool:
    """Whether a stored hash was made with other parameters than `cost` (older defaults, or
    the operator changed them): then the next successful login stores a new one."""
    try:
        return _hasher(cost).check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


def stored_cost(password_hash: str) -> HashCost | None:
    """The cost a stored hash was made with; None for what is no argon2 hash."""
    try:
        parameters = extract_parameters(password_hash)
    except InvalidHashError:
        return None
    return HashCost(parameters.memory_cost, parameters.time_cost, parameters.parallelism)


@dataclass(frozen=True, slots=True)
class LockoutPolicy:
    max_attempts: int  # consecutive wrong passwords that lock the account
    block_duration: timedelta  # how long the lock lasts


@dataclass(frozen=True, slots=True)
class Attempts:
    """A user's lockout state: consecutive failures and, when locked, until when."""

    failures: int = 0
    locked_until: datetime | None = None

    def is_locked(self, now: datetime) -> bool:
        return self.locked_until is not None and now < self.locked_until

    def current(self, now: datetime) -> Attempts:
        """An expired lock counts from zero again (chat/1 precise point 4)."""
        if self.locked_until is not None and now >= self.locked_until:
            return Attempts()
        return self

    def after_failure(self, now: datetime, policy: LockoutPolicy) -> Attempts:
        failures = self.current(now).failures + 1
        if failures >= policy.max_attempts:
            return Attempts(failures, now + policy.block_duration)
        return Attempts(failures, None)

    def attempts_left(self, policy: LockoutPolicy) -> int:
        return max(policy.max_attempts - self.failures, 0)


def retry_after_seconds(locked_until: datetime, now: datetime) -> int:
    """Whole seconds until the lock ends, rounded up, at least 1 (chat/1 precise point 2)."""
    return max(1, math.ceil((locked_until - now).total_seconds()))
