"""`unionbot backup` and `unionbot restore`: the whole database, and the files, in one archive.

A backup is a tar file holding `manifest.json` (engine, schema revision, file store, when), the database, and
`files/…` when the files live on this machine's disk (`UNIONBOT_FILE_STORE=filesystem`); with the database file
store (the default) the files are rows of `file_blob`, so the database holds them. SQLite is copied with its online
backup API (a consistent copy while the service runs), PostgreSQL with `pg_dump --format=custom`, so the dump
inside can also be read by `pg_restore` alone (`tar xf backup.tar database.pgdump`).

Restoring replaces what the database holds, so it refuses a database with any row in it unless forced; files are
written into whichever store is configured where it is restored.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import URL, inspect, make_url, text

from config.settings import Settings
from storage import filestore
from storage.db import Database
from storage.migrate import current_revisions

MANIFEST = "manifest.json"
DUMPS = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}
FILES = "files/"
ENGINE_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why in one line."""


@dataclass(frozen=True)
class Manifest:
    engine: str
    revisions: list[str]
    file_store: str
    files: int
    made_at: str


@dataclass(frozen=True)
class Restored:
    manifest: Manifest
    files: int


def _engine(db: Database) -> str:
    return "postgresql" if db.is_postgres else "sqlite"


def _sqlite_path(url: str) -> Path:
    path = make_url(url).database
    if not path or path == ":memory:":
        raise BackupError("UNIONBOT_DATABASE_URL is an in-memory SQLite database: there is nothing to back up")
    return Path(path)


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """A libpq connection string for pg_dump / pg_restore, the password passed in the environment (not in `ps`)."""
    parsed: URL = make_url(url)
    env = dict(os.environ)
    if parsed.password is not None:
        env["PGPASSWORD"] = str(parsed.password)
    plain = parsed.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _run(command: list[str], env: dict[str, str]) -> None:
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise BackupError(f"{command[0]} not found: install postgresql-client of the server's version") from None
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        raise BackupError(f"{command[0]} failed: {lines[0] if lines else f'exit code {done.returncode}'}")


def _dump(db: Database, target: Path) -> None:
    if db.is_postgres:
        connection, env = _libpq(db.url)
        _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--file={target}", connection], env)
        return
    source = sqlite3.connect(_sqlite_path(db.url))
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)
    finally:
        copy.close()
        source.close()


def _add(archive: tarfile.TarFile, name: str, data: bytes, at: datetime) -> None:
    member = tarfile.TarInfo(name)
    member.size, member.mtime, member.mode = len(data), int(at.timestamp()), 0o600
    archive.addfile(member, io.BytesIO(data))


def backup(db: Database, settings: Settings, output: Path, now: datetime) -> Manifest:
    """Write the archive to `output` (whole or not at all: it is renamed into place once complete)."""
    engine = _engine(db)
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="unionbot-backup-", dir=output.parent) as folder:
        dump = Path(folder) / DUMPS[engine]
        _dump(db, dump)
        partial = Path(folder) / "backup.tar"
        with tarfile.open(partial, "w") as archive:
            archive.add(dump, arcname=DUMPS[engine])
            files = 0
            if settings.file_store == "filesystem":
                store = filestore.FilesystemFileStore(settings.files_dir)
                for entry in store.entries():
                    data = store.get(entry.path)
                    if data is not None:  # not removed since it was listed
                        _add(archive, FILES + entry.path, data, entry.stored_at)
                        files += 1
            manifest = Manifest(
                engine=engine,
                revisions=sorted(current_revisions(db.engine)),
                file_store=settings.file_store,
                files=files,
                made_at=now.isoformat(timespec="seconds"),
            )
            _add(archive, MANIFEST, json.dumps(asdict(manifest), ensure_ascii=False, indent=2).encode(), now)
        os.replace(partial, output)
    return manifest


