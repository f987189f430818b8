"""Figures for staff queries, the digest and the half-year summary: set-based SQL aggregates, never row loops.

Functions take report months (`"YYYY-MM"`, inclusive range) or a UTC time window, so any summary can reuse
them. Reports count only in their latest revision (`is_latest`), which `ix_report_latest` serves.
One module on purpose (past 400 lines): the aggregates share their filters, so the same period counts the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import ROUND_DOWN, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, case, exists, func, literal, or_, true
from sqlalchemy import select as columns_select  # sqlmodel.select is typed for at most four columns
from sqlmodel import Session, col, select

from domain.enums import HardshipState, Role, WarningState
from domain.periods import Month, ReportingDays, months_from, report_deadline, reporting_month
from storage.models import CaseEvent, DisputeWarning, Enterprise, HardshipApplication, Member, MonthlyReport

# Flows are summed over the months of a period; stocks are read from each enterprise's last report in it.
FLOWS = (
    "new_members",
    "lost_members",
    "payroll",
    "dues_accrued",
    "dues_remitted",
    "activities",
    "trainings",
    "disputes",
)
STOCKS = ("employees", "members")

# A warning is handled (调处) once it reached an outcome; it is resolved (化解) when that outcome was agreement.
HANDLED_STATES = (
    WarningState.RESOLVED,
    WarningState.FAILED,
    WarningState.REFERRED,
    WarningState.FOLLOW_UP,
    WarningState.CLOSED,
)
OPEN_WARNING_STATES = (
    WarningState.SUBMITTED,
    WarningState.ACKNOWLEDGED,
    WarningState.VERIFYING,
    WarningState.MEDIATING,
)
PENDING_REVIEW_STATES = (HardshipState.SUBMITTED, HardshipState.VISITED, HardshipState.NOTICE)
OPEN_HARDSHIP_STATES = (*PENDING_REVIEW_STATES, HardshipState.RETURNED, HardshipState.APPROVED)


def months_between(start: date, end: date) -> list[str]:
    """The keys of every report month from the month of `start` to the month of `end`."""
    return [month.key for month in months_from(start, end)]


@dataclass(frozen=True)
class Due:
    """A report month and the instant its report fell due (the end of the due day)."""

    month: str
    by: datetime


def due_months(start: date, end: date, today: date, days: ReportingDays, zone: ZoneInfo) -> list[Due]:
    """Months of a period whose reports have been asked for by `today`: up to the month being collected now.
    `统计` and the half-year summary both divide by these, so a half-year still running is not judged on months
    nobody could report yet."""
    current = reporting_month(today)
    months = [month for month in months_from(start, end) if month <= current]
    return [Due(month.key, report_deadline(month, days, zone)) for month in months]


def on_roster(due: Due) -> ColumnElement[bool]:
    """应报: an enterprise with a union owes a month's report when it was on the roster, and not yet removed from it,
    when that report fell due (domain §1.0; docs/figures.md)."""
    return and_(
        col(Enterprise.has_union) == true(),
        col(Enterprise.created_at) < due.by,
        or_(col(Enterprise.removed_at).is_(None), col(Enterprise.removed_at) >= due.by),
    )


def owed_reports(dues: Sequence[Due]) -> ColumnElement[bool]:
    """A report row (joined to its enterprise) for a month that enterprise owed."""
    return or_(*(and_(col(MonthlyReport.period) == due.month, on_roster(due)) for due in dues))


def _owed_count(dues: Sequence[Due]) -> Any:
    """How many of `dues` the enterprise of the row owed."""
    return sum((case((on_roster(due), 1), else_=0) for due in dues), start=literal(0))


def rate(part: int | Decimal, whole: int | Decimal) -> Decimal | None:
    """A percentage floored to one decimal (domain §1.0: never round a rate up); None when nothing is due."""
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"), rounding=ROUND_DOWN)


def _latest_in(first: str, last: str) -> ColumnElement[bool]:
    return and_(col(MonthlyReport.period).between(first, last), col(MonthlyReport.is_latest) == true())


def _number(value: Any) -> Decimal:
    return Decimal(value or 0)


# -- Monthly reports -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Missing:
    """An enterprise that owed some month's report and has not filed it: which months, and who its chairs are."""

    enterprise_id: int
    name: str
    months: list[str]
    chairs: list[str] = field(default_factory=list)


