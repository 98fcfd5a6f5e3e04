"""direct messages are kept as a record after `ack` (feature `dm_history`); conversations summary

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 22:30:00.000000

Until now an `ack` deleted its message, so every row in `messages` is unacknowledged: they all
get `acked` false and are delivered at the next login as before, with the same msg_ids.

- `sender_id` (new) and `recipient_id` (now NULL-able) go to NULL when the account is deleted
  (ON DELETE SET NULL, was CASCADE): the message stays in the other user's record under the
  name kept in `sender` / `recipient` (new). A new account that reuses the name (SQLite may
  even reuse the id) never matches the NULL, so it cannot see the old account's record.
  `sender_id` is backfilled by name, only from an account made before the message was sent.
- The backlog index is partial (unacknowledged rows only), so a login reads its backlog, and
  `unread` is counted, without touching the record; ONE conversation index (sender_id,
  recipient_id, id) serves `dm_history` in both directions as index range scans (me -> them,
  them -> me; NULL is a key too, for deleted accounts). A second one the other way round
  cost a dirty page per message and commit (see `Message` in service/store/models.py).
- `conversations` is one row per (user, partner name) that ever exchanged a message, kept by
  a trigger on the insert that only adds missing rows (INSERT OR IGNORE / ON CONFLICT DO
  NOTHING); the newest message per partner is read from the conversation index when the op
  runs (see `Conversation` in service/store/models.py, measured); backfilled here.
- SQLite rebuilds the table (batch mode): its AUTOINCREMENT high-water mark is carried over by
  hand, since an acknowledged (deleted) message's id must never be given again.
"""

import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op
from alembic.operations import BatchOperations

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UNACKED = {"sqlite_where": sa.text("acked = 0"), "postgresql_where": sa.text("NOT acked")}

# One row per (user, partner) and side of a message, for the backfill.
_SIDES = """
    SELECT sender_id AS user_id, recipient AS partner FROM messages
    WHERE sender_id IS NOT NULL
    UNION ALL
    SELECT recipient_id AS user_id, sender AS partner FROM messages
    WHERE recipient_id IS NOT NULL
"""

# SQLite: a row trigger, two INSERT OR IGNOREs in C inside the INSERT's own statement; a row
# already there is only looked up, so its page is not dirtied.
_SQLITE_TRIGGER = """
CREATE TRIGGER messages_conversations AFTER INSERT ON messages
BEGIN
    INSERT OR IGNORE INTO conversations (user_id, partner)
    SELECT NEW.sender_id, NEW.recipient WHERE NEW.sender_id IS NOT NULL;
    INSERT OR IGNORE INTO conversations (user_id, partner)
    SELECT NEW.recipient_id, NEW.sender WHERE NEW.recipient_id IS NOT NULL;
END
"""

# PostgreSQL: one statement-level trigger over the batch's new rows (a transition table), one
# set-based insert of the missing rows per INSERT however many messages it stores; rows taken
# in key order, so two servers writing at once wait on the same keys in the same order.
_POSTGRES_FUNCTION = """
CREATE FUNCTION messages_conversations() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO conversations (user_id, partner)
    SELECT DISTINCT user_id, partner FROM (
        SELECT sender_id AS user_id, recipient AS partner FROM new_messages
        WHERE sender_id IS NOT NULL
        UNION ALL
        SELECT recipient_id, sender FROM new_messages
        WHERE recipient_id IS NOT NULL
    ) AS sides
    ORDER BY user_id, partner
    ON CONFLICT (user_id, partner) DO NOTHING;
    RETURN NULL;
END
$$
"""
_POSTGRES_TRIGGER = """
CREATE TRIGGER messages_conversations AFTER INSERT ON messages
REFERENCING NEW TABLE AS new_messages
FOR EACH STATEMENT EXECUTE FUNCTION messages_conversations()
"""


def _is_sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def _sqlite_sequence() -> int | None:
    """SQLite: the highest msg_id ever given (AUTOINCREMENT), or None where there is none."""
    if not _is_sqlite():
        return None
    row = (
        op.get_bind()
        .execute(sa.text("SELECT seq FROM sqlite_sequence WHERE name = 'messages'"))
        .first()
    )
    return None if row is None else int(row[0])


def _restore_sqlite_sequence(seq: int | None) -> None:
    if seq is None:
        return
    bind = op.get_bind()
    updated = bind.execute(
        sa.text("UPDATE sqlite_sequence SET seq = max(seq, :seq) WHERE name = 'messages'"),
        {"seq": seq},
    )
    if updated.rowcount == 0:
        bind.execute(
            sa.text("INSERT INTO sqlite_sequence (name, seq) VALUES ('messages', :seq)"),
            {"seq": seq},
        )


