"""`unionbot outbox status`: how the messages the account sends on its own are faring, for the operator."""

from __future__ import annotations

from typing import Annotated

import typer

from bot.cli.common import database_or_exit, settings_or_exit
from storage.queries import outbox_counts, outbox_problems

outbox_app = typer.Typer(help="Messages the account sends on its own.")


@outbox_app.command("status")
def outbox_status(limit: Annotated[int, typer.Option(help="How many recent failures to list.")] = 10) -> None:
    """Counts by state, and the latest messages that failed or need a template fallback."""
    db = database_or_exit(settings_or_exit())
    try:
        with db.transaction() as session:
            for status, count in outbox_counts(session):
                typer.echo(f"{status:10} {count}")
            for row in outbox_problems(session, limit):
                typer.echo(f"#{row.id} {row.status} to {row.openid} errcode={row.errcode} {row.last_error or ''}")
    finally:
        db.dispose()
