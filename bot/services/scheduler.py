"""Scheduled work (reminders, escalations, the staff digest, and the chores the app wires in) in the service, run by
exactly one leader process.

Every process of `unionbot serve` starts a scheduler; each tick it keeps or tries to take leadership and only the
leader runs the jobs. On PostgreSQL the leader holds a session-level advisory lock on a dedicated connection: if
the leader dies its connection closes, the server drops the lock, and another process takes over at its next
tick. SQLite serves one process, which is always the leader. The jobs are idempotent anyway (outbox keys), so a
brief overlap during a takeover cannot send anything twice. The leader records each finished round (the
`scheduler` heartbeat), which `unionbot doctor` and `/metrics` read as the leader's sign of life.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler  # type: ignore[import-untyped]
from apscheduler.triggers.interval import IntervalTrigger  # type: ignore[import-untyped]
from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from bot.services import digest, metrics, retention
from bot.services.reminder_job import calendar_for, plan_and_queue
from config.reminders import reminders_config
from config.settings import Settings
from storage import heartbeat
from storage.db import Database

log = logging.getLogger("unionbot.scheduler")
Job = Callable[[Database, Settings, datetime], int]

LEADER_KEY = "unionbot:scheduler-leader"

# APScheduler logs every run of every job at INFO: once a minute, forever. Our own log says what was queued.
logging.getLogger("apscheduler.executors.default").setLevel(logging.WARNING)


class LeaderLock:
    """Leadership among the service processes sharing one database."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._connection: Connection | None = None

    def hold(self) -> bool:
        """Keep the lock if this process has it (and its connection is alive), else try to take it."""
        if not self._db.is_postgres:
            return True
        if self._connection is not None:
            try:
                self._connection.execute(text("SELECT 1"))
                self._connection.commit()
                return True
            except DBAPIError:
                log.warning("scheduler: lost the leader connection")
                self.release()
        return self._take()

    def _take(self) -> bool:
        try:
            connection = self._db.engine.connect()
        except DBAPIError:
            return False
        try:
            taken = connection.execute(
                text("SELECT pg_try_advisory_lock(hashtextextended(:key, 0))"), {"key": LEADER_KEY}
            ).scalar()
            connection.commit()
        except DBAPIError:
            connection.invalidate()
            connection.close()
            return False
        if not taken:
            connection.close()
            return False
        log.info("scheduler: this process is now the leader")
        self._connection = connection
        return True

    def release(self) -> None:
        """Unlock at once, so a standby takes over at its next tick (the server notices a closed connection only
        a moment later), then close the connection for good (not back to the pool)."""
        if self._connection is not None:
            try:
                self._connection.execute(
                    text("SELECT pg_advisory_unlock(hashtextextended(:key, 0))"), {"key": LEADER_KEY}
                )
                self._connection.commit()
            except SQLAlchemyError:
                pass  # the connection is already gone, and the lock with it
            self._connection.invalidate()
            self._connection.close()
            self._connection = None


def monthly_digest(db: Database, settings: Settings, now: datetime) -> int:
    """The staff digest (`bot/services/digest.py`), held like the report reminders until quiet hours end."""
    if calendar_for(settings).is_quiet(now):
        return 0
    with db.transaction() as session:
        return digest.send_monthly_digest(session, settings, now)


class Scheduler:
    """A BackgroundScheduler ticking every `scheduler_interval_seconds`; the first tick runs at start (catch-up)."""

    def __init__(
        self, db: Database, settings: Settings, clock: Callable[[], datetime], chores: Sequence[Job] = ()
    ) -> None:
        self._db = db
        self._settings = settings
        self._clock = clock
        self.leader = LeaderLock(db)
        reminders_config()  # a broken config/reminders.yaml stops start-up here, not at the first tick
        self._jobs: list[Job] = [plan_and_queue, monthly_digest]
        self._chores = [*chores, retention.run_due]
        self._background = BackgroundScheduler(timezone=UTC)

    def tick(self) -> int:
        """One round: if this process leads, run every job for now, then the chores (housekeeping the app wires in,
        such as sweeping expired drafts, and retention, which say what they did themselves), then record the round;
        returns the messages queued."""
        if not self.leader.hold():
            return 0
        now = self._clock()
        total = 0
        for job in self._jobs:
            try:
                queued = job(self._db, self._settings, now)
                metrics.REMINDERS.labels(job=getattr(job, "__name__", "job")).inc(queued)
                total += queued
            except Exception:
                log.exception("scheduler: job %s failed", getattr(job, "__name__", job))
        if total:
            log.info("scheduler: queued %d messages", total)
        for chore in self._chores:
            try:
                chore(self._db, self._settings, now)
            except Exception:
                log.exception("scheduler: chore %s failed", getattr(chore, "__name__", chore))
        self._record_round(now)
        return total

    def _record_round(self, now: datetime) -> None:
        try:
            with self._db.transaction() as session:
                heartbeat.beat(session, heartbeat.SCHEDULER, now)
        except SQLAlchemyError:
            log.exception("scheduler: could not record the round")

    def start(self) -> None:
        self._background.add_job(
            self.tick,
            IntervalTrigger(seconds=self._settings.scheduler_interval_seconds),
            id="tick",
            next_run_time=datetime.now(UTC),
            max_instances=1,
            coalesce=True,
        )
        self._background.start()

    def shutdown(self) -> None:
        if self._background.running:
            self._background.shutdown(wait=True)
        self.leader.release()
