"""Hardship applications: filing (and refiling after a return), the staff workflow, duplicates and the audit.

Sensitive values are encrypted with the configured data key before they reach a row (`*_enc`); the ID number is
also kept as a keyed digest (duplicates) and a masked copy (lists, alerts). Every transition is a `CaseEvent`,
every view of a case or of its photos an `AuditLog` row.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlmodel import Session, col, select

from domain.enums import HardshipState
from domain.normalize import mask_id_number
from domain.workflows.hardship import HARDSHIP, Action
from storage import case_events, crypto
from storage.models import AuditLog, CaseEvent, Enterprise, HardshipApplication


@dataclass(frozen=True)
class Sensitive:
    """The decrypted part of an application, for the people allowed to see it."""

    id_number: str
    phone: str
    household: list[dict[str, Any]]
    description: str


def _amount(raw: Any) -> Decimal:
    return Decimal(str(raw)) if raw is not None else Decimal(0)


def columns(answers: dict[str, Any], key: str) -> dict[str, Any]:
    """A submission's plain answers as row values, with what is sensitive encrypted."""
    id_number = str(answers["id_number"])
    household = list(answers.get("household") or [])
    return {
        "worker_name": str(answers["worker_name"]),
        "id_number_enc": crypto.encrypt(key, id_number),
        "id_digest": crypto.digest(key, id_number),
        "id_masked": mask_id_number(id_number),
        "phone_enc": crypto.encrypt(key, str(answers["phone"])),
        "category": str(answers["category"]),
        "suggested_category": answers.get("suggested"),
        "causes": list(answers.get("causes") or []),
        "household_enc": crypto.encrypt(key, json.dumps(household, ensure_ascii=False)),
        "household_size": 1 + len(household),
        "annual_income": _amount(answers["income"]),
        "rigid_expenses": _amount(answers["rigid"]),
        "per_capita_monthly": _amount(answers.get("per_capita")),
        "help_kind": str(answers["help_kind"]),
        "amount_requested": _amount(answers["amount"]),
        "description_enc": crypto.encrypt(key, str(answers["description"])),
        "photos": list(answers.get("photos") or []),
    }


def create(
    session: Session,
    *,
    submission_id: int,
    receipt: str,
    enterprise_id: int,
    chair: str,
    answers: dict[str, Any],
    key: str,
    consent_version: str,
    now: datetime,
) -> HardshipApplication:
    row = HardshipApplication(
        **columns(answers, key),
        submission_id=submission_id,
        receipt=receipt,
        enterprise_id=enterprise_id,
        chair=chair,
        consent_version=consent_version,
        consent_at=now,
        duplicate_of=[],
        state=HardshipState.SUBMITTED,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    case_events.record(session, HARDSHIP, row.id, None, HardshipState.SUBMITTED, actor=chair, note="", at=now)
    return row


def refile(
    session: Session,
    row: HardshipApplication,
    *,
    submission_id: int,
    answers: dict[str, Any],
    key: str,
    consent_version: str,
    now: datetime,
) -> None:
    """The chair corrected a returned application (`Action.RESUBMIT`): the same row is updated and goes back."""
    for name, value in columns(answers, key).items():
        setattr(row, name, value)
    row.submission_id = submission_id
    row.consent_version, row.consent_at = consent_version, now
    move(session, row, HARDSHIP.move(Action.RESUBMIT).target, row.chair, "resubmitted", now)


def by_receipt(session: Session, receipt: str) -> HardshipApplication | None:
    return session.exec(select(HardshipApplication).where(HardshipApplication.receipt == receipt.upper())).first()


def duplicates(session: Session, row: HardshipApplication, window_days: int, now: datetime) -> list[str]:
    """Receipts of other applications for the same ID number filed within the window."""
    since = now - timedelta(days=window_days)
    query = (
        select(HardshipApplication.receipt)
        .where(
            HardshipApplication.id_digest == row.id_digest,
            col(HardshipApplication.id) != row.id,
            col(HardshipApplication.created_at) >= since,
        )
        .order_by(col(HardshipApplication.id))
    )
    return list(session.exec(query).all())


def move(session: Session, row: HardshipApplication, to: HardshipState, actor: str, note: str, now: datetime) -> None:
    before = row.state
    row.state, row.updated_at = to, now
    session.add(row)
    case_events.record(session, HARDSHIP, row.id, before, to, actor=actor, note=note, at=now)


def events(session: Session, row: HardshipApplication) -> list[CaseEvent]:
    query = (
        select(CaseEvent)
        .where(CaseEvent.case_kind == HARDSHIP.kind, CaseEvent.case_id == row.id)
        .order_by(col(CaseEvent.id))
    )
    return list(session.exec(query).all())


def audit(session: Session, *, actor: str, action: str, subject: str, detail: str, now: datetime) -> AuditLog:
    entry = AuditLog(actor=actor, action=action, subject=subject, detail=detail[:500], at=now)
    session.add(entry)
    session.flush()
    return entry


def audited_since(session: Session, audit_id: int, *, actor: str, action: str, subject: str, since: datetime) -> bool:
    """Whether the audit row `audit_id` records that `actor` took `action` on `subject` at `since` or later."""
    entry = session.get(AuditLog, audit_id)
    return (
        entry is not None
        and (entry.actor, entry.action, entry.subject) == (actor, action, subject)
        and entry.at >= since
    )


def audit_shown(session: Session, *, actor: str, subject: str, shown: list[HardshipApplication], now: datetime) -> None:
    """Hardship files are sensitive (PIPL): who saw which receipts in a list is logged."""
    if shown:
        audit(session, actor=actor, action="view", subject=subject, detail=",".join(r.receipt for r in shown), now=now)


def reveal(row: HardshipApplication, key: str) -> Sensitive:
    return Sensitive(
        id_number=crypto.decrypt(key, row.id_number_enc),
        phone=crypto.decrypt(key, row.phone_enc),
        household=json.loads(crypto.decrypt(key, row.household_enc)),
        description=crypto.decrypt(key, row.description_enc),
    )


def enterprise_name(session: Session, row: HardshipApplication) -> str:
    company = session.get(Enterprise, row.enterprise_id)
    return company.name if company else ""
