"""SQLite: the full-text indexes are merged by the server's writer in small steps, not by FTS5
in bursts

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 08:00:00.000000

FTS5 writes each transaction's terms as a new segment and, left to itself (`automerge`, 4),
merges segments every 64 leaf pages written, 64 pages per level of the index at a time: on
`dm`, one commit in about twenty spent 10-50 ms merging while every message behind it waited,
the p99 of the whole benchmark. With automerge off, the writer asks for the same merges a
page per four stored rows at a time (service/store/index_merges.py). FTS5's crisis merge
(16 segments on a level) still bounds an index that no server merges, chat-admin's writes
say. PostgreSQL has no FTS5: nothing changes there.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = ("room_messages_fts", "messages_fts")
_FTS5_DEFAULT_AUTOMERGE = 4


def _set_automerge(value: int) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for fts in _TABLES:
        op.execute(f"INSERT INTO {fts} ({fts}, rank) VALUES ('automerge', {value})")


def upgrade() -> None:
    _set_automerge(0)


def downgrade() -> None:
    _set_automerge(_FTS5_DEFAULT_AUTOMERGE)
