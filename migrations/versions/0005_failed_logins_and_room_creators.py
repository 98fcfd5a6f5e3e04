"""failed logins for `chat-admin history --failed`; rooms by creator and creation time

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 17:55:00.000000

`failed_logins` keeps what the server logs about a failed login (an unknown name only masked);
the index on rooms (creator, created_at) counts a user's recent room creations
(--room-creations-per-hour) without reading every room.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "failed_logins",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("known", sa.Boolean(), nullable=False),
        sa.Column("peer", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_failed_logins")),
    )
    with op.batch_alter_table("failed_logins", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_failed_logins_at"), ["at"], unique=False)
    with op.batch_alter_table("rooms", schema=None) as batch_op:
        batch_op.create_index(
            "ix_rooms_creator_created_at", ["creator", "created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("rooms", schema=None) as batch_op:
        batch_op.drop_index("ix_rooms_creator_created_at")
    with op.batch_alter_table("failed_logins", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_failed_logins_at"))
    op.drop_table("failed_logins")
