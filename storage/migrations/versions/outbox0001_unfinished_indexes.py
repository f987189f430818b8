"""outbox: partial indexes on the unfinished messages, for the parallel worker's claim

The claim takes, per user, only the oldest message still pending or sending (`storage.outbox.claim`). Both
indexes hold only those rows, so the claim's cost follows the queue's length, not the table's history.

Revision ID: outbox0001
Revises: filestore0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "outbox0001"
down_revision: str | None = "filestore0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNFINISHED = sa.text("status IN ('pending', 'sending')")


def upgrade() -> None:
    where = {"postgresql_where": UNFINISHED, "sqlite_where": UNFINISHED}
    op.create_index("ix_outbox_unfinished", "outbox_message", ["id"], **where)
    op.create_index("ix_outbox_unfinished_openid", "outbox_message", ["openid", "id"], **where)


def downgrade() -> None:
    op.drop_index("ix_outbox_unfinished_openid", table_name="outbox_message")
    op.drop_index("ix_outbox_unfinished", table_name="outbox_message")
