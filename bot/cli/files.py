"""`unionbot files migrate`: the files of a single machine (`UNIONBOT_FILES_DIR`) into the database file store."""

from __future__ import annotations

import typer

from bot.cli.common import database_or_exit, fail, settings_or_exit
from storage.filestore import migrate_folder
from storage.migrate import SchemaBehind, require_current

files_app = typer.Typer(help="Where photos, exports and documents are kept.")


@files_app.command("migrate")
def files_migrate() -> None:
    """Copy every file under UNIONBOT_FILES_DIR into the database (safe to repeat: what is there is skipped)."""
    settings = settings_or_exit()
    db = database_or_exit(settings)
    try:
        require_current(db.engine)
        if not settings.files_dir.is_dir():
            raise fail(f"UNIONBOT_FILES_DIR: no folder {settings.files_dir}")
        moved = migrate_folder(db, settings.files_dir)
    except SchemaBehind as exc:
        raise fail(str(exc)) from None
    finally:
        db.dispose()
    typer.echo(f"copied {moved.copied} files into the database ({moved.already} were already there)")
    if settings.file_store != "database":
        typer.echo("the service reads them from there once UNIONBOT_FILE_STORE=database (the default)")
    typer.echo(f"{settings.files_dir} is left as it was: remove it once the service serves its links")
