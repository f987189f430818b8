"""A roster file uploaded on the desk: previewed first (rows to add, to update, rejected), applied later, once.

The preview is kept as a row of `roster_upload` under a random token, so it survives to the next request and to
any other process; applying reads back exactly the rows that were shown, and marks the upload used in the same
statement that checks it was not, so a second apply (a double click, another tab) changes nothing.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col

from storage import roster
from storage.models import RosterUpload
from storage.roster import Cell, EnterpriseRow, ImportReport, RowError

UPLOAD_TTL = timedelta(hours=24)


@dataclass(frozen=True)
class Change:
    field: str
    old: Any
    new: Any


@dataclass(frozen=True)
class Planned:
    """A valid row of the file (its number as the spreadsheet shows it) and what it changes in a stored enterprise."""

    row: int
    values: EnterpriseRow
    changes: list[Change] = field(default_factory=list)


@dataclass(frozen=True)
class Rejected:
    row: int
    column: str  # the header of the column at fault, as the file writes it
    reason: str


@dataclass(frozen=True)
class Preview:
    file_name: str
    headers: dict[str, str]  # field -> header as the file writes it
    ignored_columns: list[str]
    add: list[Planned]
    update: list[Planned]
    unchanged: int
    rejected: list[Rejected]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Preview:
        def planned(item: dict[str, Any]) -> Planned:
            changes = [Change(**change) for change in item["changes"]]
            return Planned(item["row"], EnterpriseRow(**item["values"]), changes)

        return cls(
            file_name=data["file_name"],
            headers=data["headers"],
            ignored_columns=data["ignored_columns"],
            add=[planned(item) for item in data["add"]],
            update=[planned(item) for item in data["update"]],
            unchanged=data["unchanged"],
            rejected=[Rejected(**item) for item in data["rejected"]],
        )


def preview(session: Session, file_name: str, table: Sequence[Sequence[Cell]]) -> Preview:
    """What importing `table` would do now, without writing anything (`roster.RosterError` for an unusable file)."""
    report = ImportReport()
    add: list[Planned] = []
    updates: list[Planned] = []
    rejected: list[Rejected] = []
    unchanged = 0
    for number, row in roster.parsed_rows(table, report):
        if isinstance(row, RowError):
            rejected.append(Rejected(number, report.headers.get(row.column, row.column), row.reason))
            continue
        stored = roster.enterprise_by_credit_code(session, row.credit_code)
        if stored is None:
            add.append(Planned(number, row))
            continue
        changed = [Change(name, old, new) for name, (old, new) in roster.changes(stored, row).items()]
        if changed:
            updates.append(Planned(number, row, changed))
        else:
            unchanged += 1
    return Preview(file_name, report.headers, report.ignored_columns, add, updates, unchanged, rejected)


def save(session: Session, found: Preview, by: str, now: datetime) -> str:
    """Keep the preview under a new random token."""
    token = secrets.token_urlsafe(18)
    session.add(RosterUpload(token=token, preview=found.to_json(), created_by=by, created_at=now))
    session.flush()
    return token


def load(session: Session, token: str) -> RosterUpload | None:
    return session.get(RosterUpload, token)


def expired(upload: RosterUpload, now: datetime) -> bool:
    return now - upload.created_at > UPLOAD_TTL


def apply(session: Session, token: str, by: str, now: datetime) -> ImportReport | None:
    """Import the previewed rows to add and to update; None when the upload was applied already (or never made)."""
    claimed = session.connection().execute(
        update(RosterUpload)
        .where(col(RosterUpload.token) == token, col(RosterUpload.applied_at).is_(None))
        .values(applied_at=now, applied_by=by)
    )
    if claimed.rowcount != 1:
        return None
    upload = session.get(RosterUpload, token)
    assert upload is not None
    session.refresh(upload)
    found = Preview.from_json(upload.preview)
    report = ImportReport(rejected=[(item.row, item.reason) for item in found.rejected])
    for planned in [*found.add, *found.update]:
        report.count(roster.upsert_enterprise(session, planned.values, now))
    return report
