"""The data-derived figures of the half-year work summary (domain §1.2 sources (i) and (ii)), as SQL aggregates.

Conventions (domain §1.0): stocks are read at period end from each enterprise's latest report of the last month it
reported in the period; flows are summed over the period. A figure is None when the data cannot say (no report
answered that question, or a rate with nothing to divide by), so the summary marks it instead of printing 0.

The warning figures (调处率/成功率) and relief paid come from `storage.stats`, which the staff `统计` query uses too,
so the summary and the chat never disagree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, case, func, literal, or_, select
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col

from domain.enums import HardshipState, RequestState, Role
from domain.periods import Month
from storage import stats
from storage.models import CaseEvent, DisputeWarning, DuesExemption, Enterprise, Member, MonthlyReport

Value = Decimal | int | None

# Categories of a dispute as the summary breaks them down (seed §四.2); anything unmapped counts as "other".
DISPUTE_GROUPS = ("contract", "wage", "injury")
EXEMPTION_KIND = "免交"
# "百人以上企业帮困基金实现全覆盖": enterprises reporting at least this many employees.
HUNDRED = 100


@dataclass(frozen=True)
class Rules:
    """The configurable parts of the definitions (config/summary.yaml): denominators, thresholds, categories."""

    formation_min_employees: int = 0
    fund_min_employees: int = 0
    dues_headcount_threshold: int = 25
    dispute_categories: Mapping[str, Sequence[str]] = field(default_factory=dict)
    card_collected_opening: int = 0
    card_issued_opening: int = 0


@dataclass(frozen=True)
class Window:
    """A period as report months ("YYYY-MM") and as aware UTC instants [start, end) in the federation's zone."""

    first_day: date
    last_day: date
    first_month: str
    last_month: str
    start: datetime
    end: datetime

    @classmethod
    def of(cls, first_day: date, last_day: date, zone: ZoneInfo) -> Window:
        start = datetime.combine(first_day, time(0), tzinfo=zone)
        end = datetime.combine(last_day + timedelta(days=1), time(0), tzinfo=zone)
        return cls(first_day, last_day, Month.of(first_day).key, Month.of(last_day).key, start, end)


def percent(numerator: Value, denominator: Value) -> Decimal | None:
    """numerator ÷ denominator × 100, exact; None when either is unknown or the denominator is 0."""
    if numerator is None or denominator is None or denominator == 0:
        return None
    return Decimal(numerator) * 100 / Decimal(denominator)


def floor1(value: Decimal | None) -> Decimal | None:
    """For "___%以上": never claim more than was reached."""
    return None if value is None else value.quantize(Decimal("0.1"), rounding=ROUND_DOWN)


def wan(value: Value) -> Decimal | None:
    """元 → 万元 with 2 decimals, as the sentences that say 万元 print it."""
    return None if value is None else (Decimal(value) / 10000).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _int(value: Any) -> int:
    return int(value or 0)


def _known_count(count: Any, known: Any) -> int | None:
    """A count of yes-answers means nothing when nobody answered the question."""
    return int(count) if known else None


def _money(value: Any) -> Decimal | None:
    return None if value is None else Decimal(value)


def _yes(column: Any) -> Any:
    return func.count(case((column.is_(True), 1)))


def _latest_in(window_first: str, window_last: str) -> ColumnElement[bool]:
    return and_(
        col(MonthlyReport.is_latest).is_(True),
        col(MonthlyReport.period) >= window_first,
        col(MonthlyReport.period) <= window_last,
    )


def _stock_join(query: Select[Any], window: Window) -> Select[Any]:
    """Restrict `query` over MonthlyReport to each enterprise's latest report of its last reported month."""
    last = (
        select(col(MonthlyReport.enterprise_id).label("eid"), func.max(MonthlyReport.period).label("month"))
        .where(_latest_in(window.first_month, window.last_month))
        .group_by(col(MonthlyReport.enterprise_id))
        .subquery()
    )
    return query.join(
        last, and_(col(MonthlyReport.enterprise_id) == last.c.eid, col(MonthlyReport.period) == last.c.month)
    ).where(col(MonthlyReport.is_latest).is_(True))


