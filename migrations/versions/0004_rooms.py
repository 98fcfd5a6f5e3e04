"""rooms: named group conversations, durable memberships with read markers, numbered messages

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 13:19:16.492712
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rooms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=33), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("creator", sa.String(length=32), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rooms")),
        sa.UniqueConstraint("name", name=op.f("uq_rooms_name")),
    )
    op.create_table(
        "room_members",
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("read_seq", sa.Integer(), nullable=False),
        sa.Column("joined_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["room_id"],
            ["rooms.id"],
            name=op.f("fk_room_members_room_id_rooms"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_room_members_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("room_id", "user_id", name=op.f("pk_room_members")),
    )
    with op.batch_alter_table("room_members", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_room_members_user_id"), ["user_id"], unique=False)

    op.create_table(
        "room_messages",
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("sender", sa.String(length=32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["room_id"],
            ["rooms.id"],
            name=op.f("fk_room_messages_room_id_rooms"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("room_id", "seq", name=op.f("pk_room_messages")),
    )
    with op.batch_alter_table("room_messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_room_messages_room_id_sender_seq", ["room_id", "sender", "seq"], unique=False
        )

    op.create_table(
        "room_nonces",
        sa.Column("sender_id", sa.Integer(), nullable=False),
        sa.Column("nonce", sa.String(length=128), nullable=False),
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["room_id"], ["rooms.id"], name=op.f("fk_room_nonces_room_id_rooms"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["sender_id"],
            ["users.id"],
            name=op.f("fk_room_nonces_sender_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("sender_id", "nonce", name=op.f("pk_room_nonces")),
    )
    with op.batch_alter_table("room_nonces", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_room_nonces_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_room_nonces_room_id"), ["room_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("room_nonces", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_room_nonces_room_id"))
        batch_op.drop_index(batch_op.f("ix_room_nonces_created_at"))

    op.drop_table("room_nonces")
    with op.batch_alter_table("room_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_room_messages_room_id_sender_seq")

    op.drop_table("room_messages")
    with op.batch_alter_table("room_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_room_members_user_id"))

    op.drop_table("room_members")
    op.drop_table("rooms")
