"""Scale timings over the seeded data set: staff queries, the half-year summary, the staff desk's pages, and
100,000 reminders.

Each command is timed through the real endpoint (in-process app, a signed message from a staff user), next
to the bare SQL aggregate it needs, so the ratio says what the layers above SQL cost whatever the machine.
Capabilities that are not in the code base yet are reported as "not built yet", never silently skipped.
"""

from __future__ import annotations

import asyncio
import importlib.util
import statistics
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import httpx
from sqlalchemy import Connection, text

from bench.load import Target
from bench.script import Turn
from bench.seed_data import Seeded
from bot.app import create_app
from bot.devtools.fake_wechat import FakeWechatServer
from config.settings import Settings
from storage.db import Database

REPEATS = 3
STAFF = "bench-staff"


@dataclass
class Timing:
    name: str
    seconds: float | None  # median of REPEATS after one warm-up; None when not built or failed
    bare_seconds: float | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.seconds is None or not self.bare_seconds:
            return None
        return self.seconds / self.bare_seconds


@dataclass
class ReminderRun:
    planned: int | None = None
    plan_seconds: float | None = None
    delivered: int = 0
    deliver_seconds: float = 0.0
    duplicates: int = 0
    outbox_pending: int = 0
    note: str = ""
    by_path: dict[str, int] = field(default_factory=dict)


def _median(work: Callable[[], object]) -> tuple[float, object]:
    result = work()
    times = []
    for _ in range(REPEATS):
        began = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - began)
    return statistics.median(times), result


def half_year(now: datetime) -> list[str]:
    """What 上半年 means on `now`: January to June of this year, or of last year before July."""
    year = now.year if now.month > 6 else now.year - 1
    return [f"{year}-{m:02d}" for m in range(1, 7)]


BARE_SQL = {
    "month_totals": (
        "SELECT count(*), sum(employees), sum(members), sum(new_members), sum(payroll), sum(dues_accrued),"
        " sum(disputes), sum(CASE WHEN has_risk THEN 1 ELSE 0 END) FROM monthly_report"
        " WHERE period = :last AND is_latest"
    ),
    "missing_count": (
        "SELECT count(*) FROM enterprise e WHERE e.has_union AND NOT EXISTS (SELECT 1 FROM monthly_report r"
        " WHERE r.enterprise_id = e.id AND r.period = :last AND r.is_latest)"
    ),
    "missing_list": (
        "SELECT e.name FROM enterprise e WHERE e.has_union AND NOT EXISTS (SELECT 1 FROM monthly_report r"
        " WHERE r.enterprise_id = e.id AND r.period = :last AND r.is_latest) ORDER BY e.name LIMIT 200"
    ),
    "half_totals": (
        "SELECT count(*), sum(employees), sum(members), sum(new_members), sum(payroll), sum(dues_accrued),"
        " sum(disputes) FROM monthly_report WHERE period BETWEEN :first AND :last_half AND is_latest"
    ),
    "half_by_community": (
        "SELECT e.community, count(*), sum(r.members), sum(r.dues_remitted) FROM monthly_report r"
        " JOIN enterprise e ON e.id = r.enterprise_id WHERE r.period BETWEEN :first AND :last_half AND r.is_latest"
        " GROUP BY e.community"
    ),
    "half_warnings": (
        "SELECT category, level, state, count(*), sum(workers) FROM dispute_warning"
        " WHERE created_at >= :start_at AND created_at < :end_at GROUP BY category, level, state"
    ),
    "half_hardship": (
        "SELECT state, category, count(*), sum(amount_requested) FROM hardship_application"
        " WHERE created_at >= :start_at AND created_at < :end_at GROUP BY state, category"
    ),
}
# Which bare aggregates each command needs at the least.
NEEDS = {
    "统计 上月": ("month_totals", "missing_count"),
    "未报": ("missing_count", "missing_list"),
    "统计 上半年": ("half_totals", "missing_count", "half_warnings", "half_hardship"),
    "summary": ("half_totals", "half_by_community", "half_warnings", "half_hardship"),
}


def bare_timings(db: Database, seeded: Seeded, now: datetime) -> dict[str, float]:
    half = half_year(now)
    start_at = datetime(int(half[0][:4]), 1, 1, tzinfo=UTC)
    params: dict[str, Any] = {
        "last": seeded.last_period,
        "first": half[0],
        "last_half": half[-1],
        "start_at": start_at,
        "end_at": start_at + timedelta(days=181),
    }
    if not db.is_postgres:
        params = {
            k: v.replace(tzinfo=None).isoformat(sep=" ") if isinstance(v, datetime) else v for k, v in params.items()
        }
    found = {}
    with db.engine.connect() as connection:
        for name, sql in BARE_SQL.items():
            found[name], _ = _median(partial(_run_sql, connection, sql, params))
    return found


def _run_sql(connection: Connection, sql: str, params: dict[str, Any]) -> object:
    return connection.execute(text(sql), params).all()


