"""unknown name failures: lockout counts for names without an account, kept like an account's

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 15:11:36.348394
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "unknown_name_failures",
        sa.Column("name_digest", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name_digest", name=op.f("pk_unknown_name_failures")),
    )
    with op.batch_alter_table("unknown_name_failures", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_unknown_name_failures_updated_at"), ["updated_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("unknown_name_failures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_unknown_name_failures_updated_at"))

    op.drop_table("unknown_name_failures")
