"""login_tokens: remembered logins (chat/1 "Staying signed in", feature `tokens`)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08 10:00:00.000000

One row per token a `login` or `register` with `remember` was given: its user, a SHA-256 digest
of the secret (unique: the lookup of a token login), and its times. The index on `user_id`
serves revoking all of a user's tokens (`chat-admin passwd`, `kick`, the cascade of `deluser`)
and the cleanup at that user's next login; the one on `expires_at` the housekeeping's prune.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "login_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("last_used_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_login_tokens_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_login_tokens_token_hash")),
    )
    op.create_index(op.f("ix_login_tokens_user_id"), "login_tokens", ["user_id"])
    op.create_index(op.f("ix_login_tokens_expires_at"), "login_tokens", ["expires_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_login_tokens_expires_at"), table_name="login_tokens")
    op.drop_index(op.f("ix_login_tokens_user_id"), table_name="login_tokens")
    op.drop_table("login_tokens")
