"""member: a chair's or warner's own mobile, asked after binding so staff can call them

Revision ID: member0001
Revises: deskroster1
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "member0001"
down_revision: str | None = "deskroster1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "member",
        sa.Column("mobile", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False, server_default=""),
    )


def downgrade() -> None:
    op.drop_column("member", "mobile")
