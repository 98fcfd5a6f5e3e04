"""Blocks between users: who blocks whom (chat/1 "Blocking"), and making or lifting one.

A repository of the store: see service/store/base.py for what every call promises. What a
block hides or refuses is decided by the handlers and the message checks; here only who
blocks whom is kept. The operator's listing of all blocks is Operator.list_blocks.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, aliased

from service.store.base import Database, naive_utc
from service.store.models import Block, User
from service.store.outcomes import Refusal
from service.store.users import user_id

_ME, _OTHER = aliased(User, name="me"), aliased(User, name="other")
# Block partners of one user, built once: who `name` blocks, and who blocks `name`.
_BLOCKED_BY = (
    select(_OTHER.name)
    .join(Block, Block.blocked_id == _OTHER.id)
    .join(_ME, Block.blocker_id == _ME.id)
    .where(_ME.name == bindparam("name"))
)
_BLOCKERS_OF = (
    select(_OTHER.name)
    .join(Block, Block.blocker_id == _OTHER.id)
    .join(_ME, Block.blocked_id == _ME.id)
    .where(_ME.name == bindparam("name"))
)


class Blocks:
    def __init__(self, db: Database) -> None:
        self._db = db

    def blocked_by(self, name: str) -> set[str]:
        """The users `name` blocks."""
        return self._db.read(lambda s: set(s.scalars(_BLOCKED_BY, {"name": name})))

    def blockers_of(self, name: str) -> set[str]:
        """The users who block `name`."""
        return self._db.read(lambda s: set(s.scalars(_BLOCKERS_OF, {"name": name})))

    def block(self, blocker: str, blocked: str, now: datetime) -> Refusal | None:
        """Refusals in chat/1's order: NO_SUCH_USER, SELF, ALREADY_BLOCKED."""

        def job(s: Session) -> Refusal | None:
            pair = _pair_ids(s, blocker, blocked)
            if isinstance(pair, Refusal):
                return pair
            if s.get(Block, pair) is not None:
                return Refusal.ALREADY_BLOCKED
            s.add(Block(blocker_id=pair[0], blocked_id=pair[1], created_at=naive_utc(now)))
            return None

        return self._db.write(job)

    def unblock(self, blocker: str, blocked: str) -> Refusal | None:
        """Refusals in chat/1's order: NO_SUCH_USER, SELF, NOT_BLOCKED."""

        def job(s: Session) -> Refusal | None:
            pair = _pair_ids(s, blocker, blocked)
            if isinstance(pair, Refusal):
                return pair
            row = s.get(Block, pair)
            if row is None:
                return Refusal.NOT_BLOCKED
            s.delete(row)
            return None

        return self._db.write(job)


def _pair_ids(s: Session, actor: str, other: str) -> tuple[int, int] | Refusal:
    """(actor, other) ids for a block or unblock, or chat/1's first refusal: no_such_user,
    then self."""
    other_id = user_id(s, other)
    actor_id = user_id(s, actor)
    if other_id is None or actor_id is None:
        return Refusal.NO_SUCH_USER
    if other_id == actor_id:
        return Refusal.SELF
    return actor_id, other_id
