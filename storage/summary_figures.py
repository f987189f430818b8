"""The SQL behind the figures only the work summary states (docs/figures.md §5): positions at period end, seasonal
answers, the roster, dues by enterprise size. `bot/services/figures.py` calls these beside `storage.stats` and
derives every rate; nothing here repeats a figure `storage.stats` already counts.

Reports count only when owed (`storage.stats.owed_reports`: the enterprise was on the roster when the report fell
due), in their latest revision, exactly as 应报/已报 count them. A figure is None when the data cannot say (no
report answered that question), so the summary marks it instead of printing 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from functools import partial
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlmodel import Session, col

from config.summary import SummaryConfig
from domain.enums import HardshipState, RequestState, Role
from storage import figure_memo, stats
from storage.models import CaseEvent, DuesExemption, Enterprise, Member, MonthlyReport

Value = Decimal | int | None

EXEMPTION_KIND = "免交"
# "百人以上企业帮困基金实现全覆盖": enterprises reporting at least this many employees.
HUNDRED = 100


def _int(value: Any) -> int:
    return int(value or 0)


def _known_count(count: Any, known: Any) -> int | None:
    """A count of yes-answers means nothing when nobody answered the question."""
    return int(count) if known else None


def _money(value: Any) -> Decimal | None:
    return None if value is None else Decimal(value)


def _whole(value: Any) -> int | None:
    return None if value is None else int(value)


def _yes(column: Any) -> Any:
    return func.count(case((column.is_(True), 1)))


def _owed(query: Any, dues: Sequence[stats.Due]) -> Any:
    """`query` over MonthlyReport kept to the latest revisions of owed reports."""
    return query.join(Enterprise, col(Enterprise.id) == col(MonthlyReport.enterprise_id)).where(
        col(MonthlyReport.is_latest).is_(True), stats.owed_reports(dues)
    )


def _last_of_each(query: Any, dues: Sequence[stats.Due], answered: Any = None) -> Any:
    """`query` over MonthlyReport kept to each enterprise's last owed report in the months of `dues` (with
    `answered`, the last one that answered it)."""
    months: Any = select(col(MonthlyReport.enterprise_id).label("eid"), func.max(MonthlyReport.period).label("month"))
    if answered is not None:
        months = months.where(answered)
    last = _owed(months, dues).group_by(col(MonthlyReport.enterprise_id)).subquery()
    return query.join(
        last, and_(col(MonthlyReport.enterprise_id) == last.c.eid, col(MonthlyReport.period) == last.c.month)
    ).where(col(MonthlyReport.is_latest).is_(True))


def positions(session: Session, dues: Sequence[stats.Due]) -> dict[str, Value]:
    return figure_memo.over_months(session, "positions", dues, lambda: _positions(session, dues))


def _positions(session: Session, dues: Sequence[stats.Due]) -> dict[str, Value]:
    """Positions at period end, from each enterprise's last owed report: hardship funds, service points, mediation
    committees, enterprises of a hundred employees or more."""
    if not dues:
        return dict.fromkeys(
            (
                "hardship_fund_enterprises",
                "hardship_fund_total",
                "enterprise_service_points",
                "mediation_committee_enterprises",
            )
        ) | {"hundred_plus_enterprises": 0, "hundred_plus_funds": 0}
    report = MonthlyReport
    hundred = col(report.employees) >= HUNDRED
    query = select(
        _yes(report.has_hardship_fund),
        func.count(col(report.has_hardship_fund)),
        func.sum(report.hardship_fund_balance),
        _yes(report.has_service_point),
        func.count(col(report.has_service_point)),
        _yes(report.has_mediation_committee),
        func.count(col(report.has_mediation_committee)),
        func.count(case((hundred, 1))),
        func.count(case((and_(hundred, col(report.has_hardship_fund).is_(True)), 1))),
    ).select_from(report)
    row = session.execute(_last_of_each(query, dues)).one()
    funds, funds_known, fund_total, points, points_known, committees, committees_known, big, big_funds = row
    return {
        "hardship_fund_enterprises": _known_count(funds, funds_known),
        "hardship_fund_total": _money(fund_total),
        "enterprise_service_points": _known_count(points, points_known),
        "mediation_committee_enterprises": _known_count(committees, committees_known),
        "hundred_plus_enterprises": _int(big),
        "hundred_plus_funds": _int(big_funds),
    }


def mutual_aid(session: Session, asked: stats.Due | None) -> dict[str, Value]:
    months = [asked] if asked else []
    return figure_memo.over_months(session, "mutual_aid", months, lambda: _mutual_aid(session, asked))


def _mutual_aid(session: Session, asked: stats.Due | None) -> dict[str, Value]:
    """Medical mutual-aid enrolment as the owed reports of `asked`, the month whose form asks it, state it (the
    enrolment is asked in its season only; every other report leaves it empty)."""
    report = MonthlyReport
    enrolled = (
        func.coalesce(report.mutual_aid_in_service, 0)
        + func.coalesce(report.mutual_aid_ankang, 0)
        + func.coalesce(report.mutual_aid_special, 0)
    )
    answered = or_(
        col(report.mutual_aid_in_service).is_not(None),
        col(report.mutual_aid_ankang).is_not(None),
        col(report.mutual_aid_special).is_not(None),
    )
    full = and_(col(report.employees) > 0, col(report.mutual_aid_in_service) >= col(report.employees))
    row: Sequence[Any] = (None, None, None, 0, 0, 0)
    if asked is not None:
        query = select(
            func.sum(report.mutual_aid_in_service),
            func.sum(report.mutual_aid_ankang),
            func.sum(report.mutual_aid_special),
            func.count(case((enrolled > 0, 1))),
            func.count(case((full, 1))),
            func.count(case((answered, 1))),
        ).select_from(report)
        row = session.execute(_owed(query, [asked])).one()
    in_service, ankang, special, units, full_units, known = row
    return {
        "mutual_aid_in_service": _whole(in_service),
        "mutual_aid_ankang": _whole(ankang),
        "mutual_aid_special": _whole(special),
        "mutual_aid_units": _known_count(units, known),
        "mutual_aid_full_units": _known_count(full_units, known),
    }


def flows(session: Session, dues: Sequence[stats.Due]) -> dict[str, Value]:
    return figure_memo.over_months(session, "flows", dues, lambda: _flows(session, dues))


def _flows(session: Session, dues: Sequence[stats.Due]) -> dict[str, Value]:
    """Sums over the owed reports of the period: festival visits and re-elections."""
    report = MonthlyReport
    row: Sequence[Any] = (None, None, 0, 0)
    if dues:
        query = select(
            func.sum(report.festival_visited),
            func.sum(report.festival_amount),
            func.count(func.distinct(case((col(report.reelected_this_month).is_(True), report.enterprise_id)))),
            func.count(col(report.reelected_this_month)),
        ).select_from(report)
        row = session.execute(_owed(query, dues)).one()
    visited, amount, reelected, reelected_known = row
    return {
        "festival_visited_workers": _whole(visited),
        "festival_condolence_amount": _money(amount),
        "unions_reelected": _known_count(reelected, reelected_known),
    }


CARD_FIELDS = ("card_collected", "card_issued")


def first_card_year(session: Session) -> int | None:
    """The year of the first report that answered the 5.1服务卡 questions (where a cumulative count starts)."""
    first = session.execute(
        select(func.min(MonthlyReport.period)).where(col(MonthlyReport.card_collected).is_not(None))
    ).scalar_one()
    return None if first is None else int(str(first)[:4])


def _card_totals_at(session: Session, dues: Sequence[stats.Due]) -> dict[str, int] | None:
    """Σ over enterprises of each one's last answered year-to-date value in the months of `dues` (one year)."""
    if not dues:
        return None
    answered = col(MonthlyReport.card_collected).is_not(None)
    query = select(func.count(), *(func.sum(getattr(MonthlyReport, name)) for name in CARD_FIELDS))
    row = session.execute(_last_of_each(query.select_from(MonthlyReport), dues, answered)).one()
    if not row[0]:
        return None
    return {name: _int(value) for name, value in zip(CARD_FIELDS, row[1:], strict=True)}


