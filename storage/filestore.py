"""Where files live: photos users send, exports, work summaries and invitation QR codes, behind one interface.

`DatabaseFileStore` (the default, `UNIONBOT_FILE_STORE=database`) keeps them in the `file_blob` table, so every
service machine on the same database serves the same links, and a backup of the database holds them too.
`FilesystemFileStore` keeps them under `UNIONBOT_FILES_DIR`, for a single machine. A store works inside the
caller's transaction: a file and the row that names it commit together.

A path is relative and `/`-separated (`media/hardship-7/<sha256>.png.enc`); one ending in `.enc` holds a Fernet
token of the file (`save` encrypts it, `load` decrypts it), so photos and exports stay encrypted at rest in
either store.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from sqlalchemy import delete, func
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from config.settings import Settings
from storage import crypto
from storage.db import Database
from storage.models import FileBlob

ENCRYPTED = ".enc"
_PARTIAL = ".partial-"  # a file still being written by `FilesystemFileStore.put`


class BadPath(ValueError):
    """A path that is not a plain relative one (absolute, `..`, empty parts): it names no file in any store."""


def clean(path: str) -> str:
    """`path` as the stores key it; BadPath for anything that could leave the store's folder."""
    parts = path.split("/")
    if not path or "\\" in path or "\x00" in path or any(part in ("", ".", "..") for part in parts):
        raise BadPath(f"not a file path: {path!r}")
    return path


@dataclass(frozen=True)
class StoredEntry:
    """One file of a store, as `entries` lists it."""

    path: str
    size: int
    stored_at: datetime


class FileStore(Protocol):
    """Bytes by path. `put` replaces what a path held (a retried photo fetch writes the same file again)."""

    def put(self, path: str, data: bytes, now: datetime) -> None: ...

    def get(self, path: str) -> bytes | None: ...

    def exists(self, path: str) -> bool: ...

    def delete(self, path: str) -> bool: ...

    def entries(self, prefix: str = "") -> Iterator[StoredEntry]: ...


class DatabaseFileStore:
    """Files as rows of `file_blob` (bytea on PostgreSQL, BLOB on SQLite), in the session's transaction."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def put(self, path: str, data: bytes, now: datetime) -> None:
        values = {"path": clean(path), "data": data, "size": len(data), "stored_at": now}
        dialect = self._session.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        statement = insert(FileBlob).values(**values)
        changed = {name: statement.excluded[name] for name in ("data", "size", "stored_at")}
        self._session.execute(statement.on_conflict_do_update(index_elements=["path"], set_=changed))

    def get(self, path: str) -> bytes | None:
        try:
            key = clean(path)
        except BadPath:
            return None
        found = self._session.exec(select(FileBlob.data).where(FileBlob.path == key)).first()
        return None if found is None else bytes(found)

    def exists(self, path: str) -> bool:
        try:
            key = clean(path)
        except BadPath:
            return False
        return self._session.exec(select(func.count()).where(FileBlob.path == key)).one() > 0

    def delete(self, path: str) -> bool:
        if not self.exists(path):
            return False
        self._session.execute(delete(FileBlob).where(col(FileBlob.path) == path))
        return True

    def entries(self, prefix: str = "") -> Iterator[StoredEntry]:
        query = select(FileBlob.path, FileBlob.size, FileBlob.stored_at).order_by(col(FileBlob.path))
        if prefix:
            query = query.where(col(FileBlob.path).startswith(prefix, autoescape=True))
        for path, size, stored_at in self._session.exec(query).all():
            yield StoredEntry(path, size, stored_at)


class FilesystemFileStore:
    """Files under a folder on this machine; a write lands whole or not at all (a temporary file, then a rename)."""

    def __init__(self, root: Path) -> None:
        self._root = root

    def _target(self, path: str) -> Path:
        return self._root / clean(path)

    def _found(self, path: str) -> Path | None:
        try:
            target = self._target(path)
        except BadPath:
            return None
        inside = target.resolve().is_relative_to(self._root.resolve())
        return target if inside and target.is_file() else None

    def put(self, path: str, data: bytes, now: datetime) -> None:
        target = self._target(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, partial = tempfile.mkstemp(dir=target.parent, prefix=f"{target.name}{_PARTIAL}")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            stamp = now.timestamp()
            os.utime(partial, (stamp, stamp))
            os.replace(partial, target)
        except BaseException:
            Path(partial).unlink(missing_ok=True)
            raise

    def get(self, path: str) -> bytes | None:
        target = self._found(path)
        return None if target is None else target.read_bytes()

    def exists(self, path: str) -> bool:
        return self._found(path) is not None

    def delete(self, path: str) -> bool:
        target = self._found(path)
        if target is None:
            return False
        target.unlink()
        return True

    def entries(self, prefix: str = "") -> Iterator[StoredEntry]:
        if not self._root.is_dir():
            return
        for target in sorted(self._root.rglob("*")):
            path = target.relative_to(self._root).as_posix()
            if not target.is_file() or _PARTIAL in target.name or not path.startswith(prefix):
                continue
            stat = target.stat()
            yield StoredEntry(path, stat.st_size, datetime.fromtimestamp(stat.st_mtime, UTC))


def open_store(settings: Settings, session: Session) -> FileStore:
    """The configured store, working in `session`'s transaction (`UNIONBOT_FILE_STORE`)."""
    if settings.file_store == "filesystem":
        return FilesystemFileStore(settings.files_dir)
    return DatabaseFileStore(session)


def save(store: FileStore, key: str, path: str, data: bytes, now: datetime) -> None:
    """Store `data` at `path`, encrypted with the data key when the path ends in `.enc`."""
    store.put(path, crypto.encrypt_bytes(key, data) if path.endswith(ENCRYPTED) else data, now)


def load(store: FileStore, key: str, path: str) -> bytes | None:
    """The plain bytes at `path` (decrypted when it ends in `.enc`), or None when there is no such file."""
    data = store.get(path)
    if data is None or not path.endswith(ENCRYPTED):
        return data
    return crypto.decrypt_bytes(key, data)


@dataclass(frozen=True)
class Migrated:
    copied: int
    already: int


def migrate_folder(db: Database, root: Path) -> Migrated:
    """Copy every file under `root` into the database store as it is (encrypted ones stay encrypted), each in its
    own transaction, skipping paths the database already holds: run again after a stop, it copies only the rest."""
    copied = already = 0
    for entry in FilesystemFileStore(root).entries():
        with db.transaction() as session:
            store = DatabaseFileStore(session)
            if store.exists(entry.path):
                already += 1
                continue
            data = FilesystemFileStore(root).get(entry.path)
            if data is not None:
                store.put(entry.path, data, entry.stored_at)
                copied += 1
    return Migrated(copied, already)
