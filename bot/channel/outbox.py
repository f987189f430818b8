"""Delivering the outbox: the only code that sends what the account says on its own.

Messages are queued by `storage.outbox` in the transaction of the change that caused them; `OutboxWorker` claims
them, calls WeChat, and records a final state an operator can query: sent, failed (with WeChat's errcode) or
fallback (45015, 45047), retrying with backoff in between.

Many sends are in flight at once (`UNIONBOT_OUTBOX_CONCURRENCY`, each in a thread of its own: one after another,
WeChat's ~50 ms per call would hold a worker to 20 a second), a user's messages one at a time and in order (the
claim takes only each user's oldest unfinished message), and WeChat's "too fast" answers slow the whole worker down
(`bot.channel.pacing`). Finished sends are recorded together with the next claim, in one transaction: every
accepted send of the batch in one UPDATE.

Exactly once, as far as a network allows: a message is leased (claimed, SENDING) before it is sent and marked
after, so no two workers send it at once. A worker that dies between WeChat's answer and the mark leaves the row
SENDING; when its lease runs out the message is sent again. That window (at most one round trip to the database
after the answer, plus the lease) is the one at-least-once case, as before this worker sent in parallel.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlmodel import Session

from bot.channel import invite_qr
from bot.channel.pacing import Pace
from bot.channel.wechat_api import (
    OUTSIDE_WINDOW,
    RATE_LIMITED,
    REPLY_QUOTA_USED,
    SYSTEM_BUSY,
    WechatApi,
    WechatApiError,
)
from storage import media
from storage import outbox as queue
from storage.db import Database
from storage.models import OutboxKind, OutboxMessage, OutboxStatus
from storage.outbox import Claimed

log = logging.getLogger(__name__)

RETRYABLE = frozenset({RATE_LIMITED, SYSTEM_BUSY})
SLOW_DOWN = frozenset({RATE_LIMITED, SYSTEM_BUSY})  # about the account, not the message: the whole worker waits
# The customer-service channel to this user is shut (window passed, or its message count used up): retrying will
# not open it, a template message may still reach them.
NEEDS_FALLBACK = frozenset({OUTSIDE_WINDOW, REPLY_QUOTA_USED})
LEASE = timedelta(seconds=60)
ROUND = 32  # `run_once` returns after claiming this many per send in flight; `drain` checks its bound in between


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(2 * 2 ** max(attempts - 1, 0), 600))


@dataclass(frozen=True)
class Outcome:
    """What one send came to: nothing (accepted), or WeChat's errcode and message, or a transport error."""

    errcode: int | None = None
    error: str | None = None


Finished = list[tuple[Claimed, Outcome]]


