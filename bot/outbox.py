"""Everything the account sends on its own leaves through here.

A message is written in the transaction of the change that caused it, under an idempotency key (a second
enqueue with the same key is a no-op), then delivered by `OutboxWorker` with retries and backoff until it
reaches a final state an operator can query: sent, failed (with WeChat's errcode) or fallback (45015).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import and_, or_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from bot.wechat_api import OUTSIDE_WINDOW, RATE_LIMITED, SYSTEM_BUSY, WechatApi, WechatApiError
from storage import media
from storage.db import Database, utcnow
from storage.models import OutboxKind, OutboxMessage, OutboxStatus

log = logging.getLogger(__name__)

RETRYABLE = frozenset({RATE_LIMITED, SYSTEM_BUSY})
LEASE = timedelta(seconds=60)


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
    returns the keys this call queued. One executemany, batched by SQLAlchemy into multi-row INSERTs."""
    if not rows:
        return set()
    table = OutboxMessage.metadata.tables[OutboxMessage.__tablename__]  # the Core table: no ORM bulk path
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(table).on_conflict_do_nothing(index_elements=["idempotency_key"]).returning(table.c.idempotency_key)
    )
    return set(session.connection().execute(statement, list(rows)).scalars())


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


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(2 * 2 ** max(attempts - 1, 0), 600))


class OutboxWorker:
    """Claims due messages (SKIP LOCKED on PostgreSQL, so several workers never take the same one)."""

    def __init__(
        self,
        db: Database,
        api: WechatApi,
        *,
        max_attempts: int = 8,
        batch: int = 50,
        clock: Callable[[], datetime] = utcnow,
        vault: media.MediaVault | None = None,
    ) -> None:
        self._db = db
        self._vault = vault
        self._api = api
        self._max_attempts = max_attempts
        self._batch = batch
        self._clock = clock

    def run_once(self) -> int:
        """Deliver what is due now; returns how many messages were attempted."""
        claimed = self._claim()
        for message in claimed:
            self._deliver(message)
        return len(claimed)

    def drain(self, limit: int = 1000) -> int:
        """Deliver until nothing is due (tests, CLI): bounded so a failing API cannot loop forever."""
        total = 0
        while total < limit and (done := self.run_once()):
            total += done
        return total

    def _claim(self) -> list[OutboxMessage]:
        now = self._clock()
        due = or_(
            and_(col(OutboxMessage.status) == OutboxStatus.PENDING, col(OutboxMessage.next_attempt_at) <= now),
            and_(col(OutboxMessage.status) == OutboxStatus.SENDING, col(OutboxMessage.lease_until) < now),
        )
        query = select(OutboxMessage).where(due).order_by(col(OutboxMessage.id)).limit(self._batch)
        if self._db.is_postgres:
            query = query.with_for_update(skip_locked=True)
        with self._db.transaction() as session:
            rows = list(session.exec(query).all())
            for row in rows:
                row.status = OutboxStatus.SENDING
                row.lease_until = now + LEASE
                row.attempts += 1
                session.add(row)
            return rows

    def _send(self, message: OutboxMessage) -> None:
        payload = message.payload
        if message.kind == OutboxKind.TEXT:
            self._api.send_text(message.openid, str(payload["content"]))
        elif message.kind == OutboxKind.MEDIA:
            self._fetch_media(str(payload["media_id"]), str(payload["owner"]))
        else:
            self._api.send_template(message.openid, str(payload["template_id"]), payload["data"], payload.get("url"))

    def _fetch_media(self, media_id: str, owner: str) -> None:
        """Download a photo, write it encrypted, and record where; a retry rewrites the same file."""
        if self._vault is None:
            raise RuntimeError("no media vault configured for this worker")
        data, content_type = self._api.download_media(media_id)
        path, sha = self._vault.write(owner, data, content_type)
        with self._db.transaction() as session:
            media.stored(
                session,
                media_id=media_id,
                path=path,
                content_type=content_type,
                size=len(data),
                sha256=sha,
                now=self._clock(),
            )

    def _deliver(self, message: OutboxMessage) -> None:
        errcode: int | None = None
        error: str | None = None
        try:
            self._send(message)
        except WechatApiError as exc:
            errcode, error = exc.errcode, exc.errmsg
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        except Exception as exc:
            # Anything else (a broken token cache, a malformed payload) must not strand the rest of the batch
            # in SENDING; it is retried with backoff and ends FAILED after max_attempts like any other error.
            log.exception("outbox %s: unexpected error while sending", message.idempotency_key)
            error = f"{type(exc).__name__}: {exc}"
        self._record(message, errcode, error)

    def _record(self, message: OutboxMessage, errcode: int | None, error: str | None) -> None:
        now = self._clock()
        with self._db.transaction() as session:
            row = session.get(OutboxMessage, message.id)
            if row is None or row.status != OutboxStatus.SENDING:
                return
            row.lease_until = None
            row.errcode = errcode
            row.last_error = error[:500] if error else None
            if error is None:
                row.status, row.sent_at = OutboxStatus.SENT, now
            elif errcode == OUTSIDE_WINDOW:
                row.status = OutboxStatus.FALLBACK
                fallback = row.payload.get("fallback")
                if fallback:
                    enqueue_template(
                        session, key=f"{row.idempotency_key}:fallback", openid=row.openid, now=now, **fallback
                    )
            elif (errcode is None or errcode in RETRYABLE) and row.attempts < self._max_attempts:
                row.status, row.next_attempt_at = OutboxStatus.PENDING, now + backoff(row.attempts)
            else:
                row.status = OutboxStatus.FAILED
            session.add(row)
        if error is not None:
            log.warning("outbox %s to %s: %s (errcode %s)", message.idempotency_key, message.openid, error, errcode)