def stocks(session: Session, window: Window) -> dict[str, Value]:
    """Positions at period end: hardship funds, service points, mediation committees, mutual-aid enrolment."""
    report = MonthlyReport
    enrolled = (
        func.coalesce(report.mutual_aid_in_service, 0)
        + func.coalesce(report.mutual_aid_ankang, 0)
        + func.coalesce(report.mutual_aid_special, 0)
    )
    any_enrolment_answer = or_(
        col(report.mutual_aid_in_service).is_not(None),
        col(report.mutual_aid_ankang).is_not(None),
        col(report.mutual_aid_special).is_not(None),
    )
    full = and_(col(report.employees) > 0, col(report.mutual_aid_in_service) >= col(report.employees))
    query = select(
        func.count(),
        _yes(report.has_hardship_fund),
        func.count(col(report.has_hardship_fund)),
        func.sum(report.hardship_fund_balance),
        _yes(report.has_service_point),
        func.count(col(report.has_service_point)),
        _yes(report.has_mediation_committee),
        func.count(col(report.has_mediation_committee)),
        func.sum(report.mutual_aid_in_service),
        func.sum(report.mutual_aid_ankang),
        func.sum(report.mutual_aid_special),
        func.count(case((enrolled > 0, 1))),
        func.count(case((full, 1))),
        func.count(case((any_enrolment_answer, 1))),
        func.count(case((col(report.employees) >= HUNDRED, 1))),
        func.count(case((and_(col(report.employees) >= HUNDRED, col(report.has_hardship_fund).is_(True)), 1))),
    ).select_from(report)
    row = session.execute(_stock_join(query, window)).one()
    (
        reporting,
        funds,
        funds_known,
        fund_total,
        points,
        points_known,
        committees,
        committees_known,
        in_service,
        ankang,
        special,
        units,
        full_units,
        enrolment_known,
        hundred,
        hundred_funds,
    ) = row
    return {
        "reporting_enterprises": _int(reporting),
        "hardship_fund_enterprises": _known_count(funds, funds_known),
        "hardship_fund_total": _money(fund_total),
        "enterprise_service_points": _known_count(points, points_known),
        "mediation_committee_enterprises": _known_count(committees, committees_known),
        "mutual_aid_in_service": None if in_service is None else int(in_service),
        "mutual_aid_ankang": None if ankang is None else int(ankang),
        "mutual_aid_special": None if special is None else int(special),
        "mutual_aid_units": _known_count(units, enrolment_known),
        "mutual_aid_full_units": _known_count(full_units, enrolment_known),
        "hundred_plus_enterprises": _int(hundred),
        "hundred_plus_funds": _int(hundred_funds),
    }


def flows(session: Session, window: Window) -> dict[str, Value]:
    """Sums over the period's latest report revisions: festival visits and re-elections."""
    report = MonthlyReport
    row = session.execute(
        select(
            func.sum(report.festival_visited),
            func.sum(report.festival_amount),
            func.count(func.distinct(case((col(report.reelected_this_month).is_(True), report.enterprise_id)))),
            func.count(col(report.reelected_this_month)),
        ).where(_latest_in(window.first_month, window.last_month))
    ).one()
    visited, amount, reelected, reelected_known = row
    return {
        "festival_visited_workers": None if visited is None else int(visited),
        "festival_condolence_amount": _money(amount),
        "unions_reelected": _known_count(reelected, reelected_known),
    }


def cards(session: Session, window: Window, rules: Rules) -> dict[str, Value]:
    """5.1服务卡: year to date (January to period end) and cumulative (opening balance plus every report)."""
    report = MonthlyReport
    year_start = f"{window.last_day.year}-01"

    def sums(first_month: str) -> tuple[Any, Any]:
        row = session.execute(
            select(func.sum(report.card_collected), func.sum(report.card_issued)).where(
                _latest_in(first_month, window.last_month)
            )
        ).one()
        return row[0], row[1]

    collected_ytd, issued_ytd = sums(year_start)
    collected_all, issued_all = sums("0000-00")
    return {
        "card_info_collected_ytd": None if collected_ytd is None else int(collected_ytd),
        "card_issued_ytd": None if issued_ytd is None else int(issued_ytd),
        "card_info_collected_cumulative": None
        if collected_all is None
        else rules.card_collected_opening + int(collected_all),
        "card_issued_cumulative": None if issued_all is None else rules.card_issued_opening + int(issued_all),
    }


def organisation(session: Session, window: Window, rules: Rules, owed: Sequence[stats.Due]) -> dict[str, Value]:
    """组建率 = unionised ÷ enterprises that should have a union (on the roster now, not removed, employees ≥ the
    configured minimum); the reporting rate as `统计` states it (`storage.stats.coverage` over the months asked for)."""
    should = func.count(case((col(Enterprise.employees) >= rules.formation_min_employees, 1)))
    unionised = func.count(
        case((and_(col(Enterprise.employees) >= rules.formation_min_employees, col(Enterprise.has_union)), 1))
    )
    fund_base = func.count(
        case((and_(col(Enterprise.employees) >= rules.fund_min_employees, col(Enterprise.has_union)), 1))
    )
    on_roster = col(Enterprise.removed_at).is_(None)
    should_n, unionised_n, fund_base_n = session.execute(select(should, unionised, fund_base).where(on_roster)).one()
    reporting = stats.coverage(session, owed)
    return {
        "enterprises_required": _int(should_n),
        "enterprises_unionised": _int(unionised_n),
        "fund_rate_base": _int(fund_base_n),
        "reports_due": reporting.due,
        "reports_submitted": reporting.submitted,
    }


