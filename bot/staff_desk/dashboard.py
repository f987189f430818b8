"""概览: the month being collected and the one before, open warnings, applications waiting for staff.

The report figures come from `bot.services.figures`, the module `统计` reads, so both say the same numbers; the
breakdown by 社区 counts the same way (`storage.desk_dashboard`), so a month's communities add up to its total.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlmodel import Session

from bot.services import export, figures
from bot.services.figures import PeriodFigures, period_figures
from bot.staff_desk import pages, warnings
from bot.staff_desk.auth import Staff, services
from bot.staff_desk.rate_chart import RateChart, rate_chart
from config.settings import Settings
from domain.periods import Month, reporting_month
from storage import desk_dashboard, month_tally, stats

router = APIRouter()
CHART_MONTHS = 12


@dataclass(frozen=True)
class Overdue:
    """Enterprises that have not filed the latest month whose report is past its deadline."""

    month: Month
    enterprises: int


def _rate_history(session: Session, settings: Settings, today: date) -> RateChart:
    """The last twelve months' report rates, oldest first, as `统计 <月>` states each."""
    last = reporting_month(today)
    months = [last.shift(offset - CHART_MONTHS + 1) for offset in range(CHART_MONTHS)]
    return rate_chart(list(zip(months, figures.monthly_rates(session, months, settings, today), strict=True)))


def _by_community(
    months: list[Month], per_month: list[list[desk_dashboard.CommunityCoverage]]
) -> list[tuple[str, list[tuple[Month, desk_dashboard.CommunityCoverage | None]]]]:
    """One row per community, a cell per month (None where the community owed and filed nothing that month)."""
    found = [{row.community: row for row in rows} for rows in per_month]
    names = sorted({name for rows in found for name in rows})
    return [(name, [(month, rows.get(name)) for month, rows in zip(months, found, strict=True)]) for name in names]


def _overdue(session: Session, shown: list[PeriodFigures], now: datetime) -> Overdue | None:
    """The newest month of `shown` whose deadline has passed, and how many enterprises still owe it."""
    for found in shown:
        past = [due for due in found.owed if due.by <= now]
        if past:
            return Overdue(Month.parse_key(past[-1].month), month_tally.missing_count(session, past[-1:]))
    return None


@router.get("/desk")
def dashboard(request: Request, viewer: Staff) -> Response:
    found = services(request)
    settings = found.settings
    now = found.clock()
    today = now.astimezone(settings.zone).date()
    collecting = reporting_month(today)
    months = [collecting, collecting.shift(-1)]
    with found.db.transaction(keep_loaded=True) as session:
        shown = [period_figures(session, month.period, settings, today) for month in months]
        communities = _by_community(months, [desk_dashboard.coverage_by_community(session, f.owed) for f in shown])
        chart = _rate_history(session, settings, today)
        overdue = _overdue(session, shown, now)
        by_state = desk_dashboard.applications_by_state(session)
        open_warnings = stats.count_warnings(session, stats.OPEN_WARNING_STATES)
        waiting = stats.count_applications(session, stats.PENDING_REVIEW_STATES)
        warnings_overview = warnings.overview(session, found.clock(), settings.zone)
    return pages.show(
        request,
        viewer,
        "dashboard.html.j2",
        months=list(zip(months, shown, strict=True)),
        communities=communities,
        chart=chart,
        overdue=overdue,
        by_state=by_state,
        labels=export.labels(),
        open_warnings=open_warnings,
        waiting=waiting,
        warnings_overview=warnings_overview,
    )
