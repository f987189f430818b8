"""Delivering the outbox: the only code that sends what the account says on its own.

Messages are queued by `storage.outbox` in the transaction of the change that caused them; `OutboxWorker` claims
them, calls WeChat, and records a final state an operator can query: sent, failed (with WeChat's errcode) or
fallback (45015), retrying with backoff in between.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx

from bot.channel import invite_qr
from bot.channel.wechat_api import OUTSIDE_WINDOW, RATE_LIMITED, SYSTEM_BUSY, WechatApi, WechatApiError
from storage import media
from storage import outbox as queue
from storage.db import Database
from storage.models import OutboxKind, OutboxMessage, OutboxStatus

log = logging.getLogger(__name__)

RETRYABLE = frozenset({RATE_LIMITED, SYSTEM_BUSY})
LEASE = timedelta(seconds=60)


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
        clock: Callable[[], datetime],
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
        with self._db.transaction() as session:
            return queue.claim(session, self._clock(), limit=self._batch, lease=LEASE, skip_locked=self._db.is_postgres)

    def _send(self, message: OutboxMessage) -> None:
        payload = message.payload
        if message.kind == OutboxKind.TEXT:
            self._api.send_text(message.openid, str(payload["content"]))
        elif message.kind == OutboxKind.MEDIA:
            self._fetch_media(str(payload["media_id"]), str(payload["owner"]))
        elif message.kind == OutboxKind.INVITE_QR:
            self._invite_qr(message.openid, payload)
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

    def _invite_qr(self, openid: str, payload: dict[str, Any]) -> None:
        """A fresh QR code for the invitation (made now, so it lives as long as it may), then the link to it."""
        if self._vault is None:
            raise RuntimeError("no media vault configured for this worker")
        expires_at = datetime.fromisoformat(str(payload["expires_at"]))
        png = invite_qr.invite_png(self._api, str(payload["code"]), expires_at, self._clock())
        self._vault.write_at(str(payload["path"]), png)
        self._api.send_text(openid, str(payload["content"]))

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
                    queue.enqueue_template(
                        session, key=f"{row.idempotency_key}:fallback", openid=row.openid, now=now, **fallback
                    )
            elif (errcode is None or errcode in RETRYABLE) and row.attempts < self._max_attempts:
                row.status, row.next_attempt_at = OutboxStatus.PENDING, now + backoff(row.attempts)
            else:
                row.status = OutboxStatus.FAILED
            session.add(row)
        if error is not None:
            log.warning("outbox %s to %s: %s (errcode %s)", message.idempotency_key, message.openid, error, errcode)