def card_growth(session: Session, history: Sequence[stats.Due], since: str) -> dict[str, int] | None:
    """How much the 5.1服务卡 figures grew from the month `since` to the last month of `history` (owed months that
    reach back at least to January of `since`'s year). The form asks them year to date (今年), so within a year
    the growth is each enterprise's last value minus its last value before `since` (nothing to subtract from
    January on); a span of years adds each year's growth. None when no report in the span answered."""
    grown = partial(_card_growth, session, history, since)
    found = figure_memo.over_months(session, "card_growth", history, grown, since)
    return {name: int(found[name] or 0) for name in CARD_FIELDS} if found else None


def _card_growth(session: Session, history: Sequence[stats.Due], since: str) -> dict[str, Value]:
    """`card_growth`, empty where it is None."""
    found: dict[str, int] | None = None
    for year in sorted({due.month[:4] for due in history if due.month >= since}):
        of_year = [due for due in history if due.month[:4] == year]
        end = _card_totals_at(session, of_year)
        if end is None:
            continue
        start = _card_totals_at(session, [due for due in of_year if due.month < since])
        grew = {name: end[name] - (start or {}).get(name, 0) for name in CARD_FIELDS}
        found = grew if found is None else {name: found[name] + grew[name] for name in CARD_FIELDS}
    return dict(found or {})


