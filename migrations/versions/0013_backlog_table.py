"""the backlog gets a table of its own: an `ack` deletes a small row instead of updating the
message

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 10:00:00.000000

Why. Since 0006 a message not shown yet was `messages.acked = false`, read on a partial index
(recipient_id, id) WHERE NOT acked, and an `ack` set the flag. On PostgreSQL an UPDATE of a
column that an index mentions (here in the partial index's condition) cannot be HOT: it writes
a new version of the row and an entry in every index of `messages`, the full-text GIN index
included, which means running `parley_search_vector` over the text once more. Measured in SQL
alone (20,000 messages of `dm`'s 64 characters, statements of 40 rows over arrays as the writer
sends them, a commit each, PostgreSQL 15 on the 2-core VM, the backend's CPU from /proc):
storing 31 us and acknowledging 25.5 us a message, 11 of them the GIN index's; with this table,
33-34 us and 6.5-7 us. On SQLite the writer's statements replayed (scripts/writer_replay.py,
5 runs a side, twice, medians) went from 22.8 and 23.2 to 22.2 and 22.4 us a message.

How. `backlog` holds a row per message not shown yet (msg_id, the primary key, and
recipient_id), added by a trigger in the statement that stores the message, as the
`conversations` rows are (one set-based insert per statement on PostgreSQL), and deleted by
the `ack`. A message is shown when it has no row. Deleting the recipient's account sets the
row's recipient to NULL (as `messages` does): never delivered, and never purged, as before,
since it was never shown. Existing unshown messages get their rows here; `acked` and its index
go.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SQLITE_TRIGGER = """
CREATE TRIGGER messages_backlog AFTER INSERT ON messages
BEGIN
    INSERT INTO backlog (msg_id, recipient_id) VALUES (NEW.id, NEW.recipient_id);
END
"""
_POSTGRES_FUNCTION = """
CREATE FUNCTION messages_backlog() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO backlog (msg_id, recipient_id) SELECT id, recipient_id FROM new_messages;
    RETURN NULL;
END
$$
"""
_POSTGRES_TRIGGER = """
CREATE TRIGGER messages_backlog AFTER INSERT ON messages
REFERENCING NEW TABLE AS new_messages
FOR EACH STATEMENT EXECUTE FUNCTION messages_backlog()
"""


def _is_sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def upgrade() -> None:
    op.create_table(
        "backlog",
        sa.Column("msg_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("recipient_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["msg_id"], ["messages.id"], name="fk_backlog_msg_id_messages", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["recipient_id"],
            ["users.id"],
            name="fk_backlog_recipient_id_users",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("msg_id", name="pk_backlog"),
    )
    op.create_index("ix_backlog_recipient_id_msg_id", "backlog", ["recipient_id", "msg_id"])
    shown = "acked = 1" if _is_sqlite() else "acked"
    op.execute(
        "INSERT INTO backlog (msg_id, recipient_id) "
        f"SELECT id, recipient_id FROM messages WHERE NOT ({shown}) ORDER BY id"
    )
    if _is_sqlite():
        op.execute(_SQLITE_TRIGGER)
    else:
        op.execute(_POSTGRES_FUNCTION)
        op.execute(_POSTGRES_TRIGGER)
    op.drop_index("ix_messages_unacked", table_name="messages")
    # SQLite 3.35+: the column is in no index, view or trigger any more
    op.execute("ALTER TABLE messages DROP COLUMN acked")


def downgrade() -> None:
    op.add_column(
        "messages", sa.Column("acked", sa.Boolean(), server_default=sa.false(), nullable=False)
    )
    op.execute(
        "UPDATE messages SET acked = true "
        "WHERE NOT EXISTS (SELECT 1 FROM backlog WHERE backlog.msg_id = messages.id)"
    )
    op.create_index(
        "ix_messages_unacked", "messages", ["recipient_id", "id"],
        sqlite_where=sa.text("acked = 0"), postgresql_where=sa.text("NOT acked"),
    )  # fmt: skip
    if _is_sqlite():
        op.execute("DROP TRIGGER messages_backlog")
    else:
        op.execute("DROP TRIGGER messages_backlog ON messages")
        op.execute("DROP FUNCTION messages_backlog()")
    op.drop_index("ix_backlog_recipient_id_msg_id", table_name="backlog")
    op.drop_table("backlog")
