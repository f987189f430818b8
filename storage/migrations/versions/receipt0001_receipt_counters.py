"""receipt: one receipt counter per kind (Y1, Y2 … reports; W1 … warnings; H1 … applications; E1 … exemptions)

Existing receipts stay as they are (numbered by submission id). A kind's counter row is made at its first
receipt after this, starting past the highest number that kind already used (`storage.drafts`), so no new
receipt repeats an old one.

Revision ID: receipt0001
Revises: member0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "receipt0001"
down_revision: str | None = "member0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "receipt_counter",
        sa.Column("prefix", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("prefix"),
    )


def downgrade() -> None:
    op.drop_table("receipt_counter")
