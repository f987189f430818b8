"""roster: the date an enterprise left the roster, so past periods count only who was on it then

Revision ID: roster0001
Revises: summary0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "roster0001"
down_revision: str | None = "summary0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("enterprise", sa.Column("removed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))


def downgrade() -> None:
    op.drop_column("enterprise", "removed_at")
