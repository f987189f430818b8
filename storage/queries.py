"""Read-only queries shared by the CLI and the handlers."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func
from sqlmodel import Session, col, select

from storage.models import OutboxMessage, OutboxStatus


def outbox_counts(session: Session) -> list[tuple[str, int]]:
    query = (
        select(OutboxMessage.status, func.count())
        .group_by(col(OutboxMessage.status))
        .order_by(col(OutboxMessage.status))
    )
    return [(str(status), int(count)) for status, count in session.exec(query).all()]


def outbox_problems(session: Session, limit: int) -> Sequence[OutboxMessage]:
    problems = (OutboxStatus.FAILED, OutboxStatus.FALLBACK)
    query = (
        select(OutboxMessage)
        .where(col(OutboxMessage.status).in_(problems))
        .order_by(col(OutboxMessage.id).desc())
        .limit(limit)
    )
    return session.exec(query).all()
