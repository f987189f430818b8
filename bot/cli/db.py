"""`unionbot db`: create or migrate the schema, and (developers) write a new migration."""

from __future__ import annotations

from typing import Annotated

import typer

from bot.cli.common import database_or_exit, settings_or_exit
from storage.migrate import new_revision, upgrade

db_app = typer.Typer(help="Database schema.")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the schema to this version (safe to run again)."""
    settings = settings_or_exit()
    database_or_exit(settings).dispose()
    upgrade(settings.database_url)
    typer.echo("database schema is up to date")


@db_app.command("revision")
def db_revision(message: Annotated[str, typer.Argument(help="What the migration does.")]) -> None:
    """Autogenerate a migration from the models (developers)."""
    new_revision(settings_or_exit().database_url, message)