def _reported_count(dues: Sequence[Due]) -> Any:
    """The owed months an enterprise (of the outer query) has filed, probed per enterprise: cheap when walking
    enterprises by name up to a limit (the list)."""
    own = and_(
        col(MonthlyReport.enterprise_id) == col(Enterprise.id),
        col(MonthlyReport.is_latest) == true(),
        owed_reports(dues),
    )
    return select(func.count()).select_from(MonthlyReport).where(own).correlate(Enterprise).scalar_subquery()


def missing_count(session: Session, dues: Sequence[Due]) -> int:
    """Counting all of them is cheaper with one hashed pass of report counts."""
    if not dues:
        return 0
    reported = (
        columns_select(col(MonthlyReport.enterprise_id).label("enterprise_id"), func.count().label("reported"))
        .join(Enterprise, col(Enterprise.id) == col(MonthlyReport.enterprise_id))
        .where(col(MonthlyReport.is_latest) == true(), owed_reports(dues))
        .group_by(col(MonthlyReport.enterprise_id))
        .subquery()
    )
    query = (
        select(func.count())
        .select_from(Enterprise)
        .outerjoin(reported, reported.c.enterprise_id == col(Enterprise.id))
        .where(func.coalesce(reported.c.reported, 0) < _owed_count(dues))
    )
    return int(session.exec(query).one())


def missing_reports(session: Session, dues: Sequence[Due], limit: int) -> list[Missing]:
    """The first `limit` enterprises by name that miss an owed month; their months and chairs for those few only."""
    if not dues:
        return []
    query = select(Enterprise).where(_reported_count(dues) < _owed_count(dues))
    rows = list(session.exec(query.order_by(col(Enterprise.name), col(Enterprise.id)).limit(limit)).all())
    ids = [row.id for row in rows if row.id is not None]
    present: dict[int, set[str]] = {enterprise_id: set() for enterprise_id in ids}
    months = [due.month for due in dues]
    for enterprise_id, period in session.exec(
        select(MonthlyReport.enterprise_id, MonthlyReport.period).where(
            _latest_in(months[0], months[-1]), col(MonthlyReport.enterprise_id).in_(ids)
        )
    ).all():
        present[enterprise_id].add(period)
    chairs = chairs_of(session, ids)
    return [
        Missing(
            enterprise_id=row.id or 0,
            name=row.name,
            months=[due.month for due in dues if owed(row, due) and due.month not in present[row.id or 0]],
            chairs=chairs.get(row.id or 0, []),
        )
        for row in rows
    ]


def owed(enterprise: Enterprise, due: Due) -> bool:
    """`on_roster` for one enterprise already read."""
    removed = enterprise.removed_at
    return enterprise.has_union and enterprise.created_at < due.by and (removed is None or removed >= due.by)


def chairs_of(session: Session, enterprise_ids: Sequence[int]) -> dict[int, list[str]]:
    """The active chairs' names of a few enterprises."""
    found: dict[int, list[str]] = {}
    rows = session.exec(
        select(Member.enterprise_id, Member.name)
        .where(
            col(Member.enterprise_id).in_(enterprise_ids),
            col(Member.role) == Role.CHAIR,
            col(Member.active) == true(),
        )
        .order_by(col(Member.name))
    ).all()
    for enterprise_id, name in rows:
        if enterprise_id is not None:
            found.setdefault(enterprise_id, []).append(name)
    return found


# -- Warnings ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WarningSummary:
    """Warnings reported in a window, each in the state it was in at the window's end (docs/figures.md §3)."""

    received: int
    handled: int
    resolved: int
    workers: int
    amount: Decimal
    by_category: list[tuple[str, int]]
    by_level: list[tuple[str, int]]
    by_state: list[tuple[str, int]]
    resolved_by_category: list[tuple[str, int]]  # the resolved ones by the category the form recorded


def _warnings_in(start_at: datetime, end_at: datetime) -> ColumnElement[bool]:
    return and_(col(DisputeWarning.created_at) >= start_at, col(DisputeWarning.created_at) < end_at)


def state_at(kind: str, case_id: Any, current: Any, at: datetime) -> Any:
    """A case's state at `at`: where its last move before then led (`CaseEvent`), so a past period's figures do not
    change as its cases move on. A case with no recorded move keeps its current state."""
    moved = (
        select(CaseEvent.to_state)
        .where(col(CaseEvent.case_kind) == kind, col(CaseEvent.case_id) == case_id, col(CaseEvent.at) < at)
        .order_by(col(CaseEvent.at).desc(), col(CaseEvent.id).desc())
        .limit(1)
        .scalar_subquery()
    )
    return func.coalesce(moved, current)


