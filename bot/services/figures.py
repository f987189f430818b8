"""Every figure of a period (docs/figures.md), computed in one place so `统计`, the monthly digest, the work summary
(its text, Word file and appendix) and the exports' 汇总 sheet state the same number for the same period.

The SQL is in `storage.stats` (report coverage and totals, warnings, hardship) and `storage.summary_figures` (what
only the summary states); each figure is computed once here and named twice at most: under the attribute `统计`
and the digest read (`PeriodFigures.shown`) and under its glossary key (`SummaryFigures.by_key`). A rate is
floored to one decimal (`storage.stats.rate`) and is None when there is nothing to divide by.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlmodel import Session

from bot.services import charts, export
from bot.services.export import ColumnKind, window
from config.reporting import reporting
from config.settings import Settings
from config.summary import SummaryConfig, summary_config
from domain.enums import WarningLevel
from domain.periods import Month, Period
from storage import figures as staff_figures
from storage import month_tally, stats, summary_figures
from storage.summary_figures import Value

MONEY = frozenset({"payroll", "dues_accrued", "dues_remitted"})  # the report totals counted in 元, not in units
DISPUTE_GROUPS = ("contract", "wage", "injury")  # the summary's categories of resolved disputes; the rest: other


@dataclass(frozen=True)
class PeriodFigures:
    period: Period
    owed: list[stats.Due]  # the months already asked for, each with the instant its report fell due
    cover: month_tally.Coverage
    totals: month_tally.ReportTotals
    warnings: stats.WarningSummary
    hardship: stats.HardshipSummary

    @property
    def cover_rate(self) -> Decimal | None:
        """报送率 = 已报 ÷ 应报"""
        return stats.rate(self.cover.submitted, self.cover.due)

    @property
    def on_time_rate(self) -> Decimal | None:
        """按时率 = 按时报 ÷ 应报"""
        return stats.rate(self.cover.on_time, self.cover.due)

    @property
    def handled_rate(self) -> Decimal | None:
        """调处率 = 已调处 ÷ 受理"""
        return stats.rate(self.warnings.handled, self.warnings.received)

    @property
    def success_rate(self) -> Decimal | None:
        """成功率 = 已化解 ÷ 已调处"""
        return stats.rate(self.warnings.resolved, self.warnings.handled)

    def shown(self) -> dict[str, Any]:
        """The names `统计` and the digest's templates give these figures."""
        return {
            "cover": self.cover,
            "cover_rate": self.cover_rate,
            "on_time_rate": self.on_time_rate,
            "totals": self.totals,
            "warnings": self.warnings,
            "handled_rate": self.handled_rate,
            "success_rate": self.success_rate,
            "hardship": self.hardship,
        }


def owed_months(period: Period, settings: Settings, today: date) -> list[stats.Due]:
    """The months of `period` whose reports had been asked for by `today` (应报月份)."""
    return stats.due_months(period.start, period.end, today, settings, settings.zone)


def report_totals(session: Session, period: Period, settings: Settings, today: date) -> month_tally.ReportTotals:
    """月报数据合计 (§2) of the reports owed in `period`; the digest compares a month with the one before."""
    return month_tally.report_totals(session, owed_months(period, settings, today))


def monthly_rates(session: Session, months: Sequence[Month], settings: Settings, today: date) -> list[Decimal | None]:
    """Each month's 报送率 on its own, as `统计 <月>` states it (the desk's chart, the appendix's); None for a month
    not asked for yet."""
    owed = stats.due_months(months[0].first_day, months[-1].last_day, today, settings, settings.zone)
    covered = dict(zip((due.month for due in owed), month_tally.coverage_by_month(session, owed), strict=True))
    found = (covered.get(month.key) for month in months)
    return [None if cover is None else stats.rate(cover.submitted, cover.due) for cover in found]


def period_figures(session: Session, period: Period, settings: Settings, today: date) -> PeriodFigures:
    """The figures `统计`, the digest and the 汇总 sheet state for `period`, as known on `today` (the federation's
    date)."""
    start_at, end_at = window(period, settings.zone)
    owed = owed_months(period, settings, today)
    return PeriodFigures(
        period,
        owed,
        month_tally.coverage(session, owed),
        month_tally.report_totals(session, owed),
        stats.warning_summary(session, start_at, end_at),
        stats.hardship_summary(session, start_at, end_at, period.start, period.end),
    )


