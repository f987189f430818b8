"""The figures of a period, computed in one place so `统计`, the monthly digest and the exports' 汇总 sheet agree.

Each figure is defined in docs/figures.md; the SQL behind them is `storage.stats`. A rate is floored to one
decimal (`storage.stats.rate`) and is None when there is nothing to divide by.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlmodel import Session

from bot.services import export
from bot.services.export import ColumnKind, window
from config.settings import Settings
from domain.periods import Period
from storage import stats

MONEY = frozenset({"payroll", "dues_accrued", "dues_remitted"})  # the report totals counted in 元, not in units


@dataclass(frozen=True)
class PeriodFigures:
    period: Period
    owed: list[stats.Due]  # the months already asked for, each with the instant its report fell due
    cover: stats.Coverage
    totals: stats.ReportTotals
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


def period_figures(session: Session, period: Period, settings: Settings, today: date) -> PeriodFigures:
    """Every figure of `period` as known on `today` (the federation's date)."""
    months = stats.months_between(period.start, period.end)
    start_at, end_at = window(period, settings.zone)
    owed = stats.due_months(period.start, period.end, today, settings, settings.zone)
    return PeriodFigures(
        period=period,
        owed=owed,
        cover=stats.coverage(session, owed),
        totals=stats.report_totals(session, months[0], months[-1]),
        warnings=stats.warning_summary(session, start_at, end_at),
        hardship=stats.hardship_summary(session, start_at, end_at, period.start, period.end),
    )


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