@contextmanager
def _rebuilt_messages() -> Iterator[BatchOperations]:
    """SQLite's batch mode rebuilds `messages`, reflecting `users` for the foreign keys. That
    reflection cannot read users' expression index (lower(name)) and warns about it, on every
    new database's first start; `users` itself is not rebuilt, so the index is untouched and
    the warning only alarms an operator."""
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message="Skipped unsupported reflection of expression-based index"
        )
        with op.batch_alter_table(
            "messages", recreate="auto", table_kwargs={"sqlite_autoincrement": True}
        ) as batch_op:
            yield batch_op


def upgrade() -> None:
    seq = _sqlite_sequence()
    with _rebuilt_messages() as batch_op:
        batch_op.drop_index("ix_messages_recipient_id_id")
        batch_op.drop_constraint("fk_messages_recipient_id_users", type_="foreignkey")
        batch_op.alter_column("recipient_id", existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column("sender_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("recipient", sa.String(length=32), nullable=True))
        batch_op.add_column(
            sa.Column("acked", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_messages_recipient_id_users"),
            "users", ["recipient_id"], ["id"], ondelete="SET NULL",
        )  # fmt: skip
        batch_op.create_foreign_key(
            batch_op.f("fk_messages_sender_id_users"),
            "users", ["sender_id"], ["id"], ondelete="SET NULL",
        )  # fmt: skip
    op.execute(
        "UPDATE messages SET recipient = "
        "(SELECT users.name FROM users WHERE users.id = messages.recipient_id)"
    )
    op.execute(
        "UPDATE messages SET sender_id = (SELECT users.id FROM users "
        "WHERE users.name = messages.sender AND users.created_at <= messages.sent_at)"
    )
    with _rebuilt_messages() as batch_op:
        batch_op.alter_column("recipient", existing_type=sa.String(length=32), nullable=False)
        batch_op.create_index("ix_messages_unacked", ["recipient_id", "id"], **_UNACKED)
        batch_op.create_index("ix_messages_sender_id_recipient_id_id",
                              ["sender_id", "recipient_id", "id"])  # fmt: skip
    _restore_sqlite_sequence(seq)
    _create_conversations()


def _create_conversations() -> None:
    # SQLite: WITHOUT ROWID, one B-tree keyed (user_id, partner). last_msg_id / last_at are
    # NULL until a purge writes them (see `Conversation` in service/store/models.py).
    op.create_table(
        "conversations",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("partner", sa.String(length=32), nullable=False),
        sa.Column("last_msg_id", sa.Integer(), nullable=True),
        sa.Column("last_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_conversations_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "partner", name=op.f("pk_conversations")),
        sqlite_with_rowid=False,
    )
    op.execute(
        "INSERT INTO conversations (user_id, partner) "
        f"SELECT DISTINCT user_id, partner FROM ({_SIDES}) AS sides"
    )
    if _is_sqlite():
        op.execute(_SQLITE_TRIGGER)
    else:
        op.execute(_POSTGRES_FUNCTION)
        op.execute(_POSTGRES_TRIGGER)


def downgrade() -> None:
    """Back to 0005: the record goes (acknowledged messages were deleted then), and so do the
    unacknowledged messages of deleted accounts, which 0005 cannot hold."""
    if _is_sqlite():
        op.execute("DROP TRIGGER messages_conversations")
    else:
        op.execute("DROP TRIGGER messages_conversations ON messages")
        op.execute("DROP FUNCTION messages_conversations()")
    op.drop_table("conversations")
    seq = _sqlite_sequence()
    op.execute(sa.text("DELETE FROM messages WHERE acked OR recipient_id IS NULL"))
    with _rebuilt_messages() as batch_op:
        batch_op.drop_index("ix_messages_sender_id_recipient_id_id")
        batch_op.drop_index("ix_messages_unacked")
        batch_op.drop_constraint("fk_messages_sender_id_users", type_="foreignkey")
        batch_op.drop_constraint("fk_messages_recipient_id_users", type_="foreignkey")
        batch_op.drop_column("acked")
        batch_op.drop_column("recipient")
        batch_op.drop_column("sender_id")
        batch_op.alter_column("recipient_id", existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_messages_recipient_id_users"),
            "users", ["recipient_id"], ["id"], ondelete="CASCADE",
        )  # fmt: skip
        batch_op.create_index("ix_messages_recipient_id_id", ["recipient_id", "id"])
    _restore_sqlite_sequence(seq)
