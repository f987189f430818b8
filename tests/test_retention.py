"""Retention: old dedup rows, delivered messages and expired download files go, at their boundaries, and nothing
a scheduled job still relies on goes with them: a reminder or an escalation is never sent twice because of it."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update
from sqlmodel import select

from bot.devtools.fake_wechat import FakeWechatServer
from bot.services import retention
from bot.services.reminder_job import reminders_config
from bot.services.scheduler import Scheduler
from config.settings import Settings
from domain.enums import WarningLevel
from storage import filestore, outbox
from storage.db import Database
from storage.models import Enterprise, InboundMessage, OutboxKind, OutboxMessage, OutboxStatus
from tests.conftest import enroll
from tests.harness import Clock, Service, running_service
from tests.test_reminders import report_warning

ZONE = ZoneInfo("Asia/Shanghai")


def local(year: int, month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=ZONE).astimezone(UTC)


NOW = local(2027, 1, 12, 10)  # December's reports are being collected; periods from 2026-09 on are still chased


def received(db: Database, key: str, at: datetime) -> None:
    with db.transaction() as session:
        session.add(InboundMessage(dedup_key=key, openid="u", kind="text", received_at=at))


def queued(db: Database, key: str, at: datetime, status: OutboxStatus = OutboxStatus.SENT) -> None:
    with db.transaction() as session:
        outbox.enqueue(session, key=key, openid="u", kind=OutboxKind.TEXT, payload={"content": "…"}, now=at)
        session.execute(update(OutboxMessage).where(OutboxMessage.idempotency_key == key).values(status=status))


def inbound_keys(db: Database) -> set[str]:
    with db.transaction() as session:
        return set(session.exec(select(InboundMessage.dedup_key)).all())


def outbox_keys(db: Database) -> set[str]:
    with db.transaction() as session:
        return set(session.exec(select(OutboxMessage.idempotency_key)).all())


# -- At the boundaries ----------------------------------------------------------------------------------------


def test_dedup_rows_go_once_older_than_seven_days(db: Database, settings: Settings) -> None:
    received(db, "msg:exactly-7-days", NOW - timedelta(days=7))
    received(db, "msg:a-second-more", NOW - timedelta(days=7, seconds=1))
    received(db, "msg:today", NOW - timedelta(hours=1))
    assert retention.sweep_inbound(db, settings, NOW) == 1
    assert inbound_keys(db) == {"msg:exactly-7-days", "msg:today"}


def test_delivered_messages_go_after_30_days_while_failed_and_waiting_ones_stay(
    db: Database, settings: Settings
) -> None:
    month = NOW - timedelta(days=30)
    queued(db, "reply:exactly-30-days", month)
    queued(db, "reply:a-second-more", month - timedelta(seconds=1))
    queued(db, "warning:1:alert:s", month - timedelta(days=9), OutboxStatus.FALLBACK)
    queued(db, "warning:1:alert:s:fallback", month - timedelta(days=9))
    queued(db, "warning:2:alert:s", month - timedelta(days=9), OutboxStatus.FAILED)
    queued(db, "warning:3:alert:s", month - timedelta(days=9), OutboxStatus.PENDING)
    assert retention.sweep_outbox(db, settings, NOW) == 3
    assert outbox_keys(db) == {"reply:exactly-30-days", "warning:2:alert:s", "warning:3:alert:s"}


def test_keys_a_job_may_still_plan_stay_however_old(db: Database, settings: Settings) -> None:
    enroll(db, "warner-a", "warner")
    long_ago = NOW - timedelta(days=100)
    still_open = report_warning(db, "YJ-1", WarningLevel.GENERAL, long_ago)
    acknowledged = report_warning(db, "YJ-2", WarningLevel.GENERAL, long_ago, acknowledged_at=long_ago)
    kept = {
        "remind:2026-09:overdue-14:chair-a",  # the oldest period still chased (overdue_periods: 3)
        "remind:2026-12:desk-2027-01-05:chair-a",
        "digest:2026-12:staff-1",
        f"escalate:{still_open}:staff:staff-1",
        f"escalate:{still_open}:admin:admin-1",
    }
    gone = {
        "remind:2026-08:overdue-19:chair-a",
        "remind:2026-08:overdue-list:staff-1",
        "digest:2026-08:staff-1",
        "digest:2026-08:staff-1:2",
        f"escalate:{acknowledged}:staff:staff-1",
        "reply:msg:100%_",
    }
    for key in kept | gone:
        queued(db, key, long_ago)
    assert retention.sweep_outbox(db, settings, NOW) == len(gone)
    assert outbox_keys(db) == kept


def touch(path: Path, at: datetime) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"encrypted")
    os.utime(path, (at.timestamp(), at.timestamp()))


@pytest.mark.parametrize("kind", ["database", "filesystem"])
def test_download_files_go_once_their_link_has_expired(db: Database, settings: Settings, kind: str) -> None:
    """Links live `UNIONBOT_LINK_TTL_MINUTES` (60); files are kept 10 minutes more for clocks that differ."""
    settings = settings.model_copy(update={"file_store": kind})
    expired = NOW - timedelta(minutes=70, seconds=1)
    with db.transaction() as session:
        files = filestore.open_store(settings, session)
        files.put("exports/reports-old.xlsx.enc", b"encrypted", expired)
        files.put("exports/reports-new.xlsx.enc", b"encrypted", NOW - timedelta(minutes=69))
        files.put("documents/work-summary-2026H2-old.docx", b"document", expired)
        files.put("invites/9BDTMW82-1.png.enc", b"encrypted", expired)
        files.put("media/hardship-1/photo.jpg.enc", b"encrypted", NOW - timedelta(days=400))
    if kind == "filesystem":  # a folder's file is as old as its modification time
        for path, at in (("reports-old.xlsx.enc", expired), ("reports-new.xlsx.enc", NOW - timedelta(minutes=69))):
            touch(settings.files_dir / "exports" / path, at)
        touch(settings.files_dir / "documents" / "work-summary-2026H2-old.docx", expired)
        touch(settings.files_dir / "invites" / "9BDTMW82-1.png.enc", expired)
    assert retention.sweep_linked_files(db, settings, NOW) == 3
    with db.transaction() as session:
        left = {entry.path for entry in filestore.open_store(settings, session).entries()}
    assert left == {"exports/reports-new.xlsx.enc", "media/hardship-1/photo.jpg.enc"}


def test_retention_runs_once_an_hour_and_says_what_it_removed(
    db: Database, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="unionbot.retention")
    received(db, "msg:old-1", NOW - timedelta(days=8))
    retention.run_due(db, settings, NOW)
    assert [record.getMessage() for record in caplog.records] == [
        "retention: removed 1 inbound dedup rows older than 7 days",
        "retention: removed 0 delivered outbox messages older than 30 days (kept: keys of periods from 2026-09 on, "
        "escalations of 0 open warnings)",
        "retention: removed 0 export, summary and invitation files past their link's 60 minutes",
    ]
    received(db, "msg:old-2", NOW - timedelta(days=8))
    assert retention.run_due(db, settings, NOW + timedelta(minutes=59)) == 0
    assert inbound_keys(db) == {"msg:old-2"}
    assert retention.run_due(db, settings, NOW + timedelta(minutes=60)) == 1
    assert inbound_keys(db) == set()


# -- Nothing is sent twice ------------------------------------------------------------------------------------


@pytest.fixture
def clock() -> Clock:
    return Clock(local(2026, 12, 2, 10))


@pytest.fixture
def svc(settings: Settings, clock: Clock) -> Iterator[Service]:
    with running_service(settings, clock=clock) as running:
        yield running


def tick(svc: Service, settings: Settings, clock: Clock) -> None:
    """One round of the service's scheduler (retention included), then the outbox delivers."""
    scheduler = Scheduler(svc.services.db, settings, clock)
    scheduler.tick()
    scheduler.shutdown()
    svc.services.outbox.drain()


