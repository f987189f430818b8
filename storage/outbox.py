"""The outbox queue: everything the account sends on its own is written here first.

A message is queued in the transaction of the change that caused it, under an idempotency key (a second
enqueue with the same key is a no-op); the channel's worker claims due messages and records how they went.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, and_, exists, literal_column, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col

from storage.models import OutboxKind, OutboxMessage, OutboxStatus

UNFINISHED = (OutboxStatus.PENDING, OutboxStatus.SENDING)
ANALYZE_AFTER = 1000  # messages queued at once (a reminder run) after which the planner's statistics are refreshed


def row(*, key: str, openid: str, kind: OutboxKind, payload: dict[str, Any], now: datetime) -> dict[str, Any]:
    """A new message as column values, for `enqueue_many`."""
    return {
        "idempotency_key": key,
        "openid": openid,
        "kind": kind.value,
        "payload": payload,
        "status": OutboxStatus.PENDING.value,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }


def enqueue_many(session: Session, rows: Sequence[dict[str, Any]]) -> set[str]:
    """Insert the rows whose key is new (ON CONFLICT DO NOTHING: safe under concurrency on both databases);
    returns the keys this call queued. One executemany, batched by SQLAlchemy into multi-row INSERTs; a large
    batch also refreshes the table's statistics (ANALYZE, in this transaction)."""
    if not rows:
        return set()
    table = OutboxMessage.metadata.tables[OutboxMessage.__tablename__]  # the Core table: no ORM bulk path
    postgres = session.get_bind().dialect.name == "postgresql"
    insert = pg_insert if postgres else sqlite_insert
    statement = (
        insert(table).on_conflict_do_nothing(index_elements=["idempotency_key"]).returning(table.c.idempotency_key)
    )
    queued = set(session.connection().execute(statement, list(rows)).scalars())
    if len(queued) >= ANALYZE_AFTER:
        # The claim's plan rests on how many messages the database believes are waiting. Believing none while
        # 100,000 wait, it checks every one of them on each claim (a second, not a millisecond) until autovacuum
        # happens to analyze the table; SQLite never does. Fresh statistics commit with the messages themselves.
        session.execute(text(f"ANALYZE {OutboxMessage.__tablename__}"))
    return queued


def enqueue(
    session: Session, *, key: str, openid: str, kind: OutboxKind, payload: dict[str, Any], now: datetime
) -> None:
    """Insert unless the key exists."""
    enqueue_many(session, [row(key=key, openid=openid, kind=kind, payload=payload, now=now)])


def enqueue_text(
    session: Session,
    *,
    key: str,
    openid: str,
    content: str,
    now: datetime,
    fallback: dict[str, Any] | None = None,
) -> None:
    """A customer-service text; `fallback` is a template message to send instead if the window is closed."""
    payload: dict[str, Any] = {"content": content}
    if fallback:
        payload["fallback"] = fallback
    enqueue(session, key=key, openid=openid, kind=OutboxKind.TEXT, payload=payload, now=now)


def enqueue_template(
    session: Session,
    *,
    key: str,
    openid: str,
    template_id: str,
    data: dict[str, Any],
    now: datetime,
    url: str | None = None,
) -> None:
    payload: dict[str, Any] = {"template_id": template_id, "data": data, "url": url}
    enqueue(session, key=key, openid=openid, kind=OutboxKind.TEMPLATE, payload=payload, now=now)


def enqueue_media(session: Session, *, media_id: str, owner: str, openid: str, now: datetime) -> None:
    """Fetch a photo `openid` sent (registered with `storage.media.register`) while WeChat still has it."""
    payload = {"media_id": media_id, "owner": owner}
    enqueue(session, key=f"media:{media_id}", openid=openid, kind=OutboxKind.MEDIA, payload=payload, now=now)


