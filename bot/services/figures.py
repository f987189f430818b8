"""The figures of a period, computed in one place so `统计`, the monthly digest and the exports' totals agree.

Each figure is defined in docs/figures.md; the SQL behind them is `storage.stats`. A rate is floored to one
decimal (`storage.stats.rate`) and is None when there is nothing to divide by.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlmodel import Session

from bot.services.export import window
from config.settings import Settings
from domain.periods import Period
from storage import stats


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
