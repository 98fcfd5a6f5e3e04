"""Reads over a whole batch's values, shared by the direct messages' and the rooms' hot paths.

A batch can name more values than a database takes as parameters of one statement (SQLite:
32,766), so IN lists go in chunks.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select

CHUNK = 1_024  # values per IN list


def chunks(values: Sequence[Any]) -> list[list[Any]]:
    return [list(values[i : i + CHUNK]) for i in range(0, len(values), CHUNK)]


def seen_nonces(
    connection: Connection, statement: Select[int, str, int, datetime],
    sender_ids: Sequence[int], nonces: Sequence[str],
) -> dict[tuple[int, str], tuple[int, datetime]]:  # fmt: skip
    """(sender id, nonce) -> (what that request stored: a msg_id or a seq, when), for the
    nonces stored before. `statement` selects those four columns, with `sender_ids` and
    `nonces` as expanding parameters."""
    seen: dict[tuple[int, str], tuple[int, datetime]] = {}
    for nonce_part in chunks(nonces):
        for id_part in chunks(sender_ids):
            params = {"sender_ids": id_part, "nonces": nonce_part}
            for sender_id, nonce, stored, at in connection.execute(statement, params):
                seen[(sender_id, nonce)] = (stored, at)
    return seen
