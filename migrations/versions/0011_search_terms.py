"""SQLite: the terms of each full-text index, as tables to read (fts5vocab) for search

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 05:45:00.000000

`search` matches its last word also as a prefix. Asked as a prefix query (`"sched"*`), FTS5
gathers every posting of every term beginning with the word before the LIMIT applies: for a
word in a tenth of 800,000 room messages, 80,000 postings, some milliseconds, for the newest
20. The same terms named one by one (`("sched" OR "schedule")`) are read newest first and
stop at the limit. These tables list an index's terms in order, so search finds the longer
terms that begin with the word from a seek to the first of them (fts5vocab then counts the
postings of each term it lists: service/store/search_statements.py says what that costs).

They hold nothing: an fts5vocab table reads its FTS table's index when queried, and costs a
write nothing. They are made here, not in each connection's temp schema, because creating a
table there, even `IF NOT EXISTS`, makes SQLite read the schema again at every transaction.
PostgreSQL has no FTS5: nothing changes there.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = ("room_messages_fts", "messages_fts")


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for fts in _TABLES:
        op.execute(f"CREATE VIRTUAL TABLE {fts}_terms USING fts5vocab({fts}, row)")


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for fts in _TABLES:
        op.execute(f"DROP TABLE {fts}_terms")
