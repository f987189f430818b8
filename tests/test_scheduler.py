"""One scheduler leader among the service processes, and every reminder queued once whoever runs the planner."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text, update
from sqlmodel import func, select

from bot.services.reminder_job import plan_and_queue
from bot.services.scheduler import LEADER_KEY, Scheduler
from config.settings import Settings
from storage.db import Database
from storage.models import Enterprise, OutboxMessage
from tests.conftest import enroll, make_settings
from tests.harness import running_service


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
