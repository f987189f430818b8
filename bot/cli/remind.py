"""`unionbot remind`: run the reminder planner by hand, or see who it would remind and why."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from bot.cli.common import database_or_exit, fail, settings_or_exit
from bot.services.reminder_job import calendar_for, plan_and_queue, preview
from config.settings import Settings
from storage.db import utcnow

remind_app = typer.Typer(help="Report reminders and dispute-warning escalations.")

AT_FORMAT = "%Y-%m-%d %H:%M"


def _moment(at: str | None, settings: Settings) -> datetime:
    if at is None:
        return utcnow()
    try:
        return datetime.strptime(at, AT_FORMAT).replace(tzinfo=settings.zone)
    except ValueError:
        raise fail(f'--at: expected local time like "2026-12-07 09:00", got {at!r}') from None


@remind_app.callback(invoke_without_command=True)
def remind(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only list who would be reminded, and why.")] = False,
    at: Annotated[str | None, typer.Option(help='Plan for this local time instead of now: "YYYY-MM-DD HH:MM".')] = None,
) -> None:
    """Queue the reminders and escalations due now (the service's scheduler does this every minute)."""
    settings = settings_or_exit()
    now = _moment(at, settings)
    db = database_or_exit(settings)
    try:
        if not dry_run:
            typer.echo(f"queued {plan_and_queue(db, settings, now)} messages")
            return
        planned = preview(db, settings, now)
        for item in planned:
            channel = "text" if item.in_window else "template"
            typer.echo(f"{item.openid}\t{item.kind.value}\t{channel}\t{item.why}")
        typer.echo(f"{len(planned)} messages would be queued (dry run, nothing sent)")
        calendar = calendar_for(settings)
        if calendar.is_quiet(now):
            quiet = calendar.config.quiet_hours
            typer.echo(f"quiet hours {quiet.start:%H:%M}-{quiet.end:%H:%M}: only urgent escalations are planned now")
    finally:
        db.dispose()
