"""Monthly reports and dues exemptions: revisions of a month's report, and exemption requests and decisions.

A month may be reported again; each submission is a new revision and only the newest `is_latest` counts,
so statistics stay plain `WHERE is_latest` aggregates while the history is kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlmodel import Session, col, select

from domain.enums import RequestState
from domain.workflows.exemption import EXEMPTION
from storage import case_events
from storage.models import CaseEvent, DuesExemption, Enterprise, MonthlyReport

# The answers a report row keeps, by column; everything else in the answers (gates, computed) is form-only.
FIGURES = tuple(
    name
    for name in MonthlyReport.model_fields
    if name
    not in {"id", "submission_id", "enterprise_id", "period", "revision", "is_latest", "submitted_by", "submitted_at"}
)


def latest_report(session: Session, enterprise_id: int, period: str) -> MonthlyReport | None:
    query = select(MonthlyReport).where(
        MonthlyReport.enterprise_id == enterprise_id,
        MonthlyReport.period == period,
        MonthlyReport.is_latest == True,  # noqa: E712
    )
    return session.exec(query).first()


def report_for_submission(session: Session, submission_id: int) -> MonthlyReport | None:
    return session.exec(select(MonthlyReport).where(MonthlyReport.submission_id == submission_id)).first()


def revisions(session: Session, enterprise_id: int, period: str) -> Sequence[MonthlyReport]:
    query = (
        select(MonthlyReport)
        .where(MonthlyReport.enterprise_id == enterprise_id, MonthlyReport.period == period)
        .order_by(col(MonthlyReport.revision))
    )
    return session.exec(query).all()


def as_answers(report: MonthlyReport) -> dict[str, Any]:
    """A stored report in the form engine's JSON answer shapes, to offer as last month's defaults."""
    answers: dict[str, Any] = {}
    for name in FIGURES:
        value = getattr(report, name)
        if value is None:
            continue
        if isinstance(value, Decimal):
            value = str(value)
        elif isinstance(value, date):
            value = value.isoformat()
        answers[name] = value
    return answers


def _column_value(name: str, raw: Any) -> Any:
    if raw is None:
        return None
    annotation = str(MonthlyReport.model_fields[name].annotation)
    if "Decimal" in annotation:
        return Decimal(str(raw))
    if "date" in annotation:
        return date.fromisoformat(str(raw))
    return raw


def write_report(
    session: Session,
    *,
    submission_id: int,
    enterprise_id: int,
    period: str,
    answers: dict[str, Any],
    submitted_by: str,
    now: datetime,
) -> MonthlyReport:
    """A new revision for the month, replacing the previous latest in the same transaction.

    Idempotent by submission: the same submission (a retried 确认) returns the row it already wrote.
    """
    existing = report_for_submission(session, submission_id)
    if existing is not None:
        return existing
    previous = latest_report(session, enterprise_id, period)
    if previous is not None:
        previous.is_latest = False
        session.add(previous)
        session.flush()
    report = MonthlyReport(
        submission_id=submission_id,
        enterprise_id=enterprise_id,
        period=period,
        revision=previous.revision + 1 if previous else 1,
        is_latest=True,
        submitted_by=submitted_by,
        submitted_at=now,
        **{name: _column_value(name, answers.get(name)) for name in FIGURES},
    )
    session.add(report)
    session.flush()
    return report


# -- dues exemptions (亏损免交 / 缓交) -------------------------------------------------------------------------


def exemption_for_submission(session: Session, submission_id: int) -> DuesExemption | None:
    return session.exec(select(DuesExemption).where(DuesExemption.submission_id == submission_id)).first()


def add_exemption(session: Session, exemption: DuesExemption) -> DuesExemption:
    """Idempotent by submission, like the report rows."""
    existing = exemption_for_submission(session, exemption.submission_id)
    if existing is not None:
        return existing
    session.add(exemption)
    session.flush()
    return exemption


def exemption_by_receipt(session: Session, receipt: str) -> DuesExemption | None:
    return session.exec(select(DuesExemption).where(DuesExemption.receipt == receipt)).first()


def pending_exemptions(session: Session) -> Sequence[tuple[DuesExemption, str]]:
    query = (
        select(DuesExemption, Enterprise.name)
        .join(Enterprise, col(Enterprise.id) == DuesExemption.enterprise_id)
        .where(DuesExemption.state == RequestState.PENDING)
        .order_by(col(DuesExemption.id))
    )
    return [(exemption, str(name)) for exemption, name in session.exec(query).all()]


def decide_exemption(
    session: Session, exemption: DuesExemption, decided: RequestState, *, actor: str, note: str, now: datetime
) -> CaseEvent:
    """Record the staff decision (the workflow said it may be made) and its case event together."""
    before = exemption.state
    exemption.state = decided
    exemption.decided_by, exemption.decided_at, exemption.decision_note = actor, now, note or None
    session.add(exemption)
    return case_events.record(session, EXEMPTION, exemption.id, before, decided, actor=actor, note=note, at=now)
