"""Warning cases in the database: the row made from a submitted form, its moves and level changes, who is alerted.

Every change writes a `CaseEvent` (case_kind `WARNING.kind`) in the same transaction, so the history and the row
never disagree.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, tzinfo
from decimal import Decimal
from typing import Any

from sqlmodel import Session, col, select

from config.warning_levels import Assessment, Facts
from domain.enums import WarningLevel, WarningState
from domain.workflows import Move
from domain.workflows.warning import WARNING, Action
from storage import case_events
from storage.models import CaseEvent, DisputeWarning, Enterprise, Submission


def facts(answers: dict[str, Any]) -> Facts:
    """What the level rules read, from the form's stored answers (partial while the form is being filled)."""
    amount = answers.get("amount")
    return Facts(
        workers=int(answers.get("workers") or 0),
        amount=Decimal(amount) if amount is not None else None,
        signs=frozenset(answers.get("signs") or ()),
        category=str(answers.get("category") or ""),
    )


def _utc(local_iso: str, zone: tzinfo) -> datetime:
    """Form datetimes are the federation's wall-clock time; the table keeps aware UTC."""
    return datetime.fromisoformat(local_iso).replace(tzinfo=zone)


def record_warning(
    session: Session, record: Submission, assessment: Assessment, reasons: list[str], zone: tzinfo
) -> tuple[DisputeWarning, bool]:
    """The case for a submission, made once: a repeated submit returns the first row and False."""
    existing = session.exec(select(DisputeWarning).where(DisputeWarning.submission_id == record.id)).first()
    if existing is not None:
        return existing, False
    answers = record.answers
    amount = answers.get("amount")
    assert record.id is not None
    warning = DisputeWarning(
        submission_id=record.id,
        receipt=record.receipt,
        enterprise_id=record.enterprise_id,
        reporter=record.openid,
        found_at=_utc(answers["found_at"], zone),
        place=answers["place"],
        category=answers["category"],
        workers=int(answers["workers"]),
        amount=Decimal(amount) if amount is not None else None,
        description=answers["description"],
        demands=answers["demands"],
        signs=list(answers.get("signs") or []),
        measures=answers.get("measures") or "",
        photos=list(answers.get("photos") or []),
        phone=answers["phone"],
        level=assessment.level,
        computed_level=assessment.level,
        level_reasons=reasons,
        state=WarningState.SUBMITTED,
        created_at=record.submitted_at,
    )
    session.add(warning)
    session.flush()
    assert warning.id is not None
    case_events.record(
        session, WARNING, warning.id, None, WarningState.SUBMITTED, actor=record.openid, note="", at=record.submitted_at
    )
    return warning, True


def by_receipt(session: Session, receipt: str, *, lock: bool = False) -> DisputeWarning | None:
    """`lock` holds the row until commit, so two staff acting on one case at once are served one after the other."""
    query = select(DisputeWarning).where(DisputeWarning.receipt == receipt)
    return session.exec(query.with_for_update() if lock else query).first()


def enterprise_name(session: Session, warning: DisputeWarning) -> str:
    company = session.get(Enterprise, warning.enterprise_id) if warning.enterprise_id is not None else None
    return company.name if company else ""


def apply_move(
    session: Session, warning: DisputeWarning, move: Move[WarningState, Action], *, actor: str, note: str, now: datetime
) -> CaseEvent:
    """Make the move (the workflow decided it may), set or clear the case's timestamps, record it."""
    before = warning.state
    if move.stamp is not None:
        setattr(warning, move.stamp, now)
    for name in move.clears:
        setattr(warning, name, None)
    warning.state = move.target
    session.add(warning)
    return case_events.record(session, WARNING, warning.id, before, move.target, actor=actor, note=note, at=now)


def change_level(
    session: Session, warning: DisputeWarning, level: WarningLevel, actor: str, note: str, now: datetime
) -> CaseEvent:
    """Staff override, recorded as an event that keeps the state; `computed_level` keeps what the rules said."""
    warning.level = level
    session.add(warning)
    return case_events.record(
        session, WARNING, warning.id, warning.state, warning.state, actor=actor, note=note, at=now
    )


def events(session: Session, warning: DisputeWarning) -> Sequence[CaseEvent]:
    query = select(CaseEvent).where(CaseEvent.case_kind == WARNING.kind, CaseEvent.case_id == warning.id)
    return session.exec(query.order_by(col(CaseEvent.at), col(CaseEvent.id))).all()