def rows_in(db: Database) -> dict[str, int]:
    """Rows per table (the schema's own bookkeeping left out): what a restore would replace."""
    counts: dict[str, int] = {}
    with db.engine.connect() as connection:
        for table in sorted(inspect(connection).get_table_names()):
            if table != "alembic_version":
                counts[table] = int(connection.execute(text(f'SELECT count(*) FROM "{table}"')).scalar_one())
    return counts


def _manifest(archive: tarfile.TarFile, source: Path) -> Manifest:
    try:
        member = archive.extractfile(MANIFEST)
    except KeyError:
        member = None
    if member is None:
        raise BackupError(f"{source} is not a unionbot backup (it has no {MANIFEST})")
    try:
        return Manifest(**json.loads(member.read()))
    except (ValueError, TypeError):
        raise BackupError(f"{source}: {MANIFEST} cannot be read") from None


# The functions our migrations made (the figure stamps' triggers), not those of an extension.
OUR_FUNCTIONS = text(
    "SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
    " WHERE n.nspname = 'public' AND NOT EXISTS"
    " (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')"
)


def _drop_tables(db: Database) -> None:
    with db.engine.begin() as connection:
        names = inspect(connection).get_table_names()
        if names:
            connection.execute(text("DROP TABLE IF EXISTS " + ", ".join(f'"{n}"' for n in names) + " CASCADE"))
        for function in connection.execute(OUR_FUNCTIONS).scalars().all():
            connection.execute(text(f"DROP FUNCTION IF EXISTS {function} CASCADE"))


def _load(db: Database, dump: Path) -> None:
    if db.is_postgres:
        if shutil.which("pg_restore") is None:
            raise BackupError("pg_restore not found: install postgresql-client of the server's version")
        _drop_tables(db)  # the dump's tables and functions come back whole; ones it does not have must not stay behind
        connection, env = _libpq(db.url)
        command = ["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction"]
        _run([*command, f"--dbname={connection}", str(dump)], env)
        return
    db.dispose()  # no pooled connection of ours may hold the file while it is replaced
    source = sqlite3.connect(dump)
    target = sqlite3.connect(_sqlite_path(db.url))
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()


def restore(db: Database, settings: Settings, source: Path, *, force: bool) -> Restored:
    """Replace the database (and write the archive's files into the configured store) with the backup's."""
    if not tarfile.is_tarfile(source):
        raise BackupError(f"{source} is not a unionbot backup (not a tar file)")
    with tarfile.open(source, "r") as archive, tempfile.TemporaryDirectory(prefix="unionbot-restore-") as folder:
        manifest = _manifest(archive, source)
        engine = _engine(db)
        if manifest.engine != engine:
            raise BackupError(
                f"{source} holds a {ENGINE_NAMES.get(manifest.engine, manifest.engine)} database and "
                f"UNIONBOT_DATABASE_URL is {ENGINE_NAMES[engine]}: restore it into the kind it came from"
            )
        filled = {table: count for table, count in rows_in(db).items() if count}
        if filled and not force:
            raise BackupError(
                f"the database is not empty ({sum(filled.values())} rows in {len(filled)} tables, e.g. "
                f"{', '.join(sorted(filled)[:3])}); restoring replaces all of it: add --force to do so"
            )
        dump = Path(folder) / DUMPS[engine]
        member = archive.extractfile(DUMPS[engine])
        if member is None:
            raise BackupError(f"{source} has no {DUMPS[engine]}")
        with member, dump.open("wb") as out:
            shutil.copyfileobj(member, out)
        _load(db, dump)
        files = _restore_files(db, settings, archive)
    return Restored(manifest, files)


def _restore_files(db: Database, settings: Settings, archive: tarfile.TarFile) -> int:
    """The archive's `files/…` into the configured store, one transaction each (paths checked by the store)."""
    count = 0
    for member in archive:
        if not member.isfile() or not member.name.startswith(FILES):
            continue
        content = archive.extractfile(member)
        if content is None:
            continue
        with content, db.transaction() as session:
            store = filestore.open_store(settings, session)
            store.put(member.name.removeprefix(FILES), content.read(), datetime.fromtimestamp(member.mtime, UTC))
        count += 1
    return count
