"""Login attempts, serialised per name and counted durably, known name or not.

Two rules meet here. Lockout: the check, the (slow) password verification and the count of a
failure must be one step per name, or parallel guesses would each see the count from before
the others failed (a user is locked after max_attempts guesses, however they are sent).
Secrecy: a name without an account is counted the same way, in a table of its own, so both
answers cost one read, one hash and one committed write (chat/1 precise point 4).
"""

from __future__ import annotations

import hashlib
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from service.auth import Attempts, LockoutPolicy
from service.models import UnknownNameFailure
from service.store import Store, maybe_naive_utc, maybe_utc, naive_utc

UNKNOWN_NAMES_KEPT = 10_000  # rows of unknown-name counts; the oldest go first


def name_digest(name: str) -> str:
    """Fixed-size key for any name the peer sent (it may be up to a frame long)."""
    return hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()


class NameLocks:
    """First come, first served per name: attempts on one name run one at a time, in the order
    they arrived; entries exist only while someone waits or holds."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._queues: dict[str, tuple[threading.Condition, deque[object]]] = {}  # by digest

    @contextmanager
    def hold(self, name: str) -> Iterator[None]:
        key, ticket = name_digest(name), object()
        with self._guard:
            turn, queue = self._queues.setdefault(key, (threading.Condition(self._guard), deque()))
            queue.append(ticket)
            turn.wait_for(lambda: queue[0] is ticket)
        try:
            yield
        finally:
            with self._guard:
                queue.popleft()
                if queue:
                    turn.notify_all()
                else:
                    del self._queues[key]


class UnknownNames:
    """Lockout counts of names with no account, in the database like an account's."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def attempts(self, name: str, now: datetime) -> Attempts:
        digest = name_digest(name)
        row = self._store.read(lambda s: s.get(UnknownNameFailure, digest))
        if row is None:
            return Attempts()
        return Attempts(row.failures, maybe_utc(row.locked_until)).current(now)

    def record_failure(self, name: str, now: datetime, policy: LockoutPolicy) -> Attempts:
        digest = name_digest(name)

        def job(s: Session) -> Attempts:
            row = s.get(UnknownNameFailure, digest)
            before = Attempts() if row is None else Attempts(
                row.failures, maybe_utc(row.locked_until)
            )  # fmt: skip
            after = before.after_failure(now, policy)
            if row is None:
                row = UnknownNameFailure(name_digest=digest)
                s.add(row)
            row.failures = after.failures
            row.locked_until = maybe_naive_utc(after.locked_until)
            row.updated_at = naive_utc(now)
            return after

        return self._store.write(job)

    def evict_oldest(self, keep: int = UNKNOWN_NAMES_KEPT) -> int:
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

        return self._store.write(job)
