"""`unionbot summary` writes the work summary for a period; `unionbot figures` keeps the figures staff enter."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from bot.cli.common import database_or_exit, fail, period_or_exit, settings_or_exit
from bot.services import document, summary_appendix
from bot.services import summary as work_summary
from domain import timefmt
from domain.normalize import ParseError
from domain.periods import Period
from storage import figures
from storage.db import utcnow

summary_app = typer.Typer(help="The half-year work summary.")
figures_app = typer.Typer(help="Figures no chat form collects (awards, training, retirees' mutual aid, plan text).")


class Format(StrEnum):
    md = "md"
    docx = "docx"


def _period(text: str, today: date) -> Period:
    return period_or_exit(text, today, "e.g. 2024H1, 2024-06, 2024Q2, 2024")


@summary_app.callback(invoke_without_command=True)
def summary(
    period: Annotated[str, typer.Option(help="2024H1, 2024-06, 2024Q2, 2024, or 上半年 …")],
    output: Annotated[Path, typer.Option("-o", "--output", dir_okay=False, help="The file to write.")],
    fmt: Annotated[Format, typer.Option("--format", help="md or docx.")] = Format.docx,
) -> None:
    """Write the work summary of PERIOD with every figure filled from the data or marked as to be filled."""
    settings = settings_or_exit()
    now = utcnow()
    chosen = _period(period, timefmt.local(now, settings.zone).date())
    db = database_or_exit(settings)
    try:
        with db.transaction() as session:
            made = work_summary.build(session, chosen, settings, now)
            appendix = summary_appendix.appendix(session, made, settings, now) if fmt is Format.docx else None
    finally:
        db.dispose()
    if appendix is None:
        output.write_text(made.markdown, encoding="utf-8")
    else:
        document.write_docx(made.markdown, output, appendix)
    typer.echo(
        f"{output}: {made.period.label} ({made.code}), {len(made.missing)} figures for staff to enter, "
        f"{len(made.awaiting)} awaiting reports or the roster"
    )
    for label in made.missing:
        typer.echo(f"  missing: {label} (unionbot figures set {label} VALUE --period {made.code})")
    for label in made.awaiting:
        typer.echo(f"  awaiting: {label}")


@figures_app.command("set")
def figures_set(
    key: Annotated[str, typer.Argument(help="A key from config/summary.yaml staff_figures (or its label).")],
    value: Annotated[str, typer.Argument(help="A number, a month 1-12, or text.")],
    period: Annotated[str, typer.Option(help="2024H1, 2024-06, 2024 …")],
    by: Annotated[str, typer.Option(help="Who entered it (kept with the figure).")] = "cli",
) -> None:
    """Record a staff figure for a period (replaces the previous value)."""
    found = work_summary.staff_spec(key)
    if found is None:
        known = ", ".join(work_summary.summary_config().staff_figures)
        raise fail(f"unknown figure {key!r}; known: {known}")
    name, spec = found
    settings = settings_or_exit()
    now = utcnow()
    chosen = _period(period, timefmt.local(now, settings.zone).date())
    try:
        stored = work_summary.parse_staff_value(spec, value)
    except ParseError as error:
        raise fail(f"{name}: cannot read {value!r} ({error.reason})") from None
    code = figures.period_code(chosen.start, chosen.end)
    db = database_or_exit(settings)
    try:
        with db.transaction() as session:
            changed = figures.set_figure(session, name, code, stored, spec.unit, by, now)
    finally:
        db.dispose()
    typer.echo(f"{name} {code} = {stored}{spec.unit}" + ("" if changed else " (unchanged)"))


@figures_app.command("list")
def figures_list(
    period: Annotated[str | None, typer.Option(help="Only this period; default: every period.")] = None,
    missing: Annotated[bool, typer.Option(help="With --period: also list the figures not entered yet.")] = False,
) -> None:
    """The staff figures entered, one per line: period, key, value, who and when."""
    settings = settings_or_exit()
    chosen = _period(period, timefmt.local(utcnow(), settings.zone).date()) if period else None
    code = figures.period_code(chosen.start, chosen.end) if chosen else None
    db = database_or_exit(settings)
    try:
        with db.transaction() as session:
            rows = figures.list_figures(session, code)
            absent = work_summary.missing_staff(session, chosen) if chosen and missing else []
    finally:
        db.dispose()
    for row in rows:
        typer.echo(
            f"{row.period}\t{row.key}\t{row.value}{row.unit}\t{row.set_by}\t{timefmt.minute(row.set_at, settings.zone)}"
        )
    for key, spec in absent:
        typer.echo(f"{code}\t{key}\t(missing: {spec.label})")
