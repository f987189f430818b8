"""Report reminders and warning escalations: a frozen clock walks a month, and every push is checked once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import update
from sqlmodel import col, select
from typer.testing import CliRunner

from bot.cli.main import app
from bot.devtools.fake_wechat import FakeWechatServer
from bot.services.reminder_job import compose, plan_and_queue
from bot.services.reminders import Calendar, Facts, after, plan, report_steps
from config.reminders import Delay, reminders_config
from config.settings import Settings
from domain.enums import WarningLevel, WarningState
from storage.db import Database
from storage.models import DisputeWarning, Enterprise, Member, MonthlyReport, OutboxMessage, Submission, WechatUser
from storage.reminders import OpenWarning, Recipient, UnreportedChair
from tests.conftest import enroll, make_settings
from tests.harness import Chat, Clock, Service, running_service

ZONE = ZoneInfo("Asia/Shanghai")
runner = CliRunner()


def at(day: int, hour: int = 9, minute: int = 0, month: int = 12) -> datetime:
    """A local wall-clock moment in Ningbo, as UTC (what the service's clock returns)."""
    return datetime(2026, month, day, hour, minute, tzinfo=ZONE).astimezone(UTC)


# -- The calendar, pure ---------------------------------------------------------------------------------------

CALENDAR = Calendar(make_settings("sqlite://", "http://127.0.0.1:1"), reminders_config())


@pytest.mark.parametrize(
    ("today", "tag", "days_left"),
    [
        (date(2026, 11, 30), None, None),
        (date(2026, 12, 1), "opens", 9),
        (date(2026, 12, 6), "opens", 4),
        (date(2026, 12, 7), "due-3", 3),
        (date(2026, 12, 8), "due-3", 2),
        (date(2026, 12, 9), "due-1", 1),
        (date(2026, 12, 10), "due-0", 0),
        (date(2026, 12, 11), "overdue-1", -1),
        (date(2026, 12, 17), "overdue-1", -7),
        (date(2026, 12, 18), "overdue-2", -8),
        (date(2026, 12, 31), "overdue-3", -21),
    ],
)
def test_the_step_of_the_november_report_on_each_day(today: date, tag: str | None, days_left: int | None) -> None:
    steps = {step.period: step for step in report_steps(today, CALENDAR)}
    step = steps.get("2026-11")
    assert (step.tag if step else None) == tag
    assert (step.days_left if step else None) == days_left


def test_older_periods_are_chased_for_a_while_then_dropped() -> None:
    periods = [step.period for step in report_steps(date(2026, 12, 15), CALENDAR)]
    assert periods == ["2026-11", "2026-10", "2026-09", "2026-08"]


@given(st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31)))
def test_a_superseded_step_never_comes_back(start: date) -> None:
    """Each (period, step) is due on one unbroken run of days, so its key can only ever be sent once."""
    seen: dict[str, date] = {}
    for offset in range(70):
        today = start + timedelta(days=offset)
        for step in report_steps(today, CALENDAR):
            key = step.key_prefix
            if key in seen:
                assert seen[key] == today - timedelta(days=1), f"{key} came back on {today}"
            seen[key] = today


@pytest.mark.parametrize(
    ("start", "delay", "due"),
    [
        (datetime(2026, 12, 2, 22, 40, tzinfo=ZONE), Delay(minutes=30), datetime(2026, 12, 2, 23, 10, tzinfo=ZONE)),
        (datetime(2026, 12, 2, 20, 0, tzinfo=ZONE), Delay(hours=2), datetime(2026, 12, 2, 22, 0, tzinfo=ZONE)),
        (datetime(2026, 12, 2, 10, 0, tzinfo=ZONE), Delay(working_days=1), datetime(2026, 12, 3, 10, 0, tzinfo=ZONE)),
        (datetime(2026, 12, 4, 16, 0, tzinfo=ZONE), Delay(working_days=1), datetime(2026, 12, 7, 16, 0, tzinfo=ZONE)),
        (datetime(2026, 12, 5, 10, 0, tzinfo=ZONE), Delay(working_days=1), datetime(2026, 12, 8, 0, 0, tzinfo=ZONE)),
    ],
)
def test_acknowledgement_deadlines_skip_weekends(start: datetime, delay: Delay, due: datetime) -> None:
    assert after(start, delay, ZONE) == due


