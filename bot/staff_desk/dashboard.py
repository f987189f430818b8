"""概览: the month being collected and the one before, open warnings, applications waiting for staff.

The report figures come from `bot.services.figures`, the module `统计` reads, so both say the same numbers.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from bot.services.figures import period_figures
from bot.staff_desk import pages, warnings
from bot.staff_desk.auth import Staff, services
from domain.periods import reporting_month
from storage import stats

router = APIRouter()


@router.get("/desk")
def dashboard(request: Request, viewer: Staff) -> Response:
    found = services(request)
    settings = found.settings
    today = found.clock().astimezone(settings.zone).date()
    collecting = reporting_month(today)
    months = [collecting, collecting.shift(-1)]
    with found.db.transaction(keep_loaded=True) as session:
        figures = [period_figures(session, month.period, settings, today) for month in months]
        open_warnings = stats.count_warnings(session, stats.OPEN_WARNING_STATES)
        waiting = stats.count_applications(session, stats.PENDING_REVIEW_STATES)
        warnings_overview = warnings.overview(session, found.clock(), settings.zone)
    return pages.show(
        request,
        viewer,
        "dashboard.html.j2",
        months=list(zip(months, figures, strict=True)),
        open_warnings=open_warnings,
        waiting=waiting,
        warnings_overview=warnings_overview,
    )
