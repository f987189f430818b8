"""One scheduler leader among the service processes, every reminder queued once whoever runs the planner, and
expired drafts swept."""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text, update
from sqlmodel import func, select

from bot.dialog import desk
from bot.dialog.desk import sweep_expired
from bot.dialog.engine import Mode
from bot.services.reminder_job import plan_and_queue
from bot.services.scheduler import LEADER_KEY, Scheduler
from config.settings import Settings
from storage import drafts
from storage.db import Database
from storage.models import Conversation, Draft, Enterprise, OutboxMessage
from tests.conftest import enroll, make_settings
from tests.harness import Chat, Clock, running_service


def at_local(day: int, hour: int, minute: int) -> datetime:
    """A wall-clock moment in Ningbo in December 2026, as UTC."""
    return datetime(2026, 12, day, hour, minute, tzinfo=ZoneInfo("Asia/Shanghai")).astimezone(UTC)


# 09:00 in Ningbo on 1 December 2026: the November report opens.
OPENING = at_local(1, 9, 0)
CHAIRS = ("chair-a", "chair-b", "chair-c")


@pytest.fixture
def chairs(db: Database) -> Database:
    for openid, company in zip(CHAIRS, ("甲纺织有限公司", "乙机械有限公司", "丙电子有限公司"), strict=True):
        enroll(db, openid, "chair", company)
    enroll(db, "staff-1", "staff", None)
    with db.transaction() as session:
        session.execute(update(Enterprise).values(created_at=datetime(2026, 11, 20, tzinfo=UTC)))
    return db


def queued(db: Database) -> list[str]:
    with db.transaction() as session:
        return sorted(session.exec(select(OutboxMessage.idempotency_key)).all())


def count(db: Database) -> int:
    with db.transaction() as session:
        return session.exec(select(func.count()).select_from(OutboxMessage)).one()


EXPECTED = [f"remind:2026-11:opens:{openid}" for openid in CHAIRS]


def test_a_restarted_scheduler_sends_nothing_twice(chairs: Database, settings: Settings) -> None:
    first = Scheduler(Database(settings.database_url), settings, clock=lambda: OPENING)
    assert first.tick() == 3
    first.shutdown()
    second = Scheduler(Database(settings.database_url), settings, clock=lambda: OPENING)
    assert second.tick() == 0
    second.shutdown()
    assert queued(chairs) == EXPECTED


def test_planners_running_at_once_queue_each_reminder_once(chairs: Database, settings: Settings) -> None:
    """Even without the leader lock (two processes during a takeover), the outbox key admits one message."""
    results: list[int] = []
    barrier = threading.Barrier(4)

    def run() -> None:
        database = Database(settings.database_url)
        barrier.wait()
        results.append(plan_and_queue(database, settings, OPENING))
        database.dispose()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(results) == 3
    assert queued(chairs) == EXPECTED


def test_the_service_runs_the_scheduler_and_catches_up_at_start(chairs: Database, settings: Settings) -> None:
    live = make_settings(settings.database_url, settings.wechat_api_base, scheduler_run_in_service=True)
    with running_service(live, clock=lambda: OPENING):
        deadline = time.monotonic() + 10
        while count(chairs) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
    assert queued(chairs) == EXPECTED


def _terminate_leader_backend(url: str) -> None:
    """Kill the database connection holding the leader lock, as if the leader process had died."""
    admin = Database(url)
    with admin.transaction() as session:
        session.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted"
                " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
                " AND ((classid::bigint << 32) | objid::bigint) = hashtextextended(:key, 0)"
            ),
            {"key": LEADER_KEY},
        )
    admin.dispose()