@dataclass(frozen=True)
class SummaryFigures:
    """Every figure the work summary states: `统计`'s own, and the rest under their glossary keys (§5)."""

    figures: PeriodFigures
    by_key: dict[str, Value]
    staff: dict[str, str]  # the figures staff entered for this period (`数据`), as stored


def summary_figures_of(session: Session, period: Period, settings: Settings, today: date) -> SummaryFigures:
    """`period_figures` and what only the summary adds to them (a dozen more queries, so `统计` does not pay)."""
    found = period_figures(session, period, settings, today)
    owed, cover, totals, warnings, hardship = found.owed, found.cover, found.totals, found.warnings, found.hardship
    start_at, end_at = window(period, settings.zone)
    staff = staff_figures.figures_for(session, staff_figures.period_code(period.start, period.end))
    config = summary_config()
    months = period.months
    by_key: dict[str, Value] = {}
    by_key.update(
        {
            **summary_figures.positions(session, owed),
            **summary_figures.mutual_aid(session, _mutual_aid_month(period, settings, today)),
            **summary_figures.flows(session, owed),
            **_cards(session, period, settings, today, config),
            **summary_figures.roster(session, config),
            **summary_figures.dues(session, owed, config.dues_headcount_threshold),
            "dues_exempt_loss_enterprises": summary_figures.exempt_enterprises(session, months[0].key, months[-1].key),
            "new_hardship_workers": summary_figures.approved_applications(session, start_at, end_at),
            "early_warning_officers": summary_figures.warners(session, end_at),
            "temporary_relief_paid": hardship.paid_amount,
            "reports_due": cover.due,
            "reports_submitted": cover.submitted,
            "reporting_rate": found.cover_rate,
            "reporting_enterprises": totals.enterprises,
            "cases_received": warnings.received,
            "cases_handled": warnings.handled,
            "cases_resolved": warnings.resolved,
            "workers_involved": warnings.workers,
            "amount_involved": warnings.amount,
            "handling_rate": found.handled_rate,
            "success_rate": found.success_rate,
            **_resolved_by_group(warnings, config),
        }
    )
    by_key["union_formation_rate"] = _rate(by_key["enterprises_unionised"], by_key["enterprises_required"])
    by_key["hardship_fund_rate"] = _rate(by_key["hardship_fund_enterprises"], by_key["fund_rate_base"])
    by_key.update(_with_staff(by_key, staff))
    return SummaryFigures(found, by_key, staff)


def _rate(part: Value, whole: Value) -> Decimal | None:
    """`stats.rate` of two figures either of which the data may not know."""
    return None if part is None or whole is None else stats.rate(part, whole)


def staff_number(text: str | None) -> Decimal | None:
    """A number staff entered, as stored (None when not entered)."""
    if text is None:
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


def _with_staff(by_key: Mapping[str, Value], staff: Mapping[str, str]) -> dict[str, Value]:
    """The figures that add or divide a staff entry and a computed figure."""
    parts = [
        by_key["mutual_aid_in_service"],
        staff_number(staff.get("mutual_aid_retired")),
        by_key["mutual_aid_ankang"],
        by_key["mutual_aid_special"],
    ]
    total = None if any(part is None for part in parts) else sum(Decimal(part or 0) for part in parts)
    target = _rate(
        staff_number(staff.get("strong_protection_enterprises")),
        staff_number(staff.get("strong_protection_annual_target")),
    )
    return {"mutual_aid_enrolled_total": total, "strong_protection_target_pct": target}


def _resolved_by_group(warnings: stats.WarningSummary, config: SummaryConfig) -> dict[str, Value]:
    """成功调处 by the summary's groups (config `dispute_categories`); a category no group names counts as other."""
    group_of = {category: group for group in DISPUTE_GROUPS for category in config.dispute_categories.get(group, [])}
    found: dict[str, Value] = {f"resolved_{group}": 0 for group in (*DISPUTE_GROUPS, "other")}
    for category, count in warnings.resolved_by_category:
        key = f"resolved_{group_of.get(category, 'other')}"
        found[key] = int(found[key] or 0) + count
    return found


