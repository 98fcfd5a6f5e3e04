"""Remembered logins (chat/1 "Staying signed in", feature `tokens`): giving a user a token,
logging in with one, revoking one or all, and forgetting the expired.

A repository of the store: see service/store/base.py for what every call promises. Tokens come
in as their digests (service/credentials/tokens.py); the secret itself never reaches here.

A failed token login costs one indexed read and no write, so guesses never queue at the
writer. Expired rows go with the user's next token login or remembered login (its own rows
only, found by the index on `user_id`) and in bulk by the housekeeping's `prune`, never by a
scan on a login's path. A user keeps at most MAX_TOKENS_PER_USER: a new one past that
replaces the one used least recently, so a client that asks for a token at every login cannot
grow the table without bound.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from service.store.base import Database, naive_utc
from service.store.models import LoginToken, User
from service.wire.timeutil import as_utc

MAX_TOKENS_PER_USER = 100  # a phone, a laptop, a few browsers: far more than one person uses


@dataclass(frozen=True, slots=True)
class TokenLogin:
    """A token that logged its user in: the account's session epoch read with it (so a `kick`
    committed later still ends the session: service/core/account_watch.py) and its new expiry."""

    epoch: int
    expires_at: datetime


class LoginTokens:
    def __init__(self, db: Database) -> None:
        self._db = db

    def issue(self, name: str, digest: str, now: datetime, expires_at: datetime) -> None:
        """A new token for the account named exactly `name` (it must exist). Its expired
        tokens go, and its least recently used past MAX_TOKENS_PER_USER - 1."""

        def job(s: Session) -> None:
            user_id = s.scalars(select(User.id).where(User.name == name)).one()
            _forget_expired(s, user_id, now)
            _keep_newest(s, user_id, MAX_TOKENS_PER_USER - 1)
            at = naive_utc(now)
            s.add(LoginToken(user_id=user_id, token_hash=digest, created_at=at,
                             expires_at=naive_utc(expires_at), last_used_at=at))  # fmt: skip

        self._db.write(job)

    def redeem(
        self, name: str, digest: str, now: datetime, expires_at: datetime
    ) -> TokenLogin | None:
        """Log in as the account named exactly `name` with the token of `digest`: renewed to
        `expires_at`, with the account's epoch; None (nothing written) when no such token is
        the account's or it expired. A token revoked between the read and the renewal is
        None too: the renewal finds no row."""
        found = self._db.read(lambda s: _live_token(s, name, digest, now))
        if found is None:
            return None
        token_id, user_id = found

        def job(s: Session) -> TokenLogin | None:
            renewed = s.execute(
                update(LoginToken)
                .where(LoginToken.id == token_id)
                .values(expires_at=naive_utc(expires_at), last_used_at=naive_utc(now))
            )
            if int(renewed.rowcount) != 1:  # type: ignore[attr-defined]
                return None
            _forget_expired(s, user_id, now)
            epoch = s.scalars(select(User.session_epoch).where(User.id == user_id)).one()
            return TokenLogin(epoch, as_utc(expires_at))

        return self._db.write(job)

    def revoke(self, digest: str) -> None:
        """The token of `digest` logs nobody in any more (`logout` with `forget`)."""
        self._db.write(lambda s: s.execute(delete(LoginToken).where(
            LoginToken.token_hash == digest)))  # fmt: skip

    def prune(self, now: datetime) -> int:
        """Forget every expired token (the housekeeping, on the index on `expires_at`); how
        many."""

        def job(s: Session) -> int:
            gone = s.execute(delete(LoginToken).where(LoginToken.expires_at <= naive_utc(now)))
            return int(gone.rowcount)  # type: ignore[attr-defined]

        return self._db.write(job)


def revoke_all(s: Session, user_id: int) -> int:
    """Inside an operator's transaction (`passwd`, `kick`): every token of the user goes, so
    whoever kept one must log in with the (new) password. How many went."""
    gone = s.execute(delete(LoginToken).where(LoginToken.user_id == user_id))
    return int(gone.rowcount)  # type: ignore[attr-defined]


def _live_token(s: Session, name: str, digest: str, now: datetime) -> tuple[int, int] | None:
    """(the token's id, its user's id) when `digest` is a token of `name` not expired at
    `now`. One read by the unique digest, the same for every name (one without an account
    included), so the time of a refusal does not tell which it was."""
    row = s.execute(
        select(LoginToken.id, LoginToken.user_id, LoginToken.expires_at, User.name)
        .join(User, LoginToken.user_id == User.id)
        .where(LoginToken.token_hash == digest)
    ).one_or_none()
    if row is None or row.name != name or as_utc(row.expires_at) <= now:
        return None
    return row.id, row.user_id


def _forget_expired(s: Session, user_id: int, now: datetime) -> None:
    s.execute(
        delete(LoginToken).where(
            LoginToken.user_id == user_id, LoginToken.expires_at <= naive_utc(now)
        )
    )


def _keep_newest(s: Session, user_id: int, keep: int) -> None:
    """Delete the user's tokens but the `keep` most recently used."""
    newest = (
        select(LoginToken.id)
        .where(LoginToken.user_id == user_id)
        .order_by(LoginToken.last_used_at.desc(), LoginToken.id.desc())
        .limit(keep)
    )
    s.execute(delete(LoginToken).where(LoginToken.user_id == user_id, LoginToken.id.not_in(newest)))
