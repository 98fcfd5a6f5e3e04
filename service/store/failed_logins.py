"""Failed logins in the store: what the server notes, what `chat-admin history --failed` lists.

A repository of the store (see service/store/base.py). The server notes each failed login where
it logs it (service/core/handlers/accounts.py), as a writer job it does not wait for, so a
refusal is never held up by this record. A name without an account may be a password typed in
the wrong field, so it is never kept whole: it is kept as the server's log shows it
(service/credentials/masking.py), two characters and a digest, enough to tell repeated guesses
apart and nothing to read a password from. The table stays bounded: each new row takes away
those older than FAILED_LOGINS_KEPT_FOR and those beyond the newest FAILED_LOGINS_KEPT.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from service.credentials.masking import masked_name
from service.store.base import Database, naive_utc
from service.store.models import FailedLogin
from service.wire.timeutil import as_utc

FAILED_LOGINS_KEPT_FOR = timedelta(days=30)
FAILED_LOGINS_KEPT = 100_000  # rows at most, the newest
MAX_REASON_CHARS = 100


@dataclass(frozen=True, slots=True)
class FailedLoginEntry:
    at: datetime
    name: str  # an account's name, or masked_name() of one without an account
    known: bool  # the name was an account's
    peer: str  # "host:port" the server saw
    reason: str  # as the server logged it, e.g. `bad_credentials, 2 attempts left`


class FailedLogins:
    def __init__(self, db: Database) -> None:
        self._db = db

    def note(self, name: str, known: bool, peer: str, reason: str, now: datetime) -> None:
        """Keep a failed login for the operator; returns at once (a job for the writer)."""
        row = FailedLogin(
            at=naive_utc(now),
            name=name if known else masked_name(name),
            known=known,
            peer=peer[:64],
            reason=reason[:MAX_REASON_CHARS],
        )

        def job(s: Session) -> None:
            s.add(row)
            s.flush()
            too_old = FailedLogin.at < naive_utc(now - FAILED_LOGINS_KEPT_FOR)
            s.execute(
                delete(FailedLogin).where(
                    or_(too_old, FailedLogin.id <= row.id - FAILED_LOGINS_KEPT)
                )
            )

        self._db.submit(job)  # its failure is the writer's to log (service/store/writer.py)

    def entries(self, *, since: datetime | None, user: str | None) -> list[FailedLoginEntry]:
        """Failed logins at or after `since` (all when None), of account `user` only when
        given, oldest first."""
        statement = select(FailedLogin).order_by(FailedLogin.at, FailedLogin.id)
        if since is not None:
            statement = statement.where(FailedLogin.at >= naive_utc(since))
        if user is not None:
            statement = statement.where(FailedLogin.name == user, FailedLogin.known.is_(True))
        return self._db.read(lambda s: [_entry(row) for row in s.scalars(statement)])


def _entry(row: FailedLogin) -> FailedLoginEntry:
    return FailedLoginEntry(as_utc(row.at), row.name, row.known, row.peer, row.reason)
