"""workflows: monthly reports, exemptions, warnings, hardship, case events, audit, files

Revision ID: ae498d0eeeff
Revises: 09edb3fa6790
Create Date: 2026-11-25 06:26:36.283938
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = "ae498d0eeeff"
down_revision: str | None = "09edb3fa6790"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("subject", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("detail", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_actor"), ["actor"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_log_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_log_subject"), ["subject"], unique=False)

    op.create_table(
        "case_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("from_state", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("to_state", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("case_event", schema=None) as batch_op:
        batch_op.create_index("ix_case_event_case", ["case_kind", "case_id"], unique=False)

    op.create_table(
        "stored_file",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("media_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("owner", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("uploaded_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("path", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
        sa.Column("content_type", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("size", sa.Integer(), nullable=True),
        sa.Column("sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("received_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("stored_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("media_id"),
    )
    with op.batch_alter_table("stored_file", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_stored_file_owner"), ["owner"], unique=False)

    op.create_table(
        "dispute_warning",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("receipt", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=True),
        sa.Column("reporter", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("found_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("place", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("category", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("workers", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("demands", sa.Text(), nullable=False),
        sa.Column("signs", sa.JSON(), nullable=False),
        sa.Column("measures", sa.Text(), nullable=False),
        sa.Column("photos", sa.JSON(), nullable=False),
        sa.Column("phone", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("level", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("computed_level", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("level_reasons", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("acknowledged_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("mediation_started_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("outcome_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("closed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("escalated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprise.id"],
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submission.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("receipt"),
    )
    with op.batch_alter_table("dispute_warning", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dispute_warning_category"), ["category"], unique=False)
        batch_op.create_index(batch_op.f("ix_dispute_warning_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_dispute_warning_enterprise_id"), ["enterprise_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_dispute_warning_level"), ["level"], unique=False)
        batch_op.create_index(batch_op.f("ix_dispute_warning_reporter"), ["reporter"], unique=False)
        batch_op.create_index(batch_op.f("ix_dispute_warning_state"), ["state"], unique=False)

    op.create_table(
        "dues_exemption",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("receipt", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("first_month", sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
        sa.Column("last_month", sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("requested_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("requested_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("decided_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("decided_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("decision_note", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprise.id"],
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submission.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("receipt"),
    )
    with op.batch_alter_table("dues_exemption", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dues_exemption_enterprise_id"), ["enterprise_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_dues_exemption_state"), ["state"], unique=False)

    op.create_table(
        "hardship_application",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("receipt", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("chair", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("worker_name", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
        sa.Column("id_number_enc", sa.Text(), nullable=False),
        sa.Column("id_digest", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("id_masked", sqlmodel.sql.sqltypes.AutoString(length=18), nullable=False),
        sa.Column("phone_enc", sa.Text(), nullable=False),
        sa.Column("category", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("suggested_category", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("causes", sa.JSON(), nullable=False),
        sa.Column("household_enc", sa.Text(), nullable=False),
        sa.Column("household_size", sa.Integer(), nullable=False),
        sa.Column("annual_income", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("rigid_expenses", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("per_capita_monthly", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("help_kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("amount_requested", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("description_enc", sa.Text(), nullable=False),
        sa.Column("photos", sa.JSON(), nullable=False),
        sa.Column("consent_version", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("consent_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("duplicate_of", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("return_reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("approved_category", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("approved_amount", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("paid_amount", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("paid_on", sa.Date(), nullable=True),
        sa.Column("notice_start", sa.Date(), nullable=True),
        sa.Column("notice_end", sa.Date(), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprise.id"],
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submission.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("receipt"),
    )
    with op.batch_alter_table("hardship_application", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_hardship_application_chair"), ["chair"], unique=False)
        batch_op.create_index(batch_op.f("ix_hardship_application_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_hardship_application_enterprise_id"), ["enterprise_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_hardship_application_id_digest"), ["id_digest"], unique=False)
        batch_op.create_index(batch_op.f("ix_hardship_application_state"), ["state"], unique=False)

    op.create_table(
        "monthly_report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("period", sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("is_latest", sa.Boolean(), nullable=False),
        sa.Column("submitted_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("submitted_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("employees", sa.Integer(), nullable=True),
        sa.Column("members", sa.Integer(), nullable=True),
        sa.Column("new_members", sa.Integer(), nullable=True),
        sa.Column("lost_members", sa.Integer(), nullable=True),
        sa.Column("payroll", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("dues_accrued", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("dues_remitted", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("activities", sa.Integer(), nullable=True),
        sa.Column("activity_participants", sa.Integer(), nullable=True),
        sa.Column("trainings", sa.Integer(), nullable=True),
        sa.Column("training_participants", sa.Integer(), nullable=True),
        sa.Column("disputes", sa.Integer(), nullable=True),
        sa.Column("disputes_contract", sa.Integer(), nullable=True),
        sa.Column("disputes_wage", sa.Integer(), nullable=True),
        sa.Column("disputes_injury", sa.Integer(), nullable=True),
        sa.Column("disputes_other", sa.Integer(), nullable=True),
        sa.Column("dispute_workers", sa.Integer(), nullable=True),
        sa.Column("dispute_amount", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("disputes_settled", sa.Integer(), nullable=True),
        sa.Column("has_risk", sa.Boolean(), nullable=True),
        sa.Column("hardship_workers", sa.Integer(), nullable=True),
        sa.Column("care_visits", sa.Integer(), nullable=True),
        sa.Column("care_amount", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("has_hardship_fund", sa.Boolean(), nullable=True),
        sa.Column("hardship_fund_balance", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("hardship_fund_paid", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("hardship_fund_aided", sa.Integer(), nullable=True),
        sa.Column("has_service_point", sa.Boolean(), nullable=True),
        sa.Column("has_mediation_committee", sa.Boolean(), nullable=True),
        sa.Column("mutual_aid_in_service", sa.Integer(), nullable=True),
        sa.Column("mutual_aid_ankang", sa.Integer(), nullable=True),
        sa.Column("mutual_aid_special", sa.Integer(), nullable=True),
        sa.Column("festival_visited", sa.Integer(), nullable=True),
        sa.Column("festival_amount", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("card_collected", sa.Integer(), nullable=True),
        sa.Column("card_issued", sa.Integer(), nullable=True),
        sa.Column("collective_contract_signed", sa.Boolean(), nullable=True),
        sa.Column("collective_contract_expires", sa.Date(), nullable=True),
        sa.Column("union_term_expires", sa.Date(), nullable=True),
        sa.Column("reelected_this_month", sa.Boolean(), nullable=True),
        sa.Column("remarks", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprise.id"],
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submission.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("monthly_report", schema=None) as batch_op:
        batch_op.create_index("ix_report_latest", ["period", "is_latest"], unique=False)
        batch_op.create_index("ux_report_revision", ["enterprise_id", "period", "revision"], unique=True)

    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.add_column(sa.Column("on_duty", sa.Boolean(), nullable=False, server_default=sa.true()))


def downgrade() -> None:

    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.drop_column("on_duty")

    with op.batch_alter_table("monthly_report", schema=None) as batch_op:
        batch_op.drop_index("ux_report_revision")
        batch_op.drop_index("ix_report_latest")

    op.drop_table("monthly_report")
    with op.batch_alter_table("hardship_application", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_hardship_application_state"))
        batch_op.drop_index(batch_op.f("ix_hardship_application_id_digest"))
        batch_op.drop_index(batch_op.f("ix_hardship_application_enterprise_id"))
        batch_op.drop_index(batch_op.f("ix_hardship_application_created_at"))
        batch_op.drop_index(batch_op.f("ix_hardship_application_chair"))

    op.drop_table("hardship_application")
    with op.batch_alter_table("dues_exemption", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dues_exemption_state"))
        batch_op.drop_index(batch_op.f("ix_dues_exemption_enterprise_id"))

    op.drop_table("dues_exemption")
    with op.batch_alter_table("dispute_warning", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dispute_warning_state"))
        batch_op.drop_index(batch_op.f("ix_dispute_warning_reporter"))
        batch_op.drop_index(batch_op.f("ix_dispute_warning_level"))
        batch_op.drop_index(batch_op.f("ix_dispute_warning_enterprise_id"))
        batch_op.drop_index(batch_op.f("ix_dispute_warning_created_at"))
        batch_op.drop_index(batch_op.f("ix_dispute_warning_category"))

    op.drop_table("dispute_warning")
    with op.batch_alter_table("stored_file", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stored_file_owner"))

    op.drop_table("stored_file")
    with op.batch_alter_table("case_event", schema=None) as batch_op:
        batch_op.drop_index("ix_case_event_case")

    op.drop_table("case_event")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_subject"))
        batch_op.drop_index(batch_op.f("ix_audit_log_at"))
        batch_op.drop_index(batch_op.f("ix_audit_log_actor"))

    op.drop_table("audit_log")