def _exists(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


async def _time_commands(settings: Settings, commands: list[str]) -> dict[str, tuple[float, str]]:
    """Median latency and first reply line of each command, sent by the staff user through the endpoint."""
    target = Target("http://unionbot.bench/wechat", settings.wechat_token, settings.wechat_appid)
    found = {}
    transport = httpx.ASGITransport(app=create_app(settings))
    async with httpx.AsyncClient(transport=transport, timeout=120) as client:
        for command in commands:
            outcomes = [await target.send(client, STAFF, Turn(command)) for _ in range(REPEATS + 1)]
            first_line = outcomes[-1].error or outcomes[-1].reply.split("\n")[0][:40]
            found[command] = (statistics.median(o.latency for o in outcomes[1:]), first_line)
    return found


def command_timings(settings: Settings, bare: dict[str, float]) -> list[Timing]:
    """`统计 上月`, `未报`, `统计 上半年` as a staff user types them."""
    commands = ["统计 上月", "未报", "统计 上半年"]
    if not _exists("handlers.staff_queries"):
        return [Timing(c, None, sum(bare[n] for n in NEEDS[c]), "not built yet") for c in commands]
    timed = asyncio.run(_time_commands(settings, commands))
    return [Timing(c, timed[c][0], sum(bare[n] for n in NEEDS[c]), f"reply: {timed[c][1]}") for c in commands]


# Each page of the staff desk as it opens from the menu (the default filters), and the biggest list views.
DESK_PAGES = (
    "/desk",
    "/desk/reports",
    "/desk/reports?status=missing",
    "/desk/warnings",
    "/desk/hardship",
    "/desk/enterprises",
    "/desk/enterprises?q=1",
    "/desk/data",
    "/desk/people",
)


async def _time_pages(settings: Settings, cookie: str) -> dict[str, tuple[float, int]]:
    """Median latency and status of each desk page, fetched with a signed-in staff member's cookie."""
    from bot.staff_desk.auth import COOKIE

    found = {}
    transport = httpx.ASGITransport(app=create_app(settings))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://unionbot.bench", cookies={COOKIE: cookie}, timeout=120
    ) as client:
        for path in DESK_PAGES:
            times, status = [], 0
            for _ in range(REPEATS + 1):
                began = time.perf_counter()
                response = await client.get(path)
                times.append(time.perf_counter() - began)
                status = response.status_code
            found[path] = (statistics.median(times[1:]), status)
    return found


def desk_timings(db: Database, settings: Settings, now: datetime) -> list[Timing]:
    """The desk's pages for a staff member signed in the way the desk signs people in (a one-time link)."""
    if not _exists("bot.staff_desk"):
        return [Timing(f"desk {path}", None, note="not built yet") for path in DESK_PAGES]
    from storage import desk_auth

    with db.transaction() as session:
        signed = desk_auth.redeem_link(session, desk_auth.create_link(session, STAFF, now), now)
    assert isinstance(signed, desk_auth.SignedIn), signed
    timed = asyncio.run(_time_pages(settings, signed.token))
    return [
        Timing(f"desk {path}", seconds if status == 200 else None, note=f"HTTP {status}")
        for path, (seconds, status) in timed.items()
    ]


def summary_timing(db: Database, settings: Settings, bare: dict[str, float], now: datetime) -> Timing:
    """The half-year summary (`bot.summary.build`) for 上半年."""
    needed = sum(bare[name] for name in NEEDS["summary"])
    if not _exists("bot.services.summary"):
        return Timing("half-year summary", None, needed, "not built yet")
    from bot.services.summary import build
    from domain.normalize import parse_period

    period = parse_period("上半年", today=now.astimezone(settings.zone).date())

    def run() -> object:
        with db.transaction() as session:
            return build(session, period, settings, now)

    try:
        seconds, _ = _median(run)
    except Exception as exc:  # another engineer's work in progress: report, do not abort the benchmark
        return Timing("half-year summary", None, needed, f"failed: {type(exc).__name__}: {str(exc)[:80]}")
    return Timing("half-year summary", seconds, needed)


def next_opening(now: datetime, settings: Settings) -> datetime:
    """10:00 local on the day the next reporting window opens: every chair is due a reminder then."""
    local = now.astimezone(settings.zone)
    year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
    return datetime(year, month, settings.report_open_day, 10, tzinfo=settings.zone).astimezone(UTC)


def reminders(
    db: Database, settings: Settings, now: datetime, fake: FakeWechatServer, deliver_for: float
) -> ReminderRun:
    """Plan and queue reminders for every chair, then deliver for `deliver_for` seconds through the stand-in."""
    if not _exists("bot.services.reminder_job"):
        return ReminderRun(note="not built yet")
    from bot.channel.outbox import OutboxWorker
    from bot.channel.tokens import DatabaseTokenCache
    from bot.channel.wechat_api import WechatApi
    from bot.services.reminder_job import plan_and_queue

    moment = next_opening(now, settings)
    run = ReminderRun()
    began = time.perf_counter()
    try:
        run.planned = plan_and_queue(db, settings, moment)
    except Exception as exc:  # another engineer's work in progress
        run.note = f"failed: {type(exc).__name__}: {str(exc)[:80]}"
        return run
    run.plan_seconds = time.perf_counter() - began
    fake.state.reset()
    tokens = DatabaseTokenCache(db, settings.wechat_appid, lambda: moment)
    api = WechatApi(fake.url, settings.wechat_appid, settings.wechat_secret, tokens)
    worker = OutboxWorker(db, api, max_attempts=settings.outbox_max_attempts, clock=lambda: moment)
    began = time.perf_counter()
    deadline = began + deliver_for
    while time.perf_counter() < deadline and worker.run_once():
        pass
    run.deliver_seconds = time.perf_counter() - began
    api.close()
    sent = fake.state.sent()
    run.delivered = len(sent)
    run.by_path = dict(Counter(c.path.rsplit("/", 2)[-2] for c in sent))
    keys = Counter((c.touser, str(c.body)) for c in sent)
    run.duplicates = sum(n - 1 for n in keys.values() if n > 1)
    with db.engine.connect() as connection:
        run.outbox_pending = int(
            connection.execute(text("SELECT count(*) FROM outbox_message WHERE status = 'pending'")).scalar_one()
        )
    return run