def test_one_leader_on_postgresql_and_another_takes_over_when_it_dies(
    chairs: Database, settings: Settings, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite serves one process, which is always the leader")
    first = Scheduler(Database(database_url), settings, clock=lambda: OPENING)
    second = Scheduler(Database(database_url), settings, clock=lambda: OPENING)
    try:
        assert first.leader.hold() is True
        assert second.leader.hold() is False
        assert second.tick() == 0
        assert count(chairs) == 0
        assert first.tick() == 3
        assert first.leader.hold() is True and second.leader.hold() is False

        _terminate_leader_backend(database_url)
        time.sleep(0.2)
        assert second.leader.hold() is True
        assert first.leader.hold() is False
        assert second.tick() == 0
        assert first.tick() == 0
        assert queued(chairs) == EXPECTED

        second.shutdown()
        assert first.leader.hold() is True
    finally:
        first.shutdown()
        second.shutdown()


def test_the_leader_also_sends_the_staff_digest_after_quiet_hours(chairs: Database, settings: Settings) -> None:
    moments = iter([at_local(11, 22, 30), at_local(12, 8, 0), at_local(12, 9, 0)])
    scheduler = Scheduler(Database(settings.database_url), settings, clock=lambda: next(moments))
    try:
        assert scheduler.tick() == 0
        scheduler.tick()
        assert scheduler.tick() == 0
    finally:
        scheduler.shutdown()
    keys = queued(chairs)
    assert "digest:2026-11:staff-1" in keys
    assert "remind:2026-11:overdue-list:staff-1" in keys
    assert [key for key in keys if key.startswith("remind:2026-11:overdue-1:")] == [
        f"remind:2026-11:overdue-1:{openid}" for openid in CHAIRS
    ]


def start_draft(db: Database, openid: str, form_id: str, saved_at: datetime, mode: Mode = Mode.FILL) -> None:
    """A draft last saved at `saved_at` (it expires 7 days later), with the user's pointer at its form."""
    with db.transaction() as session:
        state = {"answers": {"worker_name": "张三"}, "mode": mode}
        drafts.save_draft(
            session, None, openid=openid, form_id=form_id, state=state, now=saved_at, ttl=timedelta(days=7)
        )
        drafts.conversation(session, openid, saved_at).active_form = form_id


def left(db: Database) -> tuple[list[tuple[str, str]], dict[str, str | None]]:
    """The drafts still stored, and every user's pointer."""
    with db.transaction() as session:
        kept = sorted((draft.openid, draft.form_id) for draft in session.exec(select(Draft)))
        return kept, {row.openid: row.active_form for row in session.exec(select(Conversation))}


def sweep_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if "expired drafts" in record.getMessage()]


def test_the_leader_sweeps_expired_drafts_and_keeps_fresh_ones(
    db: Database, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    start_draft(db, "chair-old", "hardship", OPENING - timedelta(days=7, minutes=1))
    start_draft(db, "chair-new", "hardship", OPENING - timedelta(days=6, hours=23))
    ticking = Scheduler(Database(settings.database_url), settings, clock=lambda: OPENING, chores=[sweep_expired])
    try:
        with caplog.at_level(logging.INFO, logger="unionbot.drafts"):
            assert ticking.tick() == 0  # sweeping queues no message
            ticking.tick()
    finally:
        ticking.shutdown()
    # chair-old's pointer stays at the form, so their next message is told the draft expired.
    assert left(db) == ([("chair-new", "hardship")], {"chair-old": "hardship", "chair-new": "hardship"})
    assert sweep_lines(caplog) == ["drafts: removed 1 expired drafts"]


def test_the_sweep_deletes_in_batches_and_keeps_a_pointer_at_a_live_draft(
    db: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(desk, "SWEEP_BATCH", 2)
    for number in range(5):
        start_draft(db, f"chair-{number}", "demo", OPENING - timedelta(days=8 + number))
    start_draft(db, "chair-0", "hardship", OPENING - timedelta(days=1))  # chair-0 moved on to another form
    with caplog.at_level(logging.INFO, logger="unionbot.drafts"):
        assert sweep_expired(db, settings, OPENING) == 5
        assert sweep_expired(db, settings, OPENING) == 0
    pointers = {f"chair-{number}": "demo" for number in range(1, 5)}
    assert left(db) == ([("chair-0", "hardship")], {"chair-0": "hardship", **pointers})
    assert sweep_lines(caplog) == ["drafts: removed 5 expired drafts"]


def test_a_user_whose_draft_was_swept_is_told_it_expired_then_answered_outside_any_form(
    db: Database, settings: Settings, clock: Clock
) -> None:
    enroll(db, "chair-1")
    with running_service(settings, clock=clock) as svc:
        chat = Chat(svc.wechat, "chair-1")
        chat.dialogue([("演示", "职工人数"), ("88", "会员人数")])
        clock.now += timedelta(days=8)
        assert sweep_expired(db, settings, clock.now) == 1
        reply = chat.say("80")
        assert "草稿超过 7 天未填写，已自动作废" in reply and "月报" in reply
        again = chat.say("80")
        assert "作废" not in again and "月报" in again
        assert "第1项" in chat.say("演示")


def test_a_submitted_draft_that_is_swept_leaves_the_user_outside_any_form(
    db: Database, settings: Settings, clock: Clock
) -> None:
    enroll(db, "chair-1")
    start_draft(db, "chair-1", "demo", clock.now - timedelta(days=8), mode=Mode.DONE)
    assert sweep_expired(db, settings, clock.now) == 1
    assert left(db) == ([], {"chair-1": None})
    with running_service(settings, clock=clock) as svc:
        reply = Chat(svc.wechat, "chair-1").say("80")
    assert "作废" not in reply and "月报" in reply
