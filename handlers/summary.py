"""Staff commands for the half-year work summary: `总结 [期间]` makes the document and answers with signed links;
`数据` lists the figures staff enter by hand, `数据 名称 数值 [期间]` records one. Anyone else is refused."""

from __future__ import annotations

from bot.services import links, summary_appendix
from bot.services import summary as work_summary
from domain.commands import Command
from domain.normalize import ParseError, parse_period
from domain.periods import Period, current_half
from handlers.context import Context
from storage import figures


def _bad_input(ctx: Context, error: ParseError, usage: str) -> str:
    return ctx.render(usage, reason=f"input/{error.reason}.j2", **error.params)


def make_summary(ctx: Context, command: Command) -> str:
    if not ctx.is_staff:
        return ctx.render("summary/refused.j2")
    today = ctx.local_now.date()
    try:
        period = parse_period(command.args, today=today, default=current_half(today))
    except ParseError as error:
        return _bad_input(ctx, error, "summary/summary_usage.j2")
    made = work_summary.build(ctx.session, period, ctx.settings, ctx.now)
    appendix = summary_appendix.appendix(ctx.session, made, ctx.settings, ctx.now)
    paths = work_summary.write_documents(made, ctx.files, ctx.now, ctx.settings.zone, appendix)
    urls = {kind: links.signed_url(ctx.settings, path, ctx.now) for kind, path in paths.items()}
    return ctx.render(
        "summary/ready.j2",
        period=period,
        urls=urls,
        missing=made.missing,
        awaiting=made.awaiting,
        minutes=ctx.settings.link_ttl_minutes,
    )


def staff_data(ctx: Context, command: Command) -> str:
    if not ctx.is_staff:
        return ctx.render("summary/refused.j2")
    today = ctx.local_now.date()
    words = command.args.split(maxsplit=1)
    if not words:
        return _listing(ctx, current_half(today))
    found = work_summary.staff_spec(words[0])
    if found is None:
        try:
            return _listing(ctx, parse_period(command.args, today=today))
        except ParseError:
            return ctx.render("summary/data_unknown.j2", word=words[0])
    key, spec = found
    if len(words) < 2:
        return ctx.render("summary/data_usage.j2", label=spec.label, spec=spec)
    value_text, period_text = _split_period(spec, words[1])
    try:
        period = parse_period(period_text, today=today, default=current_half(today))
    except ParseError as error:
        return _bad_input(ctx, error, "summary/data_bad.j2")
    return record_figure(ctx, key, value_text, period)


def record_figure(ctx: Context, name: str, value_text: str, period: Period) -> str:
    """`数据 名称 数值` once its period is known; the desk's inline edit records a figure through here too, so a value
    is checked and answered the same way wherever it is typed."""
    if not ctx.is_staff:
        return ctx.render("summary/refused.j2")
    found = work_summary.staff_spec(name)
    if found is None:
        return ctx.render("summary/data_unknown.j2", word=name)
    key, spec = found
    try:
        value = work_summary.parse_staff_value(spec, value_text)
    except ParseError as error:
        return _bad_input(ctx, error, "summary/data_bad.j2")
    code = figures.period_code(period.start, period.end)
    figures.set_figure(ctx.session, key, code, value, spec.unit, ctx.openid, ctx.now)
    return ctx.render("summary/data_saved.j2", spec=spec, value=value, period=period)


def _listing(ctx: Context, period: Period) -> str:
    """Every staff figure of `period`: entered (with its value) or still missing."""
    entered = figures.figures_for(ctx.session, figures.period_code(period.start, period.end))
    specs = work_summary.summary_config().staff_figures
    return ctx.render("summary/data_list.j2", period=period, specs=specs, entered=entered)


def _split_period(spec: work_summary.StaffFigureSpec, rest: str) -> tuple[str, str]:
    """A number may be followed by a period (`数据 退休参保人数 1200 上半年`); a text figure is all text."""
    if spec.kind == "text":
        return rest, ""
    parts = rest.split(maxsplit=1)
    return parts[0], parts[1] if len(parts) > 1 else ""
