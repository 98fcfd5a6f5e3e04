"""users.session_epoch: an operator's kick or password change ends the user's sessions

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 22:30:00.000000

chat-admin runs in another process, so the server learns of a `kick` (or `passwd`) from the
database, as it learns of `deluser`: the epoch moves, and every session that logged in at an
older one ends with `bye kicked` (service/core/account_watch.py).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Not batch mode: a batch copy of `users` on SQLite would lose the expression index on
# lower(name) (batch mode does not reflect it). ADD COLUMN with a constant default, and DROP
# COLUMN (SQLite 3.35+), change the table in place on both databases.


def upgrade() -> None:
    op.add_column(
        "users", sa.Column("session_epoch", sa.Integer(), server_default="0", nullable=False)
    )


def downgrade() -> None:
    op.drop_column("users", "session_epoch")