@given(
    st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(ZONE)),
    st.integers(min_value=1, max_value=10),
)
def test_working_days_end_on_a_weekday_at_least_that_many_days_later(start: datetime, days: int) -> None:
    due = after(start, Delay(working_days=days), ZONE).astimezone(ZONE)
    assert due.weekday() < 5
    assert due - start >= timedelta(days=days)
    assert due - start <= timedelta(days=days + days // 5 * 2 + 4)


@pytest.mark.parametrize(
    ("hour", "minute", "quiet"), [(20, 59, False), (21, 0, True), (23, 30, True), (7, 59, True), (8, 0, False)]
)
def test_quiet_hours(hour: int, minute: int, quiet: bool) -> None:
    assert CALENDAR.is_quiet(at(3, hour, minute)) is quiet


def test_the_planner_holds_reports_at_night_but_not_a_major_escalation() -> None:
    chair = UnreportedChair("2026-11", "chair-x", "某企业", None)
    staff = [Recipient("staff-x", at(2, 22, 50))]
    major = OpenWarning(1, "YJ-9", None, WarningLevel.MAJOR, "欠薪", 12, at(2, 22))
    general = OpenWarning(2, "YJ-10", None, WarningLevel.GENERAL, "欠薪", 12, at(1, 9))
    facts = Facts(chairs=[chair], warnings=[major, general], staff=staff)
    night = plan(at(2, 23), CALENDAR, facts)
    assert [(item.key, item.in_window) for item in night] == [("escalate:1:staff:staff-x", True)]
    morning = [item.key for item in plan(at(3, 8), CALENDAR, facts)]
    assert morning == [
        "remind:2026-11:opens:chair-x",
        "escalate:1:staff:staff-x",
        "escalate:2:staff:staff-x",
    ]


# -- Through the database and the outbox ----------------------------------------------------------------------

A, B, C = "宁波示例纺织有限公司", "宁波乙机械有限公司", "宁波丙电子有限公司"


@pytest.fixture
def clock() -> Clock:
    return Clock(at(1))


@pytest.fixture
def people(db: Database) -> Database:
    """Two chairs who should be reminded; a warner, an inactive and an unsubscribed chair who should not."""
    enroll(db, "chair-a", "chair", A)
    enroll(db, "warner-a", "warner", A)
    enroll(db, "chair-a-old", "chair", A)
    enroll(db, "chair-b", "chair", B)
    enroll(db, "chair-c", "chair", C)
    enroll(db, "staff-1", "staff", None)
    enroll(db, "staff-2", "staff", None)
    enroll(db, "admin-1", "admin", None)
    with db.transaction() as session:
        # On the roster since after October's due day: November is owed, earlier months are not.
        session.execute(update(Enterprise).values(created_at=at(20, month=11)))
        session.execute(update(Member).where(col(Member.openid) == "chair-a-old").values(active=False))
        session.add(WechatUser(openid="chair-c", subscribed=False, first_seen_at=at(1, month=11)))
    return db


def wrote(db: Database, openid: str, when: datetime) -> None:
    """The user wrote to the account at `when`: the 48-hour customer-service window is open."""
    with db.transaction() as session:
        session.merge(WechatUser(openid=openid, first_seen_at=when, last_message_at=when))


@pytest.fixture
def svc(settings: Settings, people: Database, clock: Clock) -> Iterator[Service]:
    with running_service(settings, clock=clock) as running:
        yield running


def submit_report(db: Database, openid: str, enterprise: str, period: str, now: datetime) -> None:
    """The chair submits (the monthly-report form writes these rows; here they are made directly)."""
    with db.transaction() as session:
        company = session.exec(select(Enterprise).where(Enterprise.name == enterprise)).one()
        assert company.id is not None
        submission = Submission(
            form_id="monthly_report",
            receipt=f"YB-{openid}-{period}",
            draft_key=f"{openid}:{period}",
            openid=openid,
            enterprise_id=company.id,
            answers={},
            submitted_at=now,
        )
        session.add(submission)
        session.flush()
        assert submission.id is not None
        session.add(
            MonthlyReport(
                submission_id=submission.id,
                enterprise_id=company.id,
                period=period,
                submitted_by=openid,
                submitted_at=now,
            )
        )


def keys(db: Database) -> set[str]:
    with db.transaction() as session:
        return set(session.exec(select(OutboxMessage.idempotency_key)).all())


def rows(db: Database, openid: str) -> list[OutboxMessage]:
    with db.transaction() as session:
        query = select(OutboxMessage).where(OutboxMessage.openid == openid).order_by(col(OutboxMessage.id))
        return list(session.exec(query).all())


def remind(key: str, *openids: str) -> set[str]:
    return {f"remind:2026-11:{key}:{openid}" for openid in openids}


EXPECTED_DECEMBER = {
    at(1, 8): remind("opens", "chair-a", "chair-b"),
    at(7, 8): remind("due-3", "chair-a", "chair-b"),
    at(9, 8): remind("due-1", "chair-a"),
    at(10, 8): remind("due-0", "chair-a"),
    at(11, 8): remind("overdue-1", "chair-a") | remind("overdue-list", "staff-1", "staff-2"),
    at(18, 8): remind("overdue-2", "chair-a"),
    at(25, 8): remind("overdue-3", "chair-a"),
}


def test_a_month_of_report_reminders(people: Database, settings: Settings) -> None:
    """Run the planner five times a day through December; chair-b submits on the 8th."""
    db = people
    for day in range(1, 32):
        if day == 8:
            submit_report(db, "chair-b", B, "2026-11", at(8, 10))
        for hour in (0, 8, 13, 20, 22):
            now = at(day, hour, 5 if hour == 0 else 0)
            before = keys(db)
            queued = plan_and_queue(db, settings, now)
            new = keys(db) - before
            assert new == EXPECTED_DECEMBER.get(now, set()), now.astimezone(ZONE)
            assert queued == len(new)


def test_what_the_chairs_and_staff_receive(
    svc: Service, people: Database, settings: Settings, clock: Clock, fake: FakeWechatServer
) -> None:
    db = people
    clock.now = at(1, 9)
    assert plan_and_queue(db, settings, clock.now) == 2
    clock.now = at(6, 20)
    Chat(svc.wechat, "chair-b").say("你好")  # opens chair-b's 48-hour customer-service window
    clock.now = at(7, 9)
    assert plan_and_queue(db, settings, clock.now) == 2
    svc.services.outbox.drain()

    # chair-a has not written to the account: template messages, every fact in a keyword.
    templates = [call.body for call in fake.state.sent("chair-a") if call.body]
    assert [body["template_id"] for body in templates] == ["TM_REPORT_REMINDER"] * 2
    assert templates[0]["data"] == {
        "thing1": {"value": "月报填报提醒"},
        "thing2": {"value": "2026年11月"},
        "time3": {"value": "2026-12-10"},
        "thing4": {"value": "还有9天截止"},
    }
    assert templates[1]["data"]["thing4"] == {"value": "还有3天截止"}
    # chair-b wrote on 6 December: the 7 December reminder is a customer-service text.
    assert fake.state.texts("chair-b") == [
        "【月报填报提醒】宁波乙机械有限公司2026年11月的工会月报正在填报，请于2026-12-10前提交（还有3天截止）。\n"
        "回复“月报”即可开始填写。"
    ]
    for silent in ("warner-a", "chair-a-old", "chair-c", "staff-1", "admin-1"):
        assert fake.state.sent(silent) == []

    wrote(db, "staff-2", at(10, 18))
    clock.now = at(11, 9)
    assert plan_and_queue(db, settings, clock.now) == 4
    svc.services.outbox.drain()
    overdue_list = fake.state.texts("staff-2")
    assert len(overdue_list) == 1
    # chair-c no longer follows the account, but staff still need to know the enterprise owes its report.
    assert "2026年11月工会月报已过截止日（2026-12-10），仍有3家企业未提交" in overdue_list[0]
    assert f"1. {C}\n2. {B}\n3. {A}" in overdue_list[0]
    staff_template = [call.body for call in fake.state.sent("staff-1") if call.body]
    assert staff_template[0]["data"]["thing4"] == {"value": "逾期3家"}
    chair_a = fake.state.sent("chair-a")[-1].body
    assert chair_a is not None
    assert chair_a["data"]["thing1"] == {"value": "月报逾期提醒"}
    assert chair_a["data"]["thing4"] == {"value": "已逾期1天"}


def test_an_enterprise_added_after_the_due_day_does_not_owe_that_month(people: Database, settings: Settings) -> None:
    with people.transaction() as session:
        session.execute(
            update(Enterprise).where(col(Enterprise.name) == B).values(created_at=at(11, 12).astimezone(UTC))
        )
    plan_and_queue(people, settings, at(12, 9))
    assert keys(people) == remind("overdue-1", "chair-a") | remind("overdue-list", "staff-1", "staff-2")


def test_a_missed_reminder_is_sent_at_start_up_and_a_stale_one_is_not(people: Database, settings: Settings) -> None:
    """Down from 30 November to 8 December: on the 8th only the still-current "3 days before" goes out."""
    assert plan_and_queue(people, settings, at(8, 9)) == 2
    assert keys(people) == remind("due-3", "chair-a", "chair-b")


def test_a_restart_sends_nothing_twice(people: Database, settings: Settings) -> None:
    first = plan_and_queue(Database(settings.database_url), settings, at(1, 9))
    again = plan_and_queue(Database(settings.database_url), settings, at(1, 9))
    later = plan_and_queue(Database(settings.database_url), settings, at(3, 15))
    assert (first, again, later) == (2, 0, 0)
    assert len(keys(people)) == 2


# -- Escalation of unacknowledged dispute warnings ------------------------------------------------------------


def report_warning(
    db: Database, receipt: str, level: WarningLevel, created: datetime, acknowledged_at: datetime | None = None
) -> int:
    with db.transaction() as session:
        company = session.exec(select(Enterprise).where(Enterprise.name == A)).one()
        submission = Submission(
            form_id="dispute_warning",
            receipt=receipt,
            draft_key=f"warner-a:{receipt}",
            openid="warner-a",
            enterprise_id=company.id,
            answers={},
            submitted_at=created,
        )
        session.add(submission)
        session.flush()
        assert submission.id is not None
        warning = DisputeWarning(
            submission_id=submission.id,
            receipt=receipt,
            enterprise_id=company.id,
            reporter="warner-a",
            found_at=created,
            place="三号车间",
            category="欠薪",
            workers=35,
            description="拖欠两个月工资",
            demands="补发工资",
            phone="13812345678",
            level=level,
            computed_level=level,
            created_at=created,
            state=WarningState.ACKNOWLEDGED if acknowledged_at else WarningState.SUBMITTED,
            acknowledged_at=acknowledged_at,
        )
        session.add(warning)
        session.flush()
        assert warning.id is not None
        return warning.id


def escalations(db: Database) -> set[str]:
    return {key for key in keys(db) if key.startswith("escalate:")}


def escalated_at(db: Database, warning_id: int) -> datetime | None:
    with db.transaction() as session:
        warning = session.get(DisputeWarning, warning_id)
        assert warning is not None
        return warning.escalated_at


def test_a_major_warning_is_escalated_after_30_minutes_even_at_night(
    svc: Service, people: Database, settings: Settings, clock: Clock, fake: FakeWechatServer
) -> None:
    db = people
    wid = report_warning(db, "YJ-1", WarningLevel.MAJOR, at(2, 22, 40))
    plan_and_queue(db, settings, at(2, 23, 9))
    assert escalations(db) == set()
    clock.now = at(2, 23, 11)
    plan_and_queue(db, settings, clock.now)
    assert escalations(db) == {f"escalate:{wid}:staff:staff-1", f"escalate:{wid}:staff:staff-2"}
    assert escalated_at(db, wid) == at(2, 23, 11)
    plan_and_queue(db, settings, at(2, 23, 39))
    assert len(escalations(db)) == 2
    clock.now = at(2, 23, 41)
    plan_and_queue(db, settings, clock.now)
    assert f"escalate:{wid}:admin:admin-1" in escalations(db)
    assert len(escalations(db)) == 3
    assert escalated_at(db, wid) == at(2, 23, 11)

    svc.services.outbox.drain()
    alert = fake.state.sent("admin-1")[0].body
    assert alert is not None
    assert alert["template_id"] == "TM_WARNING_ESCALATION"
    assert alert["data"] == {
        "thing1": {"value": A},
        "phrase2": {"value": "重大"},
        "thing3": {"value": "欠薪"},
        "number4": {"value": "35"},
        "time5": {"value": "2026-12-02 22:40"},
        "thing6": {"value": "超时未签收"},
        "character_string7": {"value": "YJ-1"},
    }
    assert [call.body["template_id"] for call in fake.state.sent("staff-2") if call.body] == ["TM_WARNING_ESCALATION"]
    everything = str([call.body for call in fake.state.snapshot()])
    assert "13812345678" not in everything and "warner-a" not in everything and "拖欠两个月" not in everything
    for silent in ("warner-a", "chair-a"):
        assert not [call for call in fake.state.sent(silent) if "escalat" in str(call.body)]


def test_a_general_warning_waits_one_working_day(people: Database, settings: Settings) -> None:
    wid = report_warning(people, "YJ-2", WarningLevel.GENERAL, at(4, 16))  # a Friday
    for moment in (at(5, 17), at(6, 12), at(7, 15, 59)):
        plan_and_queue(people, settings, moment)
        assert escalations(people) == set(), moment
    plan_and_queue(people, settings, at(7, 16))
    assert escalations(people) == {f"escalate:{wid}:staff:staff-1", f"escalate:{wid}:staff:staff-2"}
    plan_and_queue(people, settings, at(8, 16))
    assert f"escalate:{wid}:admin:admin-1" in escalations(people)


def test_a_serious_warning_due_at_night_waits_for_the_morning(people: Database, settings: Settings) -> None:
    wid = report_warning(people, "YJ-3", WarningLevel.SERIOUS, at(2, 20))
    plan_and_queue(people, settings, at(2, 22, 30))
    plan_and_queue(people, settings, at(3, 7, 59))
    assert escalations(people) == set()
    plan_and_queue(people, settings, at(3, 8))
    assert escalations(people) == {
        f"escalate:{wid}:staff:staff-1",
        f"escalate:{wid}:staff:staff-2",
        f"escalate:{wid}:admin:admin-1",
    }


def test_an_acknowledged_warning_is_not_escalated(people: Database, settings: Settings) -> None:
    report_warning(people, "YJ-4", WarningLevel.MAJOR, at(2, 10), acknowledged_at=at(2, 10, 5))
    plan_and_queue(people, settings, at(3, 10))
    assert escalations(people) == set()


# -- unionbot remind ------------------------------------------------------------------------------------------


def test_remind_dry_run_lists_who_and_why_and_queues_nothing(people: Database, settings: Settings) -> None:
    wrote(people, "chair-b", at(6, 20))
    env = {"UNIONBOT_DATABASE_URL": settings.database_url}
    result = runner.invoke(app, ["remind", "--dry-run", "--at", "2026-12-07 09:00"], env=env)
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines[-1] == "2 messages would be queued (dry run, nothing sent)"
    assert f"chair-a\treport\ttemplate\t{A}: no report for 2026-11, step due-3 (due 2026-12-10)" in lines
    assert f"chair-b\treport\ttext\t{B}: no report for 2026-11, step due-3 (due 2026-12-10)" in lines
    assert keys(people) == set()

    result = runner.invoke(app, ["remind", "--at", "2026-12-07 09:00"], env=env)
    assert result.output.strip() == "queued 2 messages"
    result = runner.invoke(app, ["remind", "--dry-run", "--at", "2026-12-07 10:00"], env=env)
    assert result.output.strip() == "0 messages would be queued (dry run, nothing sent)"
    result = runner.invoke(app, ["remind", "--dry-run", "--at", "2026-12-11 22:00"], env=env)
    assert result.output.strip().splitlines() == [
        "0 messages would be queued (dry run, nothing sent)",
        "quiet hours 21:00-08:00: only urgent escalations are planned now",
    ]


def test_remind_refuses_a_malformed_moment(people: Database, settings: Settings) -> None:
    result = runner.invoke(app, ["remind", "--at", "7 Dec"], env={"UNIONBOT_DATABASE_URL": settings.database_url})
    assert result.exit_code == 2
    assert "--at: expected local time" in result.stderr


def test_every_reminder_fits_in_one_wechat_message() -> None:
    """A long overdue list is cut to fit; long enterprise names still leave room for the rest."""
    long_name = "宁波" + "某某某" * 60 + "有限公司"
    names = [f"{long_name}{n}" for n in range(300)]
    staff = [Recipient("staff-x", None)]
    chairs = [UnreportedChair("2026-11", "chair-x", long_name, None)]
    warning = OpenWarning(1, "YJ-9", long_name, WarningLevel.MAJOR, "欠薪", 12, at(11, 8))
    facts = Facts(chairs=chairs, overdue={"2026-11": names}, warnings=[warning], staff=staff)
    planned = plan(at(11, 9), CALENDAR, facts)
    assert {item.template for item in planned} == {"report", "overdue_list", "escalation"}
    for item in planned:
        text, _facts = compose(item)
        assert len(text.encode()) <= 2000, (item.template, len(text.encode()))
    overdue = next(compose(item)[0] for item in planned if item.template == "overdue_list")
    assert "仍有300家企业未提交" in overdue and "家未列出" in overdue
