"""Integration fixtures: a migrated SQLite file in tmp_path and a Store over it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from service.store import Store
from service.store.db import migrate_to_head


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'parley.db'}"
    migrate_to_head(url)
    return url


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    store = Store.open(db_url, group_commit=False)
    yield store
    store.close()