def _resolved(state: Any, at: datetime) -> ColumnElement[bool]:
    """Resolved at `at`, or resolved before moving on to the follow-up visit and closing."""
    was_resolved = exists().where(
        col(CaseEvent.case_kind) == "warning",
        col(CaseEvent.case_id) == col(DisputeWarning.id),
        col(CaseEvent.to_state) == WarningState.RESOLVED,
        col(CaseEvent.at) < at,
    )
    later = state.in_((WarningState.FOLLOW_UP, WarningState.CLOSED))
    return or_(state == WarningState.RESOLVED, and_(later, was_resolved))


def _grouped(session: Session, column: Any, where: ColumnElement[bool] | None = None) -> list[tuple[str, int]]:
    query = columns_select(column, func.count())
    if where is not None:
        query = query.where(where)
    rows = session.execute(query.group_by(column).order_by(func.count().desc(), column))
    return [(str(key), int(count)) for key, count in rows.all()]


def warning_summary(session: Session, start_at: datetime, end_at: datetime) -> WarningSummary:
    """Warnings reported in [start_at, end_at), counted by their state at `end_at`."""
    state = state_at("warning", col(DisputeWarning.id), col(DisputeWarning.state), end_at)
    rows = (
        columns_select(
            state.label("state"),
            case((_resolved(state, end_at), 1), else_=0).label("resolved"),
            col(DisputeWarning.workers).label("workers"),
            col(DisputeWarning.amount).label("amount"),
            col(DisputeWarning.category).label("category"),
            col(DisputeWarning.level).label("level"),
        )
        .where(_warnings_in(start_at, end_at))
        .subquery("warnings_then")
    )
    handled = case((rows.c.state.in_(HANDLED_STATES), 1), else_=0)
    row = session.execute(
        columns_select(
            func.count(),
            func.coalesce(func.sum(handled), 0),
            func.coalesce(func.sum(rows.c.resolved), 0),
            func.coalesce(func.sum(rows.c.workers), 0),
            func.coalesce(func.sum(rows.c.amount), 0),
        )
    ).one()
    return WarningSummary(
        received=int(row[0]),
        handled=int(row[1]),
        resolved=int(row[2]),
        workers=int(row[3]),
        amount=_number(row[4]),
        by_category=_grouped(session, rows.c.category),
        by_level=_grouped(session, rows.c.level),
        by_state=_grouped(session, rows.c.state),
        resolved_by_category=_grouped(session, rows.c.category, rows.c.resolved == 1),
    )


def warnings_by_month_and_level(
    session: Session, months: Sequence[Month], zone: ZoneInfo
) -> dict[tuple[str, str], int]:
    """Warnings reported in each of `months` (consecutive, local calendar months), counted by (month key, level).

    One pass: a row's month is found by comparing its time with the months' first instants in the federation's
    zone, so SQLite and PostgreSQL count alike without time-zone functions of their own.
    """
    if not months:
        return {}
    starts = [datetime.combine(month.first_day, time(0), tzinfo=zone) for month in [*months, months[-1].shift(1)]]
    created = col(DisputeWarning.created_at)
    boundaries = zip(months, starts[1:-1], strict=False)  # a row before the next month's start is in this month
    month: Any = literal(months[-1].key)
    if len(months) > 1:
        month = case(*((created < start, literal(earlier.key)) for earlier, start in boundaries), else_=month)
    rows = (
        columns_select(month.label("month"), col(DisputeWarning.level).label("level"))
        .where(_warnings_in(starts[0], starts[-1]))
        .subquery()
    )
    counted = session.execute(
        columns_select(rows.c.month, rows.c.level, func.count()).group_by(rows.c.month, rows.c.level)
    )
    return {(str(key), str(level)): int(count) for key, level, count in counted.all()}


def open_warnings(session: Session, states: Sequence[str], limit: int) -> list[tuple[DisputeWarning, str]]:
    """Warnings in `states`, oldest first, with their enterprise's name ('' when not on the roster)."""
    rows = session.exec(
        select(DisputeWarning, func.coalesce(Enterprise.name, ""))
        .outerjoin(Enterprise, col(Enterprise.id) == col(DisputeWarning.enterprise_id))
        .where(col(DisputeWarning.state).in_(states))
        .order_by(col(DisputeWarning.created_at), col(DisputeWarning.id))
        .limit(limit)
    ).all()
    return [(warning, str(name)) for warning, name in rows]


