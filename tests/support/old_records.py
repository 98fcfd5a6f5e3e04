"""Direct messages written the way an older revision stored them (its `acked` column included),
for the tests of the migrations that change how they are kept."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from alembic import command
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from service.store.db import alembic_config

# (id, sender_id, recipient_id, sender, recipient, text, acked)
OldMessage = tuple[int, int | None, int | None, str, str, str, bool]


def write_at_revision(
    url: str, revision: str, users: Sequence[str], messages: Sequence[OldMessage], at: datetime
) -> None:
    """Migrate an empty database to `revision`, then add `users` (ids 1, 2, ... in order) and
    `messages`, all created or sent `at`, with that revision's columns."""
    command.upgrade(alembic_config(url), revision)
    engine = create_engine(url, poolclass=NullPool)
    with engine.begin() as db:
        for n, name in enumerate(users, start=1):
            db.execute(text("INSERT INTO users (id, name, password_hash, created_at, "
                            "failed_attempts) VALUES (:id, :name, 'x', :at, 0)"),
                       {"id": n, "name": name, "at": at})  # fmt: skip
        keys = ("id", "s", "r", "sn", "rn", "t", "a")
        for row in messages:
            values: dict[str, Any] = dict(zip(keys, row, strict=True))
            db.execute(text("INSERT INTO messages (id, sender_id, recipient_id, sender, "
                            "recipient, text, acked, sent_at) VALUES (:id, :s, :r, :sn, :rn, "
                            ":t, :a, :at)"),
                       {**values, "at": at})  # fmt: skip
    engine.dispose()
