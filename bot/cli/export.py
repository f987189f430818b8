"""`unionbot export reports|warnings|applications`: raw data for the district union or the national system.

Every export is written to the audit log. Full ID numbers need `--unmask` and an active administrator named by
`--admin`, so the person who asked for them is on record (PIPL; domain §4.4 point 8).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bot.cli.common import database_or_exit, fail, period_or_exit, settings_or_exit
from bot.services import export
from bot.services.figures import period_figures, summary_table
from domain.enums import Role
from domain.periods import reporting_month
from storage.db import utcnow
from storage.identity import active_member
from storage.models import AuditLog

export_app = typer.Typer(help="Raw data as xlsx or csv, one row per record (every export is audited).")

PeriodOption = Annotated[
    str | None,
    typer.Option("--period", help="2024-06, 2024年6月, 一季度, 2024年上半年, 今年 … Default: the reporting month."),
]
FormatOption = Annotated[export.ExportFormat, typer.Option("--format", help="xlsx or csv.")]
OutputOption = Annotated[Path, typer.Option("-o", "--output", dir_okay=False, help="The file to write.")]


def run_export(
    kind: export.ExportKind,
    period_text: str | None,
    fmt: export.ExportFormat,
    output: Path,
    unmask: bool = False,
    admin: str | None = None,
) -> None:
    settings = settings_or_exit()
    now = utcnow()
    today = now.astimezone(settings.zone).date()
    period = period_or_exit(
        period_text or "", today, "try 2024-06, 2024年上半年 or 今年", reporting_month(today).period
    )
    if unmask and not admin:
        raise fail("--unmask needs --admin OPENID (an active administrator)")
    db = database_or_exit(settings)
    try:
        with db.transaction() as session:
            if admin is not None:
                member = active_member(session, admin)
                if member is None or member.role != Role.ADMIN:
                    raise fail(f"--admin: {admin!r} is not an active administrator")
            key = settings.data_key if unmask else None
            table = export.build(session, kind, period, settings.zone, data_key=key)
            summary = summary_table(period_figures(session, period, settings, today))
            output.write_bytes(export.encode(table, fmt, summary))
            detail = f"{kind.value} {period.label} {fmt.value} rows={len(table.rows)} unmasked={unmask} file={output}"
            session.add(AuditLog(actor=admin or "cli", action="export", subject=kind.value, detail=detail, at=now))
    finally:
        db.dispose()
    typer.echo(f"{len(table.rows)} rows ({period.label}) written to {output}")


@export_app.command("reports")
def reports(output: OutputOption, period: PeriodOption = None, fmt: FormatOption = export.ExportFormat.XLSX) -> None:
    """Monthly reports, latest revisions only, with enterprise name and credit code."""
    run_export(export.ExportKind.REPORTS, period, fmt, output)


@export_app.command("warnings")
def warnings(output: OutputOption, period: PeriodOption = None, fmt: FormatOption = export.ExportFormat.XLSX) -> None:
    """Labour-dispute warnings reported in the period."""
    run_export(export.ExportKind.WARNINGS, period, fmt, output)


@export_app.command("applications")
def applications(
    output: OutputOption,
    period: PeriodOption = None,
    fmt: FormatOption = export.ExportFormat.XLSX,
    unmask: Annotated[bool, typer.Option("--unmask", help="Full ID numbers (needs --admin).")] = False,
    admin: Annotated[str | None, typer.Option("--admin", help="The administrator's openid, for the audit log.")] = None,
) -> None:
    """Hardship applications made in the period; ID numbers masked unless --unmask by an administrator."""
    run_export(export.ExportKind.APPLICATIONS, period, fmt, output, unmask=unmask, admin=admin)
