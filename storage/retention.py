"""Deleting what the service no longer needs to keep, in batches so no transaction holds the database for long.

What may go is decided above (`bot.services.retention`); here is only how: which rows, in which order, how many
at a time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, false, func, or_
from sqlmodel import Session, col, select

from storage.models import InboundMessage, OutboxMessage, OutboxStatus

DONE = (OutboxStatus.SENT, OutboxStatus.FALLBACK)  # delivered, or handed on to its template fallback row
PERIOD_LENGTH = len("2024-06")


@dataclass(frozen=True)
class LiveKeys:
    """Outbox keys a scheduled job may still plan, kept however old their row is.

    `period_prefixes` name keys shaped `<prefix><YYYY-MM>:…`, live from the period `live_from` on; `prefixes` are
    kept whole (an open warning's escalations)."""

    period_prefixes: Sequence[str]
    live_from: str
    prefixes: Sequence[str] = ()


def delete_inbound_before(session: Session, before: datetime, limit: int) -> int:
    """Up to `limit` dedup rows received before `before` (oldest first, on the `received_at` index)."""
    keys = session.exec(
        select(InboundMessage.dedup_key)
        .where(col(InboundMessage.received_at) < before)
        .order_by(col(InboundMessage.received_at))
        .limit(limit)
    ).all()
    if keys:
        session.execute(
            delete(InboundMessage).where(col(InboundMessage.dedup_key).in_(keys)),
            execution_options={"synchronize_session": False},
        )
    return len(keys)


def _live(live: LiveKeys) -> Any:
    key = col(OutboxMessage.idempotency_key)
    by_period = [
        and_(
            key.startswith(prefix, autoescape=True),
            func.substr(key, len(prefix) + 1, PERIOD_LENGTH) >= live.live_from,
        )
        for prefix in live.period_prefixes
    ]
    whole = [key.startswith(prefix, autoescape=True) for prefix in live.prefixes]
    return or_(false(), *by_period, *whole)


def delete_delivered_outbox_before(session: Session, before: datetime, live: LiveKeys, limit: int) -> int:
    """Up to `limit` delivered rows queued before `before` whose key no job can plan again (`live`)."""
    ids = session.exec(
        select(OutboxMessage.id)
        .where(col(OutboxMessage.status).in_(DONE), col(OutboxMessage.created_at) < before, ~_live(live))
        .order_by(col(OutboxMessage.id))
        .limit(limit)
    ).all()
    if ids:
        session.execute(
            delete(OutboxMessage).where(col(OutboxMessage.id).in_(ids)),
            execution_options={"synchronize_session": False},
        )
    return len(ids)
