"""Photos users send: WeChat keeps a media id for 3 days, so each one is fetched soon after it is filed and kept
encrypted in the file store (`storage.filestore`) at `media/<owner>/<sha256>.<ext>.enc`."""

from __future__ import annotations

import hashlib
import mimetypes
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, literal
from sqlmodel import Session, col, select

from config.settings import Settings
from storage import filestore
from storage.db import Database
from storage.models import OutboxMessage, OutboxStatus, StoredFile


@dataclass(frozen=True)
class MediaVault:
    """Where the outbox worker writes what it fetched: the configured file store, each write its own transaction."""

    db: Database
    settings: Settings
    clock: Callable[[], datetime]

    def write(self, owner: str, data: bytes, content_type: str) -> tuple[str, str]:
        """Encrypt and store `data`; returns its path in the store and its SHA-256 (of the plain bytes)."""
        sha = hashlib.sha256(data).hexdigest()
        extension = mimetypes.guess_extension(content_type.split(";")[0].strip()) or ".bin"
        relative = f"media/{re.sub(r'[^A-Za-z0-9_-]', '-', owner)}/{sha}{extension}{filestore.ENCRYPTED}"
        self.write_at(relative, data)
        return relative, sha

    def write_at(self, relative: str, data: bytes) -> None:
        """Encrypt and store `data` where a link was already signed for (an invitation's QR code)."""
        with self.db.transaction() as session:
            store = filestore.open_store(self.settings, session)
            filestore.save(store, self.settings.data_key, relative, data, self.clock())


def register(session: Session, *, media_id: str, owner: str, uploaded_by: str, now: datetime) -> bool:
    """A row for a photo still to fetch; False when that media id is already registered (a resubmission)."""
    if session.exec(select(StoredFile).where(StoredFile.media_id == media_id)).first() is not None:
        return False
    session.add(StoredFile(media_id=media_id, owner=owner, uploaded_by=uploaded_by, received_at=now))
    session.flush()
    return True


def stored(
    session: Session, *, media_id: str, path: str, content_type: str, size: int, sha256: str, now: datetime
) -> None:
    row = session.exec(select(StoredFile).where(StoredFile.media_id == media_id)).one()
    row.path, row.content_type, row.size, row.sha256, row.stored_at = path, content_type, size, sha256, now
    session.add(row)


def files_of(session: Session, owner: str) -> list[StoredFile]:
    return list(session.exec(select(StoredFile).where(StoredFile.owner == owner).order_by(col(StoredFile.id))).all())


def lost(session: Session, owner: str) -> int:
    """Photos of `owner` WeChat would no longer give us (expired or invalid media id): their fetch failed."""
    fetch = col(OutboxMessage.idempotency_key) == literal("media:") + col(StoredFile.media_id)
    query = (
        select(func.count())
        .select_from(StoredFile)
        .join(OutboxMessage, fetch)
        .where(StoredFile.owner == owner, col(StoredFile.path).is_(None), OutboxMessage.status == OutboxStatus.FAILED)
    )
    return int(session.exec(query).one())
