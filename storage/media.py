"""Photos users send: WeChat keeps a media id for 3 days, so each one is fetched soon after it is filed and kept
encrypted on disk under `UNIONBOT_FILES_DIR` (`media/<owner>/<sha256>.<ext>.enc`), outside the database."""

from __future__ import annotations

import hashlib
import mimetypes
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, literal
from sqlmodel import Session, col, select

from storage import crypto
from storage.models import OutboxMessage, OutboxStatus, StoredFile


@dataclass(frozen=True)
class MediaVault:
    """Where fetched photos are written, and the key they are encrypted with."""

    root: Path
    key: str

    def write(self, owner: str, data: bytes, content_type: str) -> tuple[str, str]:
        """Encrypt and write `data`; returns its path relative to the root and its SHA-256 (of the plain bytes)."""
        sha = hashlib.sha256(data).hexdigest()
        extension = mimetypes.guess_extension(content_type.split(";")[0].strip()) or ".bin"
        relative = f"media/{re.sub(r'[^A-Za-z0-9_-]', '-', owner)}/{sha}{extension}.enc"
        target = self.root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(crypto.encrypt_bytes(self.key, data))
        return relative, sha

    def write_at(self, relative: str, data: bytes) -> None:
        """Encrypt and write `data` where a link was already signed for (an invitation's QR code)."""
        target = self.root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(crypto.encrypt_bytes(self.key, data))


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
