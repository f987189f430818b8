"""Read-only queries shared by the CLI and the handlers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from storage import heartbeat
from storage.models import Heartbeat, OutboxMessage, OutboxStatus


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


@dataclass(frozen=True)
class Backlog:
    """What `/metrics` and `unionbot doctor` read of the background work: messages waiting (pending or being
    sent), failed for good, the oldest waiting one, and the scheduler leader's last round."""

    waiting: int
    failed: int
    oldest_waiting_at: datetime | None
    last_tick: datetime | None


def backlog(session: Session) -> Backlog:
    """One statement, each part on an index (`ix_outbox_due` leads with the status; the heartbeat by its key)."""
    waiting = col(OutboxMessage.status).in_((OutboxStatus.PENDING, OutboxStatus.SENDING))
    query = select(
        select(func.count()).select_from(OutboxMessage).where(waiting).scalar_subquery(),
        select(func.count())
        .select_from(OutboxMessage)
        .where(col(OutboxMessage.status) == OutboxStatus.FAILED)
        .scalar_subquery(),
        select(func.min(OutboxMessage.created_at)).where(waiting).scalar_subquery(),
        select(Heartbeat.at).where(Heartbeat.name == heartbeat.SCHEDULER).scalar_subquery(),
    )
    waiting_count, failed, oldest, tick = session.execute(query).one()
    return Backlog(int(waiting_count), int(failed), oldest, tick)
