"""summary: staff-entered figures per period

Revision ID: summary0001
Revises: ae498d0eeeff
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "summary0001"
down_revision: str | None = "ae498d0eeeff"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "staff_figure",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("period", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("unit", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("set_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("set_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("staff_figure", schema=None) as batch_op:
        batch_op.create_index("ux_staff_figure_key_period", ["key", "period"], unique=True)
        batch_op.create_index(batch_op.f("ix_staff_figure_period"), ["period"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("staff_figure", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_staff_figure_period"))
        batch_op.drop_index("ux_staff_figure_key_period")
    op.drop_table("staff_figure")
