"""RowsInsert (service/store/driver_statement.py) writes the multi-row INSERT that SQLAlchemy
itself would, for every row count it uses, without compiling one per count."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import bindparam, insert
from sqlalchemy.dialects import sqlite

from service.store.driver_statement import ROWS_PER_STATEMENT, RowsInsert
from service.store.models import Base, Message, RoomMessage

TABLES = [
    (Message, ("sender_id", "recipient_id", "sender", "recipient", "text", "sent_at")),
    (RoomMessage, ("room_id", "seq", "sender", "text", "sent_at")),
]


@pytest.mark.parametrize(("model", "keys"), TABLES)
@pytest.mark.parametrize("count", [1, 2, 17, ROWS_PER_STATEMENT])
def test_the_text_for_n_rows_is_sqlalchemys_own(
    model: type[Base], keys: tuple[str, ...], count: int
) -> None:
    dialect = sqlite.dialect()
    rows: list[dict[str, Any]] = [
        {key: bindparam(f"{key}_{i}") for key in keys} for i in range(count)
    ]
    compiled = insert(model).values(rows).compile(dialect=dialect)
    assert RowsInsert(model, dialect, keys).sql(count) == str(compiled)
    # and its parameters go row after row, each in the order of `keys`
    assert compiled.positiontup == [f"{key}_{i}" for i in range(count) for key in keys]


def test_keys_in_another_order_than_the_dialects_are_refused() -> None:
    with pytest.raises(AssertionError):
        RowsInsert(Message, sqlite.dialect(), ("text", "sender_id"))