def enqueue_invite_qr(
    session: Session, *, code: str, expires_at: datetime, path: str, content: str, openid: str, now: datetime
) -> None:
    """Make the QR code of invitation `code`, write its image to `path` (under the files folder), then send
    `content` (which links to it) to `openid`: the link arrives only once the image is there."""
    payload = {"code": code, "expires_at": expires_at.isoformat(), "path": path, "content": content}
    enqueue(session, key=f"qr:{path}", openid=openid, kind=OutboxKind.INVITE_QR, payload=payload, now=now)


def unfinished(status: Any) -> ColumnElement[bool]:
    """`status IN ('pending', 'sending')` with the values as literals, exactly the partial indexes' predicate."""
    return cast(ColumnElement[bool], status.in_([literal_column(f"'{state.value}'") for state in UNFINISHED]))


@dataclass(frozen=True)
class Claimed:
    """A message leased to a worker: what sending it and recording how it went need."""

    id: int
    idempotency_key: str
    openid: str
    kind: OutboxKind
    payload: dict[str, Any]
    attempts: int


def claim(session: Session, now: datetime, *, limit: int, lease: timedelta, skip_locked: bool) -> list[Claimed]:
    """Due messages, leased to the caller in one UPDATE … RETURNING (SKIP LOCKED on PostgreSQL, so several workers
    never take the same one).

    Of a user's messages only the oldest unfinished one is ever due, so whatever the number of workers and of
    sends in flight, a user is sent one message at a time and in the order they were queued (a retry waits its
    backoff, and what comes after it waits too). Photos to fetch (MEDIA) are not messages to the user: they
    neither wait nor hold anyone up.
    """
    table = OutboxMessage.metadata.tables[OutboxMessage.__tablename__]
    earlier = table.alias("earlier")
    waits = exists().where(
        earlier.c.openid == table.c.openid,
        earlier.c.id < table.c.id,
        unfinished(earlier.c.status),
        earlier.c.kind != OutboxKind.MEDIA,
    )
    due = or_(
        and_(table.c.status == OutboxStatus.PENDING, table.c.next_attempt_at <= now),
        and_(table.c.status == OutboxStatus.SENDING, table.c.lease_until < now),
    )
    chosen = (
        select(table.c.id)
        .where(unfinished(table.c.status), due, or_(table.c.kind == OutboxKind.MEDIA, ~waits))
        .order_by(table.c.id)
        .limit(limit)
    )
    if skip_locked:
        chosen = chosen.with_for_update(skip_locked=True)
    picked = chosen.cte("chosen").prefix_with("MATERIALIZED", dialect="postgresql")  # chosen once, then leased
    leased = (
        update(table)
        .where(table.c.id == picked.c.id)
        .values(status=OutboxStatus.SENDING, lease_until=now + lease, attempts=table.c.attempts + 1)
        .returning(table.c.id, table.c.idempotency_key, table.c.openid, table.c.kind, table.c.payload, table.c.attempts)
    )
    return sorted((Claimed(*row) for row in session.connection().execute(leased)), key=lambda c: c.id)


def mark_sent(session: Session, ids: Sequence[int], now: datetime) -> None:
    """Record a batch of accepted sends in one statement (rows no longer SENDING were settled elsewhere)."""
    if not ids:
        return
    session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.id).in_(ids), col(OutboxMessage.status) == OutboxStatus.SENDING)
        .values(status=OutboxStatus.SENT, sent_at=now, lease_until=None, errcode=None, last_error=None)
        .execution_options(synchronize_session=False)
    )


def release(session: Session, ids: Sequence[int]) -> None:
    """Give claimed messages back unsent (the worker paused before their turn): due again, the attempt uncounted."""
    if not ids:
        return
    session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.id).in_(ids), col(OutboxMessage.status) == OutboxStatus.SENDING)
        .values(status=OutboxStatus.PENDING, lease_until=None, attempts=col(OutboxMessage.attempts) - 1)
        .execution_options(synchronize_session=False)
    )
