"""`unionbot keys rotate`: every value encrypted with the data key, moved to a new key.

What is encrypted: the stored replies of the dedup rows, the unread pages of long replies, sealed answers in
drafts and submissions (`{"sealed": token}`, wherever they sit in the JSON), a hardship application's `*_enc`
columns (and its ID digest, keyed by the data key), and every `.enc` file of the file store. A value already under
the new key is left alone, so a second run re-encrypts nothing, and rows are done in committed batches (files one
by one), so a run that stops is resumed by running it again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy.orm.attributes import flag_modified
from sqlmodel import SQLModel, col, select

from config.settings import Settings
from storage import crypto, filestore
from storage.db import Database
from storage.models import Conversation, Draft, HardshipApplication, InboundMessage, Submission

T = TypeVar("T", bound=SQLModel)
BATCH = 200
ENCRYPTED_COLUMNS = ("id_number_enc", "phone_enc", "household_enc", "description_enc")


@dataclass
class Rotation:
    """What one run re-encrypted, by kind, and what no key could open (named so an operator can look)."""

    counts: dict[str, int] = field(default_factory=dict)
    undecryptable: dict[str, list[str]] = field(default_factory=dict)


class _Rekeyer:
    def __init__(self, new_key: str, ring: str) -> None:
        self.new_key = new_key
        self._ring = ring

    def data(self, token: bytes) -> bytes | None:
        return crypto.rekey(self.new_key, self._ring, token)

    def text(self, token: str) -> str | None:
        rotated = self.data(token.encode())
        return None if rotated is None else rotated.decode()

    def json(self, value: Any) -> tuple[Any, bool]:
        """`value` with every sealed answer in it under the new key, and whether any changed."""
        if isinstance(value, dict):
            if set(value) == {crypto.SEALED} and isinstance(value[crypto.SEALED], str):
                rotated = self.text(value[crypto.SEALED])
                return (value, False) if rotated is None else ({crypto.SEALED: rotated}, True)
            pairs = {name: self.json(item) for name, item in value.items()}
            return {name: item for name, (item, _) in pairs.items()}, any(changed for _, changed in pairs.values())
        if isinstance(value, list):
            items = [self.json(item) for item in value]
            return [item for item, _ in items], any(changed for _, changed in items)
        return value, False


def _reply(rekey: _Rekeyer, row: InboundMessage) -> bool:
    rotated = rekey.text(row.reply) if row.reply else None
    if rotated is not None:
        row.reply = rotated
    return rotated is not None


def _pages(rekey: _Rekeyer, row: Conversation) -> bool:
    rotated = [rekey.text(page) for page in row.pages]
    if all(page is None for page in rotated):
        return False
    row.pages = [new or old for new, old in zip(rotated, row.pages, strict=True)]
    flag_modified(row, "pages")
    return True


def _json_column(rekey: _Rekeyer, row: Draft | Submission, name: str) -> bool:
    """A JSON column holding sealed answers (a draft's state, a submission's answers)."""
    value, changed = rekey.json(getattr(row, name))
    if changed:
        setattr(row, name, value)
        flag_modified(row, name)
    return changed


def _application(rekey: _Rekeyer, row: HardshipApplication) -> bool:
    """The encrypted columns, and the ID digest under the new key (duplicates are found by it)."""
    changed = False
    for name in ENCRYPTED_COLUMNS:
        rotated = rekey.text(getattr(row, name))
        if rotated is not None:
            setattr(row, name, rotated)
            changed = True
    id_digest = crypto.digest(rekey.new_key, crypto.decrypt(rekey.new_key, row.id_number_enc))
    if id_digest != row.id_digest:
        row.id_digest, changed = id_digest, True
    return changed


def _rows(
    db: Database,
    model: type[T],
    key: Any,
    change: Callable[[T], bool],
    found: Rotation,
    kind: str,
) -> None:
    """Every row of `model` in batches by `key` (each batch locked and committed), `change` applied to each."""
    last: Any = None
    count = 0
    while True:
        with db.transaction() as session:
            query = select(model).order_by(key).limit(BATCH).with_for_update()
            if last is not None:
                query = query.where(key > last)
            rows = list(session.exec(query).all())
            for row in rows:
                try:
                    if change(row):
                        session.add(row)
                        count += 1
                except crypto.Undecryptable:
                    session.expire(row)  # nothing of a row half re-encrypted is written
                    found.undecryptable.setdefault(kind, []).append(f"{model.__tablename__} {getattr(row, key.key)}")
        if len(rows) < BATCH:
            break
        last = getattr(rows[-1], key.key)
    found.counts[kind] = count


def _files(db: Database, settings: Settings, rekey: _Rekeyer, found: Rotation) -> None:
    """Each `.enc` file in its own transaction, keeping the time it was stored (retention reads it)."""
    count = 0
    with db.transaction() as session:
        entries = [e for e in filestore.open_store(settings, session).entries() if e.path.endswith(".enc")]
    for entry in entries:
        with db.transaction() as session:
            store = filestore.open_store(settings, session)
            data = store.get(entry.path)
            if data is None:  # removed since it was listed
                continue
            try:
                rotated = rekey.data(data)
            except crypto.Undecryptable:
                found.undecryptable.setdefault("files", []).append(f"file {entry.path}")
                continue
            if rotated is not None:
                store.put(entry.path, rotated, entry.stored_at)
                count += 1
    found.counts["files"] = count


def rotate(db: Database, settings: Settings, new_key: str) -> Rotation:
    """Re-encrypt everything under `new_key`, reading with it and every key of `UNIONBOT_DATA_KEY`."""
    rekey = _Rekeyer(new_key, settings.data_key)
    found = Rotation()
    _rows(db, InboundMessage, col(InboundMessage.dedup_key), lambda r: _reply(rekey, r), found, "stored replies")
    _rows(db, Conversation, col(Conversation.openid), lambda r: _pages(rekey, r), found, "reply pages")
    _rows(db, Draft, col(Draft.id), lambda r: _json_column(rekey, r, "state"), found, "drafts")
    _rows(db, Submission, col(Submission.id), lambda r: _json_column(rekey, r, "answers"), found, "submissions")
    application = col(HardshipApplication.id)
    _rows(db, HardshipApplication, application, lambda r: _application(rekey, r), found, "hardship applications")
    _files(db, settings, rekey, found)
    return found