def hardship(session: Session, window: Window) -> dict[str, Value]:
    """新增困难职工: applications approved in the period (CaseEvent); relief paid as `storage.stats` sums it."""
    approved = session.execute(
        select(func.count(func.distinct(CaseEvent.case_id))).where(
            col(CaseEvent.case_kind) == "hardship",
            col(CaseEvent.to_state) == HardshipState.APPROVED,
            col(CaseEvent.at) >= window.start,
            col(CaseEvent.at) < window.end,
        )
    ).scalar_one()
    relief = stats.hardship_summary(session, window.start, window.end, window.first_day, window.last_day)
    return {"new_hardship_workers": int(approved), "temporary_relief_paid": relief.paid_amount}


def _category_group(rules: Rules) -> Any:
    whens = [
        (col(DisputeWarning.category).in_(list(rules.dispute_categories.get(group, ()))), group)
        for group in DISPUTE_GROUPS
        if rules.dispute_categories.get(group)
    ]
    return case(*whens, else_=literal("other")) if whens else literal("other")


def warning_outcomes(session: Session, window: Window, rules: Rules) -> dict[str, Value]:
    """Warnings received in the period, as `storage.stats.warning_summary` counts them (the one definition of
    调处率 = handled ÷ received and 成功率 = resolved ÷ handled), with the resolved ones by summary category."""
    summary = stats.warning_summary(session, window.start, window.end)
    group = _category_group(rules).label("grp")
    rows = session.execute(
        select(group, func.count())
        .where(stats._warnings_in(window.start, window.end), stats._resolved())
        .group_by(group)
    ).all()
    resolved_by = {str(name): int(count) for name, count in rows}
    figures: dict[str, Value] = {
        "cases_received": summary.received,
        "workers_involved": summary.workers,
        "amount_involved": summary.amount,
        "cases_handled": summary.handled,
        "cases_resolved": summary.resolved,
        "handling_rate": percent(summary.handled, summary.received),
        "success_rate": percent(summary.resolved, summary.handled),
    }
    for name in (*DISPUTE_GROUPS, "other"):
        figures[f"resolved_{name}"] = resolved_by.get(name, 0)
    return figures


def warners(session: Session, window: Window) -> int:
    """预警员 bound on the period's last day: bound before its end and not deactivated by then."""
    count = session.execute(
        select(func.count()).where(
            col(Member.role) == Role.WARNER,
            col(Member.bound_at) < window.end,
            or_(
                and_(col(Member.active).is_(True), col(Member.deactivated_at).is_(None)),
                col(Member.deactivated_at) >= window.end,
            ),
        )
    ).scalar_one()
    return int(count)


def dues(session: Session, window: Window, rules: Rules) -> dict[str, Value]:
    """Dues accrued and remitted in the period, split at the headcount threshold (roster employees)."""
    report = MonthlyReport
    large = col(Enterprise.employees) >= rules.dues_headcount_threshold
    row = session.execute(
        select(
            func.count(func.distinct(case((and_(large, col(report.dues_accrued).is_not(None)), report.enterprise_id)))),
            func.sum(case((large, report.dues_accrued))),
            func.sum(case((large, report.dues_remitted))),
            func.sum(case((large, None), else_=report.dues_remitted)),
        )
        .join(Enterprise, col(Enterprise.id) == col(report.enterprise_id))
        .where(_latest_in(window.first_month, window.last_month))
    ).one()
    exempt = session.execute(
        select(func.count(func.distinct(DuesExemption.enterprise_id))).where(
            col(DuesExemption.state) == RequestState.APPROVED,
            col(DuesExemption.kind) == EXEMPTION_KIND,
            col(DuesExemption.first_month) <= window.last_month,
            col(DuesExemption.last_month) >= window.first_month,
        )
    ).scalar_one()
    return {
        "dues_large_enterprises": int(row[0]),
        "dues_accrued_large": _money(row[1]),
        "district_remit_amount": _money(row[2]),
        "subdistrict_remit_amount": _money(row[3]),
        "dues_exempt_loss_enterprises": int(exempt),
    }


def compute(session: Session, window: Window, rules: Rules, owed: Sequence[stats.Due]) -> dict[str, Value]:
    """Every (i)/(ii) figure of the summary for one period, with the derived rates; `owed` are its months already
    asked for (`storage.stats.due_months`)."""
    figures: dict[str, Value] = {}
    figures.update(stocks(session, window))
    figures.update(flows(session, window))
    figures.update(cards(session, window, rules))
    figures.update(organisation(session, window, rules, owed))
    figures.update(hardship(session, window))
    figures.update(warning_outcomes(session, window, rules))
    figures.update(dues(session, window, rules))
    figures["early_warning_officers"] = warners(session, window)
    figures["union_formation_rate"] = percent(figures["enterprises_unionised"], figures["enterprises_required"])
    figures["hardship_fund_rate"] = percent(figures["hardship_fund_enterprises"], figures["fund_rate_base"])
    figures["reporting_rate"] = percent(figures["reports_submitted"], figures["reports_due"])
    return figures