def count_warnings(session: Session, states: Sequence[str], before: datetime | None = None) -> int:
    """Warnings in `states`; with `before`, only those reported earlier (e.g. open past the mediation period)."""
    query = select(func.count()).select_from(DisputeWarning).where(col(DisputeWarning.state).in_(states))
    if before is not None:
        query = query.where(col(DisputeWarning.created_at) < before)
    return int(session.exec(query).one())


def warnings_of(session: Session, enterprise_id: int, states: Sequence[str]) -> list[DisputeWarning]:
    query = (
        select(DisputeWarning)
        .where(col(DisputeWarning.enterprise_id) == enterprise_id, col(DisputeWarning.state).in_(states))
        .order_by(col(DisputeWarning.created_at))
    )
    return list(session.exec(query).all())


# -- Hardship ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HardshipSummary:
    applied: int
    by_state: list[tuple[str, int]]  # each application in its state at the window's end
    paid_count: int
    paid_amount: Decimal


def hardship_summary(
    session: Session, start_at: datetime, end_at: datetime, first: date, last: date
) -> HardshipSummary:
    """Applications made in [start_at, end_at); relief paid on the days first..last."""
    window = and_(col(HardshipApplication.created_at) >= start_at, col(HardshipApplication.created_at) < end_at)
    state = state_at("hardship", col(HardshipApplication.id), col(HardshipApplication.state), end_at)
    made = columns_select(state.label("state")).where(window).subquery("applications_then")
    by_state = _grouped(session, made.c.state)
    paid = session.exec(
        select(func.count(), func.coalesce(func.sum(HardshipApplication.paid_amount), 0)).where(
            col(HardshipApplication.paid_on).between(first, last), col(HardshipApplication.paid_amount).is_not(None)
        )
    ).one()
    return HardshipSummary(
        applied=sum(count for _, count in by_state),
        by_state=by_state,
        paid_count=int(paid[0]),
        paid_amount=_number(paid[1]),
    )


def applications(
    session: Session, states: Sequence[str], limit: int, enterprise_id: int | None = None, offset: int = 0
) -> list[tuple[HardshipApplication, str]]:
    """Applications in `states`, oldest first, with the enterprise's name; `offset` pages the desk's queue."""
    query = (
        select(HardshipApplication, Enterprise.name)
        .join(Enterprise, col(Enterprise.id) == col(HardshipApplication.enterprise_id))
        .where(col(HardshipApplication.state).in_(states))
    )
    if enterprise_id is not None:
        query = query.where(col(HardshipApplication.enterprise_id) == enterprise_id)
    query = query.order_by(col(HardshipApplication.created_at), col(HardshipApplication.id))
    rows = session.exec(query.offset(offset).limit(limit))
    return [(application, str(name)) for application, name in rows.all()]


def count_applications(session: Session, states: Sequence[str]) -> int:
    query = select(func.count()).select_from(HardshipApplication).where(col(HardshipApplication.state).in_(states))
    return int(session.exec(query).one())


# -- Enterprises ---------------------------------------------------------------------------------------------


def name_contains(text: str) -> ColumnElement[bool]:
    """The enterprise's name holds `text` as typed (`%` and `_` in it are plain characters)."""
    pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return col(Enterprise.name).like(pattern, escape="\\")


def name_or_credit_code(text: str) -> ColumnElement[bool]:
    """What staff type to find an enterprise: a part of its name, or its whole credit code."""
    return or_(name_contains(text), col(Enterprise.credit_code) == text.upper())


def find_enterprises(session: Session, text: str, limit: int) -> list[Enterprise]:
    """By exact credit code, else by a part of the name."""
    exact = session.exec(select(Enterprise).where(col(Enterprise.credit_code) == text.upper())).first()
    if exact is not None:
        return [exact]
    query = (
        select(Enterprise)
        .where(name_contains(text))
        .order_by(func.length(Enterprise.name), col(Enterprise.name))
        .limit(limit)
    )
    return list(session.exec(query).all())


def recent_reports(session: Session, enterprise_id: int, limit: int) -> list[MonthlyReport]:
    query = (
        select(MonthlyReport)
        .where(col(MonthlyReport.enterprise_id) == enterprise_id, col(MonthlyReport.is_latest) == true())
        .order_by(col(MonthlyReport.period).desc())
        .limit(limit)
    )
    return list(session.exec(query).all())