class OutboxWorker:
    """Claims due messages (SKIP LOCKED on PostgreSQL, so several workers never take the same one) and sends up
    to `concurrency` of them at once."""

    def __init__(
        self,
        db: Database,
        api: WechatApi,
        *,
        max_attempts: int = 8,
        concurrency: int = 16,
        clock: Callable[[], datetime],
        vault: media.MediaVault | None = None,
    ) -> None:
        self._db = db
        self._vault = vault
        self._api = api
        self._max_attempts = max_attempts
        self._clock = clock
        self.pace = Pace(concurrency)
        self._stopping = threading.Event()

    def stop(self) -> None:
        """Claim nothing more (shutdown): the round in progress finishes what it has in flight and returns."""
        self._stopping.set()

    def run_once(self) -> int:
        """Deliver what is due now, up to one round; returns how many messages were attempted.

        Returns 0 at once while WeChat's rate limit has paused sending (`pace`).
        """
        attempted = 0
        finished: Finished = []
        unsent: list[Claimed] = []
        flying: dict[Future[Outcome], Claimed] = {}
        more = True
        with ThreadPoolExecutor(self.pace.ceiling, thread_name_prefix="outbox") as pool:
            while True:
                want = self._room(len(flying), attempted) if more else 0
                claimed = self._settle_and_claim(finished, unsent, want)
                if want:
                    more = len(claimed) == want
                for message in claimed:
                    flying[pool.submit(self._deliver, message)] = message
                attempted += len(claimed) - len(unsent)
                if not flying:
                    return attempted
                finished, unsent = self._collect(flying)

    def drain(self, limit: int = 1000) -> int:
        """Deliver until nothing is due (tests, CLI): bounded so a failing API cannot loop forever."""
        total = 0
        while total < limit and (done := self.run_once()):
            total += done
        return total

    def _room(self, flying: int, attempted: int) -> int:
        """How many more to claim now: none while paused, stopping or at the end of the round.

        At full speed a second bound's worth waits in the pool behind the sends in flight, so a thread that
        finishes starts the next send at once instead of waiting for the database; slowed down, nothing waits.
        """
        pace = self.pace
        if self._stopping.is_set() or attempted >= ROUND * pace.ceiling or pace.paused(self._clock()):
            return 0
        outstanding = 2 * pace.limit if pace.limit == pace.ceiling else pace.limit
        return max(outstanding - flying, 0)

    def _collect(self, flying: dict[Future[Outcome], Claimed]) -> tuple[Finished, list[Claimed]]:
        """Wait for half the bound to finish (or all that fly), so each transaction records several.

        When WeChat says "too fast", the messages still waiting in the pool are taken back unsent.
        """
        finished: Finished = []
        need = min(len(flying), max(1, self.pace.limit // 2))
        while len(finished) < need:
            done, _ = wait(flying, return_when=FIRST_COMPLETED)
            finished += [(flying.pop(future), future.result()) for future in done]
        now = self._clock()
        for _, outcome in finished:
            if outcome.errcode in SLOW_DOWN:
                self.pace.slow_down(now)
        self.pace.went_through(sum(1 for _, outcome in finished if outcome.error is None))
        unsent = [flying.pop(future) for future in list(flying) if self.pace.paused(now) and future.cancel()]
        return finished, unsent

    def _settle_and_claim(self, finished: Finished, unsent: list[Claimed], want: int) -> list[Claimed]:
        """Record what finished, give back what was not sent, and claim `want` more: one transaction."""
        if not finished and not unsent and not want:
            return []
        now = self._clock()
        with self._db.transaction() as session:
            queue.mark_sent(session, [m.id for m, outcome in finished if outcome.error is None], now)
            for message, outcome in finished:
                if outcome.error is not None:
                    self._record_failure(session, message, outcome, now)
            queue.release(session, [m.id for m in unsent])
            claimed = (
                queue.claim(session, now, limit=want, lease=LEASE, skip_locked=self._db.is_postgres) if want else []
            )
        for message, outcome in finished:
            if outcome.error is not None:
                log.warning(
                    "outbox %s to %s: %s (errcode %s)",
                    message.idempotency_key,
                    message.openid,
                    outcome.error,
                    outcome.errcode,
                )
        return claimed

    def _send(self, message: Claimed) -> None:
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

    def _deliver(self, message: Claimed) -> Outcome:
        """Send one message (in a pool thread); never raises, so one bad message cannot strand the others."""
        try:
            self._send(message)
        except WechatApiError as exc:
            return Outcome(exc.errcode, exc.errmsg)
        except httpx.HTTPError as exc:
            return Outcome(None, f"{type(exc).__name__}: {exc}")
        except Exception as exc:
            # Anything else (a broken token cache, a malformed payload) is retried with backoff and ends FAILED
            # after max_attempts like any other error.
            log.exception("outbox %s: unexpected error while sending", message.idempotency_key)
            return Outcome(None, f"{type(exc).__name__}: {exc}")
        return Outcome()

    def _record_failure(self, session: Session, message: Claimed, outcome: Outcome, now: datetime) -> None:
        row = session.get(OutboxMessage, message.id)
        if row is None or row.status != OutboxStatus.SENDING:
            return
        errcode, error = outcome.errcode, outcome.error or ""
        row.lease_until = None
        row.errcode = errcode
        row.last_error = error[:500]
        if errcode in NEEDS_FALLBACK:
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
