"""tally: figure stamps bumped by triggers, memos of figures computed at some stamps, and an index for where the
5.1服务卡 answers start

Every insert, update or delete of `monthly_report` bumps `report:<period>` of each period it touched; every write
to `enterprise` bumps `roster`. PostgreSQL does it once per statement (transition tables, so a COPY of a million
rows costs one upsert per month); SQLite once per row. A memo is valid while the stamps it names are unchanged.

Revision ID: tally0001
Revises: receipt0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "tally0001"
down_revision: str | None = "receipt0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BUMP = "ON CONFLICT (scope) DO UPDATE SET version = figure_stamp.version + 1"

POSTGRESQL = [
    f"""
    CREATE FUNCTION figure_stamp_reports() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP IN ('INSERT', 'UPDATE') THEN
            INSERT INTO figure_stamp (scope, version)
            SELECT 'report:' || period, 1 FROM new_rows GROUP BY period {BUMP};
        END IF;
        IF TG_OP IN ('UPDATE', 'DELETE') THEN
            INSERT INTO figure_stamp (scope, version)
            SELECT 'report:' || period, 1 FROM old_rows GROUP BY period {BUMP};
        END IF;
        RETURN NULL;
    END $$
    """,
    f"""
    CREATE FUNCTION figure_stamp_roster() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO figure_stamp (scope, version) VALUES ('roster', 1) {BUMP};
        RETURN NULL;
    END $$
    """,
    "CREATE TRIGGER report_stamp_insert AFTER INSERT ON monthly_report REFERENCING NEW TABLE AS new_rows"
    " FOR EACH STATEMENT EXECUTE FUNCTION figure_stamp_reports()",
    "CREATE TRIGGER report_stamp_update AFTER UPDATE ON monthly_report"
    " REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION figure_stamp_reports()",
    "CREATE TRIGGER report_stamp_delete AFTER DELETE ON monthly_report REFERENCING OLD TABLE AS old_rows"
    " FOR EACH STATEMENT EXECUTE FUNCTION figure_stamp_reports()",
    # A truncated report table changes every month at once: the roster stamp is part of every memo's stamp.
    "CREATE TRIGGER report_stamp_truncate AFTER TRUNCATE ON monthly_report"
    " FOR EACH STATEMENT EXECUTE FUNCTION figure_stamp_roster()",
    "CREATE TRIGGER roster_stamp AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON enterprise"
    " FOR EACH STATEMENT EXECUTE FUNCTION figure_stamp_roster()",
]

SQLITE_REPORT_TRIGGERS = (("INSERT", "NEW"), ("UPDATE", "NEW"), ("UPDATE", "OLD"), ("DELETE", "OLD"))
SQLITE_ROSTER_TRIGGERS = ("INSERT", "UPDATE", "DELETE")
SQLITE = [
    *(
        f"""
        CREATE TRIGGER report_stamp_{event.lower()}_{row.lower()} AFTER {event} ON monthly_report BEGIN
            INSERT INTO figure_stamp (scope, version) VALUES ('report:' || {row}.period, 1) {BUMP};
        END
        """
        for event, row in SQLITE_REPORT_TRIGGERS
    ),
    *(
        f"""
        CREATE TRIGGER roster_stamp_{event.lower()} AFTER {event} ON enterprise BEGIN
            INSERT INTO figure_stamp (scope, version) VALUES ('roster', 1) {BUMP};
        END
        """
        for event in SQLITE_ROSTER_TRIGGERS
    ),
]


def upgrade() -> None:
    op.create_table(
        "figure_stamp",
        sa.Column("scope", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("scope"),
    )
    op.create_table(
        "figure_memo",
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("stamp", sa.Text(), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    answered = sa.text("card_collected IS NOT NULL")
    op.create_index(
        "ix_report_card_answered", "monthly_report", ["period"], postgresql_where=answered, sqlite_where=answered
    )
    for statement in POSTGRESQL if op.get_bind().dialect.name == "postgresql" else SQLITE:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for trigger, table in (
            ("report_stamp_insert", "monthly_report"),
            ("report_stamp_update", "monthly_report"),
            ("report_stamp_delete", "monthly_report"),
            ("report_stamp_truncate", "monthly_report"),
            ("roster_stamp", "enterprise"),
        ):
            op.execute(f"DROP TRIGGER {trigger} ON {table}")
        op.execute("DROP FUNCTION figure_stamp_reports()")
        op.execute("DROP FUNCTION figure_stamp_roster()")
    else:
        for event, row in SQLITE_REPORT_TRIGGERS:
            op.execute(f"DROP TRIGGER report_stamp_{event.lower()}_{row.lower()}")
        for event in SQLITE_ROSTER_TRIGGERS:
            op.execute(f"DROP TRIGGER roster_stamp_{event.lower()}")
    op.drop_index("ix_report_card_answered", table_name="monthly_report")
    op.drop_table("figure_memo")
    op.drop_table("figure_stamp")
