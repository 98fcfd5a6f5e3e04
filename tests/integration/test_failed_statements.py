"""A statement that fails is logged with its error, never with its parameters: they are
message texts and password hashes (found by review: a room message's text reached the log
when the disk was full)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from service.store.db import make_engine
from tests.support.databases import migrate


def test_a_failed_statement_names_no_parameter(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'parley.db'}"
    migrate(url)
    engine = make_engine(url)
    insert = text("INSERT INTO users (name, password_hash, created_at, failed_attempts) "
                  "VALUES (:name, :hash, '2026-11-30 12:00:00', 0)")  # fmt: skip
    try:
        with engine.begin() as db:
            db.execute(insert, {"name": "alice", "hash": "SECRET-HASH-1"})
        with pytest.raises(IntegrityError) as failed, engine.begin() as db:
            db.execute(insert, {"name": "alice", "hash": "SECRET-HASH-2"})  # name taken
    finally:
        engine.dispose()
    assert "UNIQUE" in str(failed.value)
    assert "SECRET-HASH" not in str(failed.value)
