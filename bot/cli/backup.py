"""`unionbot backup -o FILE` and `unionbot restore FILE` (`storage.backup`): the database and its files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bot.cli.common import database_or_exit, fail, settings_or_exit
from storage.backup import BackupError
from storage.backup import backup as take_backup
from storage.backup import restore as restore_backup
from storage.db import utcnow
from storage.filestore import FilesystemFileStore
from storage.migrate import current_revisions, head_revisions


def backup(
    output: Annotated[Path, typer.Option("-o", "--output", dir_okay=False, help="The archive to write (a tar file).")],
) -> None:
    """Back up the database (SQLite online backup or pg_dump), with the files when they live on this disk."""
    settings = settings_or_exit()
    db = database_or_exit(settings)
    try:
        made = take_backup(db, settings, output, utcnow())
    except BackupError as exc:
        raise fail(str(exc)) from None
    finally:
        db.dispose()
    where = f"{made.files} files from {settings.files_dir}" if made.file_store == "filesystem" else "files in it"
    typer.echo(f"backed up the {made.engine} database ({where}) to {output}")
    if made.file_store == "database" and any(FilesystemFileStore(settings.files_dir).entries()):
        typer.echo(f"note: {settings.files_dir} still holds files not in the database: run `unionbot files migrate`")


def restore(
    source: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="An archive `unionbot backup` wrote.")],
    force: Annotated[bool, typer.Option("--force", help="Replace a database that already holds data.")] = False,
) -> None:
    """Restore a backup into the configured database (stop the service first); refuses a non-empty one."""
    settings = settings_or_exit()
    db = database_or_exit(settings)
    try:
        done = restore_backup(db, settings, source, force=force)
        behind = current_revisions(db.engine) != head_revisions()
    except BackupError as exc:
        raise fail(str(exc)) from None
    finally:
        db.dispose()
    files = f", {done.files} files" if done.files else ""
    typer.echo(f"restored the backup of {done.manifest.made_at} ({done.manifest.engine}{files})")
    if done.manifest.file_store == "database" and settings.file_store != "database":
        typer.echo("its files are in the database: set UNIONBOT_FILE_STORE=database to serve them")
    if behind:
        typer.echo("its schema is older than this version: run `unionbot db upgrade` before starting the service")
