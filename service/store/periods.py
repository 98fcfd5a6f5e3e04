"""Active periods: a session from login to logout, what `whoelsesince` and `chat-admin history`
ask about.

A repository of the store: see service/store/base.py for what every call promises.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.orm import Session

from service.store.base import Database, naive_utc
from service.store.models import ActivePeriod, User
from service.store.users import reset_failures


def open_since(since: datetime) -> ColumnElement[bool]:
    """Periods open at some moment since `since`: still open, or ended after it. The one
    definition of the overlap that `whoelsesince` and `chat-admin history` both ask about."""
    return or_(ActivePeriod.logout_at.is_(None), ActivePeriod.logout_at >= naive_utc(since))


class Periods:
    def __init__(self, db: Database) -> None:
        self._db = db

    def start_period(self, name: str, peer: str, now: datetime) -> tuple[int, int]:
        """A successful login: reset the failure count, open an active period, in one
        transaction. Returns (the period's id, the user's id)."""

        def job(s: Session) -> tuple[int, int]:
            user = s.scalars(select(User).where(User.name == name)).one()
            reset_failures(user)
            period = ActivePeriod(user_id=user.id, login_at=naive_utc(now), peer=peer[:64])
            s.add(period)
            s.flush()
            return period.id, user.id

        return self._db.write(job)

    def log_in_again(self, name: str) -> int:
        """A successful login of a user online already (another session, chat/1 "Several
        sessions"): its period goes on; the failure count resets. Returns the user's id."""

        def job(s: Session) -> int:
            user = s.scalars(select(User).where(User.name == name)).one()
            reset_failures(user)
            return user.id

        return self._db.write(job)

    def end_period(self, period_id: int, now: datetime, reason: str) -> None:
        """The session ended; `reason` says why (for `chat-admin history`)."""

        def job(s: Session) -> None:
            s.execute(
                update(ActivePeriod)
                .where(ActivePeriod.id == period_id, ActivePeriod.logout_at.is_(None))
                .values(logout_at=naive_utc(now), end_reason=reason)
            )

        self._db.write(job)

    def end_open_periods(self, now: datetime, reason: str) -> int:
        """Close periods left open by a crash (at start) or by a shutdown; how many."""

        def job(s: Session) -> int:
            result = s.execute(
                update(ActivePeriod)
                .where(ActivePeriod.logout_at.is_(None))
                .values(logout_at=naive_utc(now), end_reason=reason)
            )
            return int(result.rowcount)  # type: ignore[attr-defined]

        return self._db.write(job)

    def seen_since(self, since: datetime) -> set[str]:
        """Users with an active period that overlaps [since, now]: online now or left since."""

        def query(s: Session) -> set[str]:
            rows = s.scalars(
                select(User.name)
                .join(ActivePeriod, ActivePeriod.user_id == User.id)
                .where(open_since(since))
                .distinct()
            )
            return set(rows)

        return self._db.read(query)
