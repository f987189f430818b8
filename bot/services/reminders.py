"""The reminder planner: from the clock, the calendar and the facts read from the database, who is told what NOW.

Pure (no database, no I/O), so a whole month can be walked in a table test. The planner only ever plans what is
due at this moment: a run after downtime catches up with the step still relevant, a superseded one (the "3 days
before" on the due day) is never sent. Each plan carries a natural key (user, subject, step); the outbox refuses a
second message under the same key, which makes a reminder exactly-once across reruns, restarts and processes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from bot.services.notify import SERVICE_WINDOW
from config.reminders import Delay, RemindersConfig
from config.settings import Settings
from domain import timefmt
from domain.periods import Month, due_on, end_of, opens_on, reporting_month
from storage.reminders import OpenWarning, Recipient, UnreportedChair

REMIND_PREFIX = "remind:"  # `remind:<period>:<step>:<openid>`, report reminders and the staff overdue list
ESCALATE_PREFIX = "escalate:"  # `escalate:<warning id>:<stage>:<openid>`
OVERDUE_LIST_BYTES = 1200  # the names in a staff overdue list; the rest of the message fits in WeChat's 2,000 bytes


class ReminderKind(StrEnum):
    REPORT = "report"  # to a chair whose enterprise has not reported
    OVERDUE_LIST = "overdue-list"  # to staff, once per period after the due day
    ESCALATE_STAFF = "escalate-staff"  # an unacknowledged warning, to every staff member
    ESCALATE_ADMIN = "escalate-admin"  # ... and later to the administrators


@dataclass(frozen=True)
class Calendar:
    """Where reminders fall: the reporting days from settings, the rest from `config/reminders.yaml`."""

    settings: Settings
    config: RemindersConfig

    @property
    def zone(self) -> ZoneInfo:
        return self.settings.zone

    def is_quiet(self, now: datetime) -> bool:
        moment = now.astimezone(self.zone).time()
        start, end = self.config.quiet_hours.start, self.config.quiet_hours.end
        if start <= end:
            return start <= moment < end
        return moment >= start or moment < end


@dataclass(frozen=True)
class ReportStep:
    """What a chair whose enterprise has not reported `period` is told today; `tag` names it in the key."""

    period: str
    tag: str
    due: date
    days_left: int  # negative once overdue

    def deadline(self, zone: ZoneInfo) -> datetime:
        """The end of the due day: an enterprise added to the roster later does not owe this period."""
        return end_of(self.due, zone)

    def key(self, openid: str) -> str:
        return f"{self.key_prefix}{openid}"

    @property
    def key_prefix(self) -> str:
        return f"{REMIND_PREFIX}{self.period}:{self.tag}:"


def _step(month: Month, today: date, calendar: Calendar) -> ReportStep | None:
    period = month.key
    opens, due = opens_on(month, calendar.settings), due_on(month, calendar.settings)
    if today < opens:
        return None
    if today <= due:
        points = [(opens, 0, "opens")]
        points += [(due - timedelta(days=n), 1, f"due-{n}") for n in calendar.config.report.days_before_due]
        current = max(point for point in points if opens <= point[0] <= today)
        return ReportStep(period, current[2], due, (due - today).days)
    week = ((today - due).days - 1) // calendar.config.report.overdue_every_days + 1
    return ReportStep(period, f"overdue-{week}", due, (due - today).days)


def report_steps(today: date, calendar: Calendar) -> list[ReportStep]:
    """The step of the period being collected and of the `overdue_periods` periods before it."""
    current = reporting_month(today)
    months = (current.shift(-back) for back in range(calendar.config.report.overdue_periods + 1))
    return [step for month in months if (step := _step(month, today, calendar))]


def desk_step(month: Month, today: date, calendar: Calendar) -> ReportStep:
    """A reminder staff send by hand from the desk (催报): at most one a day per chair and month."""
    due = due_on(month, calendar.settings)
    return ReportStep(month.key, f"desk-{today.isoformat()}", due, (due - today).days)


def report_plan(
    openid: str, enterprise: str, last_message_at: datetime | None, step: ReportStep, now: datetime, why: str
) -> Planned:
    """The report reminder of `step` to one chair."""
    context = {
        "enterprise": enterprise,
        "period": Month.parse_key(step.period).label,
        "due": step.due.isoformat(),
        "days_left": step.days_left,
    }
    return Planned(
        openid=openid,
        key=step.key(openid),
        kind=ReminderKind.REPORT,
        notice="report_reminder",
        template="report",
        context=context,
        in_window=_in_window(last_message_at, now),
        why=why,
    )


def overdue_list_steps(today: date, calendar: Calendar) -> list[ReportStep]:
    """Periods whose overdue list goes to staff today: during the first overdue stretch only, hence once."""
    every = calendar.config.report.overdue_every_days
    return [step for step in report_steps(today, calendar) if step.days_left < 0 and -step.days_left <= every]


def overdue_list_key(period: str, openid: str) -> str:
    return f"{REMIND_PREFIX}{period}:overdue-list:{openid}"


def escalation_prefix(warning_id: int) -> str:
    return f"{ESCALATE_PREFIX}{warning_id}:"


def escalation_key(warning_id: int, stage: ReminderKind, openid: str) -> str:
    return f"{escalation_prefix(warning_id)}{stage.value.removeprefix('escalate-')}:{openid}"


def after(start: datetime, delay: Delay, zone: ZoneInfo) -> datetime:
    """`start` plus the delay; working days skip Saturdays and Sundays (a Saturday report counts from Monday)."""
    if delay.minutes is not None:
        return start + timedelta(minutes=delay.minutes)
    if delay.hours is not None:
        return start + timedelta(hours=delay.hours)
    local = start.astimezone(zone).replace(tzinfo=None)
    if local.weekday() >= 5:
        local = datetime.combine(local.date() + timedelta(days=7 - local.weekday()), time())
    for _ in range(delay.working_days or 0):
        local += timedelta(days=1)
        while local.weekday() >= 5:
            local += timedelta(days=1)
    return local.replace(tzinfo=zone).astimezone(UTC)


@dataclass(frozen=True)
class Facts:
    chairs: Sequence[UnreportedChair] = ()
    overdue: Mapping[str, Sequence[str]] = field(default_factory=dict)  # period -> enterprises not reported
    warnings: Sequence[OpenWarning] = ()
    staff: Sequence[Recipient] = ()
    admins: Sequence[Recipient] = ()


@dataclass(frozen=True)
class Planned:
    """One push: to whom, under which key, as which notice, rendered from `templates/reminders/<template>.j2`."""

    openid: str
    key: str
    kind: ReminderKind
    notice: str
    template: str
    context: Mapping[str, object]
    in_window: bool  # the user wrote within 48 hours: a customer-service text rather than a template message
    why: str  # for `unionbot remind --dry-run`
    warning_id: int | None = None


def _in_window(last_message_at: datetime | None, now: datetime) -> bool:
    return last_message_at is not None and now - last_message_at < SERVICE_WINDOW


def _report_plans(now: datetime, calendar: Calendar, facts: Facts) -> list[Planned]:
    today = now.astimezone(calendar.zone).date()
    steps = {step.period: step for step in report_steps(today, calendar)}
    plans = []
    for chair in facts.chairs:
        step = steps.get(chair.period)
        if step is None:
            continue
        why = f"{chair.enterprise}: no report for {step.period}, step {step.tag} (due {step.due})"
        plans.append(report_plan(chair.openid, chair.enterprise, chair.last_message_at, step, now, why))
    for period in (step.period for step in overdue_list_steps(today, calendar)):
        names = sorted(facts.overdue.get(period, ()))
        if not names:
            continue
        shown = _fit(names, OVERDUE_LIST_BYTES)
        context = {
            "period": Month.parse_key(period).label,
            "due": steps[period].due.isoformat(),
            "total": len(names),
            "names": shown,
            "more": len(names) - len(shown),
        }
        plans += [
            Planned(
                openid=staff.openid,
                key=overdue_list_key(period, staff.openid),
                kind=ReminderKind.OVERDUE_LIST,
                notice="report_reminder",
                template="overdue_list",
                context=context,
                in_window=_in_window(staff.last_message_at, now),
                why=f"staff: {len(names)} enterprise(s) overdue for {period}",
            )
            for staff in facts.staff
        ]
    return plans


def _fit(names: Sequence[str], budget: int) -> list[str]:
    """As many names as fit in `budget` bytes, each on a numbered line ("123. " and a newline)."""
    shown: list[str] = []
    used = 0
    for name in names:
        used += len(name.encode()) + 6
        if used > budget:
            break
        shown.append(name)
    return shown


def _warning_plans(now: datetime, calendar: Calendar, facts: Facts) -> list[Planned]:
    quiet = calendar.is_quiet(now)
    plans = []
    for warning in facts.warnings:
        if quiet and warning.level not in calendar.config.urgent_levels:
            continue
        rule = calendar.config.acknowledge[warning.level]
        staff_at = after(warning.created_at, rule.within, calendar.zone)
        admin_at = after(staff_at, rule.admin_after, calendar.zone)
        stages = [
            (ReminderKind.ESCALATE_STAFF, staff_at, facts.staff),
            (ReminderKind.ESCALATE_ADMIN, admin_at, facts.admins),
        ]
        for stage, due, recipients in stages:
            if now < due:
                continue
            context = {
                "enterprise": warning.enterprise or "",
                "level": warning.level.value,
                "category": warning.category,
                "workers": warning.workers,
                "reported_at": timefmt.minute(warning.created_at, calendar.zone),
                "receipt": warning.receipt,
                "minutes": int((now - warning.created_at).total_seconds() // 60),
                "stage": stage.value,
            }
            why = f"warning {warning.receipt} ({warning.level.value}) unacknowledged since {context['reported_at']}"
            plans += [
                Planned(
                    openid=person.openid,
                    key=escalation_key(warning.id, stage, person.openid),
                    kind=stage,
                    notice="warning_escalation",
                    template="escalation",
                    context=context,
                    in_window=_in_window(person.last_message_at, now),
                    why=why,
                    warning_id=warning.id,
                )
                for person in recipients
            ]
    return plans


def plan(now: datetime, calendar: Calendar, facts: Facts) -> list[Planned]:
    """Everything due now. Report reminders wait for the end of quiet hours; urgent escalations do not."""
    report = [] if calendar.is_quiet(now) else _report_plans(now, calendar, facts)
    return report + _warning_plans(now, calendar, facts)