def escalations(fake: FakeWechatServer, openid: str) -> int:
    return sum(1 for call in fake.state.sent(openid) if "TM_WARNING_ESCALATION" in str(call.body))


def test_a_warning_left_unacknowledged_for_weeks_is_not_escalated_again(
    svc: Service, settings: Settings, clock: Clock, fake: FakeWechatServer
) -> None:
    db = svc.services.db
    enroll(db, "warner-a", "warner")
    enroll(db, "staff-1", "staff", None)
    enroll(db, "admin-1", "admin", None)
    report_warning(db, "YJ-1", WarningLevel.MAJOR, clock())
    with db.transaction() as session:
        outbox.enqueue_text(session, key="note:1", openid="staff-1", content="通知", now=clock())
    clock.advance(minutes=31)
    tick(svc, settings, clock)
    clock.advance(minutes=30)
    tick(svc, settings, clock)
    assert (escalations(fake, "staff-1"), escalations(fake, "admin-1")) == (1, 1)

    clock.advance(days=40)
    tick(svc, settings, clock)  # retention runs after the jobs of this round ...
    clock.advance(minutes=1)
    tick(svc, settings, clock)  # ... so this round's planner is the one that would send again
    assert "note:1" not in outbox_keys(db)  # retention did run
    assert (escalations(fake, "staff-1"), escalations(fake, "admin-1")) == (1, 1)


def test_a_reminder_step_that_outlasts_retention_is_not_sent_again(
    svc: Service, settings: Settings, clock: Clock, fake: FakeWechatServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With chairs reminded every 45 days once overdue, November's first overdue reminder is still the current
    step 32 days after it was sent, when retention has already passed it."""
    config = reminders_config()
    slow = config.model_copy(update={"report": config.report.model_copy(update={"overdue_every_days": 45})})
    monkeypatch.setattr("bot.services.reminder_job.reminders_config", lambda: slow)
    db = svc.services.db
    enroll(db, "chair-a", "chair")
    with db.transaction() as session:
        session.execute(update(Enterprise).values(created_at=local(2026, 11, 20)))

    def november_reminders() -> int:
        return sum(1 for call in fake.state.sent("chair-a") if "2026年11月" in str(call.body))

    clock.now = local(2026, 12, 11, 9)
    tick(svc, settings, clock)
    assert november_reminders() == 1
    clock.now = local(2027, 1, 12, 9)
    tick(svc, settings, clock)
    clock.advance(minutes=1)
    tick(svc, settings, clock)
    assert november_reminders() == 1
    assert sum(1 for call in fake.state.sent("chair-a") if "2026年12月" in str(call.body)) == 1
