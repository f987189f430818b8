"""月报: one month's reports by enterprise (filed, on time or late, not filed), each report with its revisions, and
催报 to the chairs of an enterprise that has not filed.

The header's figures are `统计`'s (`bot.services.figures`) and the list's definitions are `storage.stats`'s, so
the page, `统计` and `未报` agree on every count.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from bot.services import export, render
from bot.services.figures import period_figures
from bot.services.reminder_job import remind_enterprise
from bot.staff_desk import pages
from bot.staff_desk.auth import Acting, Staff, services
from domain.periods import Month, report_deadline, reporting_month
from storage import desk_reports
from storage.desk_reports import Filed, Filter
from storage.models import Enterprise, MonthlyReport

router = APIRouter()


MONTH_KEY = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")


def parse_month(text: str) -> Month | None:
    """`YYYY-MM`, as the query string and the forms write a month; None for anything else."""
    return Month.parse_key(text) if MONTH_KEY.fullmatch(text.strip()) else None


def _status(text: str) -> Filed:
    try:
        return Filed(text)
    except ValueError:
        return Filed.ALL


@router.get("/desk/reports")
def month_list(
    request: Request, viewer: Staff, month: str = "", status: str = "", q: str = "", community: str = ""
) -> Response:
    found = services(request)
    settings = found.settings
    today = found.clock().astimezone(settings.zone).date()
    collecting = reporting_month(today)
    shown = parse_month(month) or collecting
    wanted = Filter(_status(status), q.strip(), community)
    with found.db.transaction(keep_loaded=True) as session:
        figures = period_figures(session, shown.period, settings, today)
        due = figures.owed[0] if figures.owed else None
        total = desk_reports.count_month(session, shown.key, due, wanted)
        pager = pages.pager(request, total)
        rows = desk_reports.month_rows(session, shown.key, due, wanted, pager.offset, pager.size) if total else []
        communities = desk_reports.communities(session)
        counts = desk_reports.status_counts(session, due)
    return pages.show(
        request,
        viewer,
        "reports.html.j2",
        month=shown,
        collecting=collecting,
        months=[collecting.shift(-back) for back in range(12)],
        figures=figures,
        counts=counts,
        due=due,
        wanted=wanted,
        statuses=list(Filed),
        rows=rows,
        pager=pager,
        communities=communities,
    )


@router.get("/desk/reports/{report_id}")
def report_page(request: Request, viewer: Staff, report_id: str) -> Response:
    found = services(request)
    zone = found.settings.zone
    with found.db.transaction(keep_loaded=True) as session:
        report = session.get(MonthlyReport, int(report_id)) if report_id.isdecimal() else None
        enterprise = session.get(Enterprise, report.enterprise_id) if report else None
        if report is None or enterprise is None:
            return pages.not_found(request, viewer, "月报", "/desk/reports")
        table = export.report_revisions(session, report.enterprise_id, report.period, zone)
    month = Month.parse_key(report.period)
    # Rows of (header, a value per revision, whether it differs from the revision before).
    answers = []
    for index, column in enumerate(table.columns):
        values = [export.cell_text(row[index], column.kind) for row in table.rows]
        older = [*values[1:], None]  # the revision before each (the rows are the latest first)
        changed = [before is not None and value != before for value, before in zip(values, older, strict=True)]
        answers.append((column.header, list(zip(values, changed, strict=True))))
    return pages.show(
        request,
        viewer,
        "report.html.j2",
        report=report,
        enterprise=enterprise,
        month=month,
        deadline=report_deadline(month, found.settings, zone),
        answers=answers,
        revisions=len(table.rows),
    )


@router.post("/desk/reports/remind")
def remind(
    request: Request,
    viewer: Acting,
    enterprise_id: Annotated[str, Form()],
    month: Annotated[str, Form()],
    back: Annotated[str, Form()] = "/desk/reports",
) -> Response:
    """催报: the scheduled reminder's text, now, to the enterprise's chairs; once a day per chair and month."""
    found = services(request)
    settings = found.settings
    now = found.clock()
    target = back if back.startswith("/desk/") else "/desk/reports"
    asked = parse_month(month)
    if asked is None:
        return pages.not_found(request, viewer, "月份", target)
    with found.db.transaction(keep_loaded=True) as session:
        enterprise = session.get(Enterprise, int(enterprise_id)) if enterprise_id.isdecimal() else None
        if enterprise is None or enterprise.id is None:
            return pages.not_found(request, viewer, "企业", target)
        filed = desk_reports.has_filed(session, enterprise.id, asked.key)
        reminded = [] if filed else remind_enterprise(session, settings, enterprise.id, asked, now)
    found.wake_outbox.set()
    notice = render.render(
        "desk/notices/reminded.j2", enterprise=enterprise.name, month=asked, filed=filed, reminded=reminded
    )
    return pages.after_action(target, notice)
