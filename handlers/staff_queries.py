"""Staff ask for figures and lists by short messages: 统计, 未报, 预警, 待审, 企业, 导出.

Every figure comes from `storage.stats` (SQL aggregates); long answers are left to the paging layer. Anyone who
is not staff is refused politely, except `预警`, which chairs and warners use to file a warning.
"""

from __future__ import annotations

from bot.services import export, links
from bot.services.figures import period_figures as figures_of
from bot.services.figures import summary_table
from domain import timefmt
from domain.commands import Command
from domain.enums import Role, WarningState
from domain.normalize import ParseError, parse_period
from domain.periods import Period, reporting_month
from domain.warning_rules import MEDIATION_DAYS, current_mediation_day
from handlers.context import Context
from storage import hardship as cases
from storage import identity, month_tally, stats
from storage.models import AuditLog, HardshipApplication, Member

LIST_LIMIT = 200
REPORT_HISTORY = 6
# Larger exports take longer than a chat reply may; the CLI (`unionbot export`) has no limit.
CHAT_EXPORT_ROWS = 50_000
# What staff type after `预警`, and the states each word means.
WARNING_STATE_WORDS: dict[str, tuple[str, ...]] = {
    "已上报": (WarningState.SUBMITTED,),
    "上报": (WarningState.SUBMITTED,),
    "已签收": (WarningState.ACKNOWLEDGED,),
    "签收": (WarningState.ACKNOWLEDGED,),
    "核实中": (WarningState.VERIFYING,),
    "核实": (WarningState.VERIFYING,),
    "调处中": (WarningState.MEDIATING,),
    "调处": (WarningState.MEDIATING,),
    "已化解": (WarningState.RESOLVED,),
    "化解": (WarningState.RESOLVED,),
    "未化解": (WarningState.FAILED,),
    "已转办": (WarningState.REFERRED,),
    "转办": (WarningState.REFERRED,),
    "不属实": (WarningState.VOID,),
    "撤销": (WarningState.VOID,),
    "回访": (WarningState.FOLLOW_UP,),
    "已结案": (WarningState.CLOSED,),
    "结案": (WarningState.CLOSED,),
}
EXPORT_WORDS = {
    "reports": export.ExportKind.REPORTS,
    "月报": export.ExportKind.REPORTS,
    "warnings": export.ExportKind.WARNINGS,
    "预警": export.ExportKind.WARNINGS,
    "applications": export.ExportKind.APPLICATIONS,
    "帮扶": export.ExportKind.APPLICATIONS,
}


# -- Periods -------------------------------------------------------------------------------------------------


def read_period(ctx: Context, text: str) -> tuple[Period, bool] | str:
    """The period and whether it was the default; or the reply explaining what periods look like."""
    today = ctx.local_now.date()
    try:
        return parse_period(text, today=today, default=reporting_month(today).period), not text
    except ParseError as error:
        return ctx.render("staff/bad_period.j2", reason=f"input/{error.reason}.j2", **error.params)


# -- Commands ------------------------------------------------------------------------------------------------


STAFF_WORDS = ("统计", "未报", "待审", "企业", "导出")


def refuse(ctx: Context) -> str:
    return ctx.render("staff/refused.j2")


def figures(ctx: Context, command: Command) -> str:
    read = read_period(ctx, command.args)
    if isinstance(read, str):
        return read
    period, default = read
    found = figures_of(ctx.session, period, ctx.settings, ctx.local_now.date())
    owed = found.owed
    return ctx.render(
        "staff/stats.j2",
        period=period,
        default=default,
        due_first=owed[0].month if owed else None,
        due_last=owed[-1].month if owed else None,
        **found.shown(),
        labels=export.labels(),
    )


def missing(ctx: Context, command: Command) -> str:
    read = read_period(ctx, command.args)
    if isinstance(read, str):
        return read
    period, default = read
    due = stats.due_months(period.start, period.end, ctx.local_now.date(), ctx.settings, ctx.settings.zone)
    return ctx.render(
        "staff/missing.j2",
        period=period,
        default=default,
        months=[month.month for month in due],
        total=month_tally.missing_count(ctx.session, due),
        rows=stats.missing_reports(ctx.session, due, LIST_LIMIT),
        limit=LIST_LIMIT,
    )


