"""Exactly-once handling of WeChat deliveries, one message at a time per user, within the reply budget.

WeChat retries a delivery up to three times when no answer comes within 5 seconds. Each delivery key gets
one `InboundMessage` row, written in the same transaction as the handler's changes, under a per-user lock
(an asyncio lock in this process, an advisory lock across processes; SQLite's BEGIN IMMEDIATE on its own).
A retry therefore waits for the first delivery to finish and answers with its stored reply. When handling
would pass the budget the endpoint answers `success` and the reply leaves later through the outbox.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum, StrEnum
from typing import TypeVar

import anyio
from sqlmodel import Session

from bot.routing.dispatch import Dispatcher
from bot.services.render import render
from config.settings import Settings
from domain.messages import Incoming, Kind
from handlers.context import Context
from storage import crypto, inbound, outbox
from storage.db import Database
from storage.models import ReplyMode

log = logging.getLogger(__name__)
T = TypeVar("T")

USER_MESSAGES = frozenset({Kind.TEXT, Kind.IMAGE, Kind.VOICE, Kind.UNSUPPORTED})  # these open the service window
SUBSCRIPTION = frozenset({Kind.SUBSCRIBE, Kind.UNSUBSCRIBE})


class Outcome(StrEnum):
    """How a delivery was answered, for the message log and `/metrics`."""

    REPLIED = "replied"  # the reply went back in the HTTP response
    SILENT = "silent"  # nothing to say (`success`)
    RETRY = "retry"  # a WeChat retry, answered from the stored record
    LATE = "late"  # over the budget: `success` now, the reply through the outbox
    FAILED = "failed"  # the handler raised: the stored apology


@dataclass(frozen=True)
class Delivery:
    """The passive reply (None: answer `success`), how it came about, and the route that answered ("-": unknown)."""

    reply: str | None
    outcome: Outcome
    route: str = "-"


class _Phase(Enum):
    PENDING = "pending"
    ANSWERING = "answering"  # the handler finished in time: the endpoint will carry its reply
    LATE = "late"  # the endpoint gave up waiting: the reply must go through the outbox


@dataclass
class _Ticket:
    """Decides, exactly once and under a lock, who delivers the reply: the HTTP answer or the outbox."""

    phase: _Phase = _Phase.PENDING
    lock: threading.Lock = field(default_factory=threading.Lock)

    def claim_answer(self) -> bool:
        with self.lock:
            if self.phase is _Phase.PENDING:
                self.phase = _Phase.ANSWERING
            return self.phase is _Phase.ANSWERING

    def give_up(self) -> bool:
        with self.lock:
            if self.phase is _Phase.PENDING:
                self.phase = _Phase.LATE
            return self.phase is _Phase.LATE


class _UserLocks:
    """FIFO per-user asyncio locks, forgotten when nobody holds or waits for them; the work runs on at most
    `threads` threads at once."""

    def __init__(self, threads: int) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}
        self._threads = anyio.CapacityLimiter(threads)

    async def run(self, key: str, work: Callable[[], T]) -> T:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                return await anyio.to_thread.run_sync(work, limiter=self._threads)
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


class Inbox:
    def __init__(
        self,
        db: Database,
        dispatcher: Dispatcher,
        settings: Settings,
        clock: Callable[[], datetime],
        on_outbox: Callable[[], None] = lambda: None,
    ) -> None:
        self._db = db
        self._dispatcher = dispatcher
        self._settings = settings
        self._clock = clock
        self._on_outbox = on_outbox
        self._locks = _UserLocks(settings.handler_threads)
        self._background: set[asyncio.Task[Delivery]] = set()

    async def deliver(self, incoming: Incoming) -> Delivery:
        """The passive reply for this delivery (None to answer `success`), with how it was answered."""
        ticket = _Ticket()
        task = asyncio.create_task(self._locks.run(incoming.openid, lambda: self._handle(incoming, ticket)))
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        try:
            return await asyncio.wait_for(asyncio.shield(task), timeout=self._settings.reply_budget_seconds)
        except TimeoutError:
            if ticket.give_up():
                log.warning("%s: over the %.1f s budget, answering later", incoming.dedup_key, self._budget)
                return Delivery(None, Outcome.LATE)
            return await task

    @property
    def _budget(self) -> float:
        return self._settings.reply_budget_seconds

    async def drain(self) -> None:
        """Wait for deliveries still running after their HTTP answer (shutdown, tests)."""
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)

    def _handle(self, incoming: Incoming, ticket: _Ticket) -> Delivery:
        try:
            return self._handle_once(incoming, ticket)
        except Exception:
            log.exception("%s: handler failed", incoming.dedup_key)
            return Delivery(self._record_failure(incoming, ticket), Outcome.FAILED)

    def _handle_once(self, incoming: Incoming, ticket: _Ticket) -> Delivery:
        now = self._clock()
        with self._db.transaction(keep_loaded=True) as session:
            self._db.lock_key(session, f"user:{incoming.openid}")
            seen = inbound.stored(session, incoming.dedup_key)
            if seen is not None:
                log.info("%s: retry answered from the stored reply", incoming.dedup_key)
                if seen.reply_mode != ReplyMode.PASSIVE or seen.reply is None:
                    return Delivery(None, Outcome.RETRY)
                return Delivery(crypto.decrypt(self._settings.data_key, seen.reply), Outcome.RETRY)
            subscribed = incoming.kind is Kind.SUBSCRIBE if incoming.kind in SUBSCRIPTION else None
            inbound.touch_user(
                session, incoming.openid, now, wrote=incoming.kind in USER_MESSAGES, subscribed=subscribed
            )
            route, reply = self._dispatcher.answer(Context(session, incoming, now, self._settings))
            passive = self._settle(session, incoming, reply, ticket, now)
            if passive is not None:
                return Delivery(passive, Outcome.REPLIED, route)
            return Delivery(None, Outcome.SILENT if reply is None else Outcome.LATE, route)

    def _settle(
        self, session: Session, incoming: Incoming, reply: str | None, ticket: _Ticket, now: datetime
    ) -> str | None:
        """Record the delivery with its reply (one INSERT) and decide who carries the reply."""
        if reply is None:
            mode = ReplyMode.NONE
        elif ticket.claim_answer():
            mode = ReplyMode.PASSIVE
        else:
            mode = ReplyMode.OUTBOX
            outbox.enqueue_text(
                session, key=f"reply:{incoming.dedup_key}", openid=incoming.openid, content=reply, now=now
            )
            self._on_outbox()
        inbound.record(
            session,
            dedup_key=incoming.dedup_key,
            openid=incoming.openid,
            kind=incoming.raw_type,
            received_at=now,
            # Replies can quote what a chair typed (a worker's household, a phone number): stored encrypted.
            reply=None if reply is None else crypto.encrypt(self._settings.data_key, reply),
            reply_mode=mode,
        )
        return reply if mode == ReplyMode.PASSIVE else None

    def _record_failure(self, incoming: Incoming, ticket: _Ticket) -> str | None:
        """Store the apology so a retry gets it too instead of running the failing handler again."""
        apology = render("error.j2")
        now = self._clock()
        try:
            with self._db.transaction() as session:
                if inbound.stored(session, incoming.dedup_key) is not None:
                    return apology
                return self._settle(session, incoming, apology, ticket, now)
        except Exception:
            log.exception("%s: could not record the failure", incoming.dedup_key)
            return apology