def _mutual_aid_month(period: Period, settings: Settings, today: date) -> stats.Due | None:
    """The last month up to the period's end whose report asks the mutual-aid enrolment (config/reporting.yaml),
    if its reports have been asked for: the enrolment at period end is what that month's reports state."""
    asked = reporting().seasons.mutual_aid
    last = Month.of(period.end)
    month = next((last.shift(-back) for back in range(12) if last.shift(-back).month in asked), None)
    if month is None:
        return None
    owed = stats.due_months(month.first_day, month.first_day, today, settings, settings.zone)
    return owed[0] if owed else None


def _cards(
    session: Session, period: Period, settings: Settings, today: date, config: SummaryConfig
) -> dict[str, Value]:
    """5.1服务卡 this year (January to period end) and since the system started (plus the configured opening)."""
    first_year = summary_figures.first_card_year(session)
    history = (
        []
        if first_year is None
        else stats.due_months(date(first_year, 1, 1), period.end, today, settings, settings.zone)
    )
    this_year = summary_figures.card_growth(session, history, f"{period.end.year:04d}-01")
    since_start = summary_figures.card_growth(session, history, history[0].month) if history else None
    return {
        "card_info_collected_ytd": None if this_year is None else this_year["card_collected"],
        "card_issued_ytd": None if this_year is None else this_year["card_issued"],
        "card_info_collected_cumulative": None
        if since_start is None
        else config.card_collected_opening + since_start["card_collected"],
        "card_issued_cumulative": None
        if since_start is None
        else config.card_issued_opening + since_start["card_issued"],
    }


def monthly_series(session: Session, period: Period, settings: Settings, today: date) -> charts.MonthlySeries:
    """The appendix's charts (§5.6): 报送率 of each month on its own, as `统计` counts a month; warnings by the
    month they were reported in, in the federation's zone."""
    rates = monthly_rates(session, period.months, settings, today)
    counts = stats.warnings_by_month_and_level(session, period.months, settings.zone)
    warnings = {level: tuple(counts.get((m.key, level.value), 0) for m in period.months) for level in WarningLevel}
    return charts.MonthlySeries(tuple(month.key for month in period.months), tuple(rates), warnings)


def _as_fraction(rate: Decimal | None) -> Decimal | None:
    """A floored percentage (66.6) as the fraction an xlsx `0.0%` cell shows as 66.6%."""
    return None if rate is None else rate / 100


def summary_table(found: PeriodFigures) -> export.Table:
    """The 汇总 sheet: one row of the figures `统计` states for the same period, headed in
    `templates/staff/export/summary.columns.j2`."""
    cover, totals, warnings = found.cover, found.totals, found.warnings
    values: dict[str, tuple[ColumnKind, Any]] = {
        "months": (ColumnKind.COUNT, cover.months),
        "due": (ColumnKind.COUNT, cover.due),
        "submitted": (ColumnKind.COUNT, cover.submitted),
        "cover_rate": (ColumnKind.RATE, _as_fraction(found.cover_rate)),
        "on_time": (ColumnKind.COUNT, cover.on_time),
        "on_time_rate": (ColumnKind.RATE, _as_fraction(found.on_time_rate)),
        **{name: (ColumnKind.COUNT, int(value)) for name, value in totals.stocks.items()},
        **{
            name: (ColumnKind.MONEY if name in MONEY else ColumnKind.COUNT, value if name in MONEY else int(value))
            for name, value in totals.flows.items()
        },
        "warnings_received": (ColumnKind.COUNT, warnings.received),
        "warnings_handled": (ColumnKind.COUNT, warnings.handled),
        "warnings_resolved": (ColumnKind.COUNT, warnings.resolved),
        "handled_rate": (ColumnKind.RATE, _as_fraction(found.handled_rate)),
        "success_rate": (ColumnKind.RATE, _as_fraction(found.success_rate)),
        "relief_payments": (ColumnKind.COUNT, found.hardship.paid_count),
        "relief_paid": (ColumnKind.MONEY, found.hardship.paid_amount),
    }
    headed = export.columns_of("summary")
    columns = [export.Column(header, values[key][0]) for key, header in headed]
    return export.Table(export.labels()["sheet.summary"], columns, [[values[key][1] for key, _ in headed]])