def warnings(ctx: Context, command: Command) -> str:
    word = command.args
    states = stats.OPEN_WARNING_STATES if not word else WARNING_STATE_WORDS.get(word)
    if states is None:
        return ctx.render("staff/bad_state.j2", word=word)
    today = ctx.local_now.date()
    rows = [
        {
            "warning": warning,
            "enterprise": enterprise,
            "age": timefmt.days_between(warning.created_at, ctx.now, ctx.settings.zone),
            "closed": timefmt.span(warning.created_at, warning.closed_at, ctx.settings.zone)
            if warning.closed_at
            else None,
            "mediation_day": current_mediation_day(
                warning.state, warning.mediation_started_at, ctx.now, ctx.settings.zone
            ),
        }
        for warning, enterprise in stats.open_warnings(ctx.session, states, LIST_LIMIT)
    ]
    return ctx.render(
        "staff/warnings.j2",
        word=word,
        today=today,
        rows=rows,
        total=stats.count_warnings(ctx.session, states),
        limit=LIST_LIMIT,
        mediation_days=MEDIATION_DAYS,
        labels=export.labels(),
    )


def pending(ctx: Context, command: Command) -> str:
    rows = stats.applications(ctx.session, stats.PENDING_REVIEW_STATES, LIST_LIMIT)
    _audit_view(ctx, "hardship:pending", [application for application, _ in rows])
    return ctx.render(
        "staff/pending.j2",
        rows=rows,
        total=stats.count_applications(ctx.session, stats.PENDING_REVIEW_STATES),
        limit=LIST_LIMIT,
        zone=ctx.settings.zone,
        labels=export.labels(),
    )


def _audit_view(ctx: Context, subject: str, shown: list[HardshipApplication]) -> None:
    cases.audit_shown(ctx.session, actor=ctx.openid, subject=subject, shown=shown, now=ctx.now)


def enterprise(ctx: Context, command: Command) -> str:
    text = command.args
    if not text:
        return ctx.render("staff/enterprise_usage.j2")
    found = stats.find_enterprises(ctx.session, text, 10)
    if len(found) != 1:
        return ctx.render("staff/enterprise_choices.j2", text=text, found=found)
    company = found[0]
    company_id = company.id or 0
    hardship = stats.applications(ctx.session, stats.OPEN_HARDSHIP_STATES, LIST_LIMIT, company_id)
    _audit_view(ctx, f"enterprise:{company.credit_code}", [application for application, _ in hardship])
    return ctx.render(
        "staff/enterprise.j2",
        company=company,
        reports=stats.recent_reports(ctx.session, company_id, REPORT_HISTORY),
        warnings=stats.warnings_of(ctx.session, company_id, stats.OPEN_WARNING_STATES),
        hardship=[application for application, _ in hardship],
        chairs=[_contact(m) for m in identity.contacts_of(ctx.session, company_id, Role.CHAIR)],
        warners=[_contact(m) for m in identity.contacts_of(ctx.session, company_id, Role.WARNER)],
        zone=ctx.settings.zone,
        labels=export.labels(),
    )


def _contact(member: Member) -> str:
    """“张三 13812345678”: whom staff call, as the member gave it after binding (我的信息)."""
    return " ".join(part for part in (member.name or "（未留姓名）", member.mobile) if part)


def export_link(ctx: Context, command: Command) -> str:
    word, _, rest = command.args.partition(" ")
    kind = EXPORT_WORDS.get(word.lower())
    if kind is None:
        return ctx.render("staff/export_usage.j2", word=word)
    read = read_period(ctx, rest.strip())
    if isinstance(read, str):
        return read
    period, default = read
    rows = export.count_rows(ctx.session, kind, period, ctx.settings.zone)
    if rows > CHAT_EXPORT_ROWS:
        return ctx.render("staff/export_too_large.j2", kind=kind.value, period=period, rows=rows)
    table = export.build(ctx.session, kind, period, ctx.settings.zone)
    summary = summary_table(figures_of(ctx.session, period, ctx.settings, ctx.local_now.date()))
    data = export.encode(table, export.ExportFormat.XLSX, summary)
    path = export.save_encrypted(ctx.files, ctx.settings.data_key, kind, export.ExportFormat.XLSX, data, ctx.now)
    detail = f"{kind.value} {period.label} xlsx rows={len(table.rows)} file={path}"
    ctx.session.add(AuditLog(actor=ctx.openid, action="export", subject=kind.value, detail=detail, at=ctx.now))
    return ctx.render(
        "staff/export_ready.j2",
        kind=kind.value,
        period=period,
        default=default,
        rows=len(table.rows),
        url=links.signed_url(ctx.settings, path, ctx.now),
        minutes=ctx.settings.link_ttl_minutes,
    )