def roster(session: Session, config: SummaryConfig) -> dict[str, Value]:
    """组建率's parts from the roster as it stands: enterprises not removed with at least the configured employees."""
    should = func.count(case((col(Enterprise.employees) >= config.formation_min_employees, 1)))
    unionised = func.count(
        case((and_(col(Enterprise.employees) >= config.formation_min_employees, col(Enterprise.has_union)), 1))
    )
    fund_base = func.count(
        case((and_(col(Enterprise.employees) >= config.fund_min_employees, col(Enterprise.has_union)), 1))
    )
    row = session.execute(select(should, unionised, fund_base).where(col(Enterprise.removed_at).is_(None))).one()
    return {
        "enterprises_required": _int(row[0]),
        "enterprises_unionised": _int(row[1]),
        "fund_rate_base": _int(row[2]),
    }


def approved_applications(session: Session, start: datetime, end: datetime) -> int:
    """新增困难职工: applications that became approved in [start, end) (`CaseEvent`)."""
    approved = session.execute(
        select(func.count(func.distinct(CaseEvent.case_id))).where(
            col(CaseEvent.case_kind) == "hardship",
            col(CaseEvent.to_state) == HardshipState.APPROVED,
            col(CaseEvent.at) >= start,
            col(CaseEvent.at) < end,
        )
    ).scalar_one()
    return int(approved)


def warners(session: Session, end: datetime) -> int:
    """预警员 bound at `end`: bound before it and not deactivated by then."""
    count = session.execute(
        select(func.count()).where(
            col(Member.role) == Role.WARNER,
            col(Member.bound_at) < end,
            or_(
                and_(col(Member.active).is_(True), col(Member.deactivated_at).is_(None)),
                col(Member.deactivated_at) >= end,
            ),
        )
    ).scalar_one()
    return int(count)


def dues(session: Session, owed: Sequence[stats.Due], threshold: int) -> dict[str, Value]:
    return figure_memo.over_months(session, "dues", owed, lambda: _dues(session, owed, threshold), threshold)


def _dues(session: Session, owed: Sequence[stats.Due], threshold: int) -> dict[str, Value]:
    """Dues accrued and remitted in the owed reports, split at the headcount threshold (roster employees)."""
    report = MonthlyReport
    large = col(Enterprise.employees) >= threshold
    row: Sequence[Any] = (0, None, None, None)
    if owed:
        query = select(
            func.count(func.distinct(case((and_(large, col(report.dues_accrued).is_not(None)), report.enterprise_id)))),
            func.sum(case((large, report.dues_accrued))),
            func.sum(case((large, report.dues_remitted))),
            func.sum(case((large, None), else_=report.dues_remitted)),
        ).select_from(report)
        row = session.execute(_owed(query, owed)).one()
    return {
        "dues_large_enterprises": _int(row[0]),
        "dues_accrued_large": _money(row[1]),
        "district_remit_amount": _money(row[2]),
        "subdistrict_remit_amount": _money(row[3]),
    }


def exempt_enterprises(session: Session, first_month: str, last_month: str) -> int:
    """Enterprises with an approved 免交 whose months meet the period's."""
    exempt = session.execute(
        select(func.count(func.distinct(DuesExemption.enterprise_id))).where(
            col(DuesExemption.state) == RequestState.APPROVED,
            col(DuesExemption.kind) == EXEMPTION_KIND,
            col(DuesExemption.first_month) <= last_month,
            col(DuesExemption.last_month) >= first_month,
        )
    ).scalar_one()
    return int(exempt)
