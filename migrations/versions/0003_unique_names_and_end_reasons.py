"""usernames unique ignoring case (chat/1 precise point 14); why each active period ended

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 13:40:00.000000

A database made before 0003 may hold two accounts whose names differ only in case. Dropping
or renaming one would hand its messages, blocks or login to someone else, so the upgrade
refuses instead, names them, and changes nothing: the operator decides which to keep.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from service.store.db import MigrationRefused
from service.wire.names import case_clashes

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    _refuse_names_equal_ignoring_case()
    op.create_index("uq_users_lower_name", "users", [sa.text("lower(name)")], unique=True)
    with op.batch_alter_table("active_periods", schema=None) as batch_op:
        batch_op.add_column(sa.Column("end_reason", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("active_periods", schema=None) as batch_op:
        batch_op.drop_column("end_reason")
    op.drop_index("uq_users_lower_name", table_name="users")


def _refuse_names_equal_ignoring_case() -> None:
    names = op.get_bind().execute(sa.text("SELECT name FROM users")).scalars()
    clashes = case_clashes(names)
    if clashes:
        listed = "; ".join(" and ".join(group) for group in clashes)
        raise MigrationRefused(
            f"usernames must now be unique ignoring case, but these accounts differ only in "
            f"case: {listed}. Nothing was changed. Keep one name of each group and rename or "
            f"delete the others in the users table (e.g. UPDATE users SET name = "
            f"'{clashes[0][0]}2' WHERE name = '{clashes[0][0]}'), then start chat-server or "
            f"run `chat-admin db upgrade` again."
        )
