"""The history every case keeps: one `CaseEvent` per move, under its workflow's kind, in the move's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from domain.workflows import Workflow
from storage.models import CaseEvent


def record(
    session: Session,
    workflow: Workflow[Any, Any],
    case_id: int | None,
    before: str | None,
    after: str,
    *,
    actor: str,
    note: str,
    at: datetime,
) -> CaseEvent:
    """`before` is None when the case is filed; a level change keeps the state (`before == after`)."""
    assert case_id is not None, "the case row is flushed first"
    event = CaseEvent(
        case_kind=workflow.kind, case_id=case_id, from_state=before, to_state=after, actor=actor, note=note, at=at
    )
    session.add(event)
    session.flush()
    return event
