"""The outbox queue: everything the account sends on its own is written here first.

A message is queued in the transaction of the change that caused it, under an idempotency key (a second
enqueue with the same key is a no-op); the channel's worker claims due messages and records how they went.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Integer,
    and_,
    bindparam,
    exists,
    literal_column,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.sql.dml import ReturningUpdate
from sqlmodel import Session

from storage.models import OutboxKind, OutboxMessage, OutboxStatus

UNFINISHED = (OutboxStatus.PENDING, OutboxStatus.SENDING)
TABLE = OutboxMessage.metadata.tables[OutboxMessage.__tablename__]  # the Core table: no ORM bulk path
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
    postgres = session.get_bind().dialect.name == "postgresql"
    insert = pg_insert if postgres else sqlite_insert
    statement = (
        insert(TABLE).on_conflict_do_nothing(index_elements=["idempotency_key"]).returning(TABLE.c.idempotency_key)
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


def _claim_statement(skip_locked: bool) -> ReturningUpdate[Any]:
    """Built once per database kind with bound parameters (now, limit, lease end): the worker claims many times a
    second, and building the statement each time cost more CPU than the database took to run it."""
    earlier = TABLE.alias("earlier")
    waits = exists().where(
        earlier.c.openid == TABLE.c.openid,
        earlier.c.id < TABLE.c.id,
        unfinished(earlier.c.status),
        earlier.c.kind != OutboxKind.MEDIA,
    )
    now = bindparam("now", type_=TABLE.c.next_attempt_at.type)
    due = or_(
        and_(TABLE.c.status == OutboxStatus.PENDING, TABLE.c.next_attempt_at <= now),
        and_(TABLE.c.status == OutboxStatus.SENDING, TABLE.c.lease_until < now),
    )
    chosen = (
        select(TABLE.c.id)
        .where(unfinished(TABLE.c.status), due, or_(TABLE.c.kind == OutboxKind.MEDIA, ~waits))
        .order_by(TABLE.c.id)
        .limit(bindparam("limit", type_=Integer))
    )
    if skip_locked:
        chosen = chosen.with_for_update(skip_locked=True)
    picked = chosen.cte("chosen").prefix_with("MATERIALIZED", dialect="postgresql")  # chosen once, then leased
    return (
        update(TABLE)
        .where(TABLE.c.id == picked.c.id)
        .values(
            status=OutboxStatus.SENDING,
            lease_until=bindparam("lease_until", type_=TABLE.c.lease_until.type),
            attempts=TABLE.c.attempts + 1,
        )
        .returning(TABLE.c.id, TABLE.c.idempotency_key, TABLE.c.openid, TABLE.c.kind, TABLE.c.payload, TABLE.c.attempts)
    )


CLAIM = {skip_locked: _claim_statement(skip_locked) for skip_locked in (False, True)}
IDS: BindParameter[int] = bindparam("ids", expanding=True)
SENT = (
    update(TABLE)
    .where(TABLE.c.id.in_(IDS), TABLE.c.status == OutboxStatus.SENDING)
    .values(
        status=OutboxStatus.SENT,
        sent_at=bindparam("now", type_=TABLE.c.sent_at.type),
        lease_until=None,
        errcode=None,
        last_error=None,
    )
)
RELEASED = (
    update(TABLE)
    .where(TABLE.c.id.in_(IDS), TABLE.c.status == OutboxStatus.SENDING)
    .values(status=OutboxStatus.PENDING, lease_until=None, attempts=TABLE.c.attempts - 1)
)


def claim(session: Session, now: datetime, *, limit: int, lease: timedelta, skip_locked: bool) -> list[Claimed]:
    """Due messages, leased to the caller in one UPDATE … RETURNING (SKIP LOCKED on PostgreSQL, so several workers
    never take the same one).

    Of a user's messages only the oldest unfinished one is ever due, so whatever the number of workers and of
    sends in flight, a user is sent one message at a time and in the order they were queued (a retry waits its
    backoff, and what comes after it waits too). Photos to fetch (MEDIA) are not messages to the user: they
    neither wait nor hold anyone up.
    """
    rows = session.connection().execute(CLAIM[skip_locked], {"now": now, "limit": limit, "lease_until": now + lease})
    return sorted((Claimed(*row) for row in rows), key=lambda c: c.id)


def mark_sent(session: Session, ids: Sequence[int], now: datetime) -> None:
    """Record a batch of accepted sends in one statement (rows no longer SENDING were settled elsewhere)."""
    if ids:
        session.connection().execute(SENT, {"ids": list(ids), "now": now})


def release(session: Session, ids: Sequence[int]) -> None:
    """Give claimed messages back unsent (the worker paused before their turn): due again, the attempt uncounted."""
    if ids:
        session.connection().execute(RELEASED, {"ids": list(ids)})
