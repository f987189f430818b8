"""数据与总结: the figures staff enter by hand for a period, the half-year summary they feed, and its downloads.

An edit records a figure through the handler `数据 名称 数值` uses (`handlers.summary.record_figure`), so a value is
checked and answered exactly as in the chat. The summary comes from `bot.services.summary.build`, the exports from
`bot.services.export` as `导出` builds them, and every download is written to the audit log as exports are.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response
from markupsafe import Markup, escape
from sqlmodel import Session

from bot.services import document, export, render, summary_appendix
from bot.services import summary as work_summary
from bot.services.figures import period_figures, summary_table
from bot.staff_desk import acting, pages
from bot.staff_desk.auth import Acting, Staff, services
from domain.normalize import ParseError, parse_period
from domain.periods import Period, current_half
from handlers import summary as summary_handlers
from handlers.staff_queries import CHAT_EXPORT_ROWS
from storage import figures
from storage.desk_auth import Viewer
from storage.models import AuditLog

router = APIRouter()

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# What the page's export links say, as `导出` understands them (帮扶 is the applications export).
EXPORT_KINDS = {
    "reports": export.ExportKind.REPORTS,
    "warnings": export.ExportKind.WARNINGS,
    "hardship": export.ExportKind.APPLICATIONS,
}


@dataclass(frozen=True)
class FigureRow:
    """One staff figure of the period: what it is, and its value when entered."""

    key: str
    spec: work_summary.StaffFigureSpec
    value: str | None
    set_at: datetime | None


def _today(request: Request) -> date:
    found = services(request)
    return found.clock().astimezone(found.settings.zone).date()


def _period(text: str, today: date) -> Period | str:
    """The page's period (the current half when none is named), or the chat's words for a phrase it cannot read."""
    try:
        return parse_period(text, today=today, default=current_half(today))
    except ParseError as error:
        return render.render(f"input/{error.reason}.j2", **error.params)


def _code(period: Period) -> str:
    return figures.period_code(period.start, period.end)


def _refused(request: Request, viewer: Viewer, text: str, message: str) -> Response:
    """A period or export the page cannot give: the page with the reason, and nothing else."""
    return pages.show(request, viewer, "data.html.j2", status_code=400, error=message, period_text=text, period=None)


def _rows(session: Session, code: str) -> list[FigureRow]:
    entered = {row.key: row for row in figures.list_figures(session, code)}
    rows = []
    for key, spec in work_summary.summary_config().staff_figures.items():
        row = entered.get(key)
        rows.append(FigureRow(key, spec, row.value if row else None, row.set_at if row else None))
    return rows


@router.get("/desk/data")
def data_page(request: Request, viewer: Staff, period: str = "") -> Response:
    period_or_error = _period(period, _today(request))
    if isinstance(period_or_error, str):
        return _refused(request, viewer, period, period_or_error)
    chosen = period_or_error
    found = services(request)
    with found.db.transaction(keep_loaded=True) as session:
        rows = _rows(session, _code(chosen))
        made = work_summary.build(session, chosen, found.settings, found.clock())
    return pages.show(
        request,
        viewer,
        "data.html.j2",
        period=chosen,
        code=_code(chosen),
        period_text=period,
        rows=rows,
        summary=made,
        preview=preview(made.markdown),
        exports=EXPORT_KINDS,
        error=None,
    )


@router.post("/desk/data/set")
def set_figure(
    request: Request,
    viewer: Acting,
    key: Annotated[str, Form()] = "",
    period: Annotated[str, Form()] = "",
    value: Annotated[str, Form()] = "",
) -> Response:
    period_or_error = _period(period, _today(request))
    if isinstance(period_or_error, str):
        return _refused(request, viewer, period, period_or_error)
    chosen = period_or_error
    said = f"数据 {key} {value} {_code(chosen)}"
    reply = acting.as_if_said(
        request, viewer, said, lambda ctx: summary_handlers.record_figure(ctx, key, value, chosen)
    )
    return pages.after_action(f"/desk/data?{urlencode({'period': _code(chosen)})}#figure-{quote(key)}", reply)


def preview(markdown: str) -> list[Markup]:
    """The summary's Markdown as HTML blocks: `#`…`###` headings one level below the page's own, other lines
    paragraphs; every value escaped, each mark highlighted and a 【待填】 mark linked to its input row (the marks
    reports or the roster will fill are shown paler: nothing on this page fills them)."""
    blocks = []
    for line in markdown.splitlines():
        text = line.strip()
        if not text:
            continue
        level = len(text) - len(text.lstrip("#"))
        if 1 <= level <= 3 and text[level : level + 1] == " ":
            tag, body = f"h{level + 1}", text[level + 1 :]
        else:
            tag, body = "p", text
        blocks.append(Markup("<{0}>{1}</{0}>").format(Markup(tag), _marked(body)))
    return blocks


def _marked(text: str) -> Markup:
    shown = Markup()
    done = 0
    for found in work_summary.MARK.finditer(text):
        shown += escape(text[done : found.start()])
        staff = work_summary.staff_spec(found[2]) if found[1] == work_summary.STAFF_MARK else None
        if staff is None:
            shown += Markup('<mark class="mark awaiting">{}</mark>').format(found[0])
        else:
            shown += Markup('<a href="#figure-{}"><mark class="mark">{}</mark></a>').format(staff[0], found[0])
        done = found.end()
    return shown + escape(text[done:])


def _download(data: bytes, media_type: str, filename: str) -> Response:
    return Response(data, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _audit(session: Session, viewer: Viewer, subject: str, detail: str, now: datetime) -> None:
    """As `导出` and `unionbot export` record every export: who took which data, and from where."""
    session.add(AuditLog(actor=viewer.member.openid, action="export", subject=subject, detail=detail, at=now))


@router.get("/desk/data/summary.docx")
def summary_docx(request: Request, viewer: Staff, period: str = "") -> Response:
    """The 公文 Word file `总结` and `unionbot summary` make, with its appendix."""
    period_or_error = _period(period, _today(request))
    if isinstance(period_or_error, str):
        return _refused(request, viewer, period, period_or_error)
    chosen = period_or_error
    found = services(request)
    now = found.clock()
    with found.db.transaction() as session:
        made = work_summary.build(session, chosen, found.settings, now)
        appendix = summary_appendix.appendix(session, made, found.settings, now)
        data = document.docx_bytes(made.markdown, appendix)
        detail = f"summary {chosen.label} docx missing={len(made.missing)} desk"
        _audit(session, viewer, "summary", detail, now)
    return _download(data, DOCX, f"work-summary-{made.code}.docx")


@router.get("/desk/data/export.xlsx")
def export_xlsx(request: Request, viewer: Staff, kind: Annotated[str, Query()] = "", period: str = "") -> Response:
    """Raw data as `导出` builds it: ID numbers masked, the 汇总 sheet of the same period after the data."""
    chosen_kind = EXPORT_KINDS.get(kind)
    if chosen_kind is None:
        return _refused(request, viewer, period, render.render("staff/export_usage.j2", word=kind))
    today = _today(request)
    period_or_error = _period(period, today)
    if isinstance(period_or_error, str):
        return _refused(request, viewer, period, period_or_error)
    chosen = period_or_error
    found = services(request)
    now, zone = found.clock(), found.settings.zone
    with found.db.transaction() as session:
        rows = export.count_rows(session, chosen_kind, chosen, zone)
        if rows > CHAT_EXPORT_ROWS:
            message = render.render("staff/export_too_large.j2", kind=chosen_kind.value, period=chosen, rows=rows)
            return _refused(request, viewer, period, message)
        table = export.build(session, chosen_kind, chosen, zone)
        totals = summary_table(period_figures(session, chosen, found.settings, today))
        data = export.encode(table, export.ExportFormat.XLSX, totals)
        detail = f"{chosen_kind.value} {chosen.label} xlsx rows={len(table.rows)} desk"
        _audit(session, viewer, chosen_kind.value, detail, now)
    return _download(data, XLSX, f"{chosen_kind.value}-{_code(chosen)}.xlsx")
