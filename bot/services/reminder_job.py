"""The reminder job: read the facts with SQL, plan (pure), render, and queue in the outbox in one transaction.

`plan_and_queue` is safe to run at any moment, any number of times, from any number of processes: what is not
due is not planned, and what was queued before is refused by the outbox's unique idempotency key.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session

from bot.services.notify import message
from bot.services.reminders import (
    Calendar,
    Facts,
    Planned,
    ReminderKind,
    desk_step,
    overdue_list_key,
    overdue_list_steps,
    plan,
    report_plan,
    report_steps,
)
from bot.services.render import environment
from config.reminders import RemindersConfig, reminders_config
from config.settings import Settings
from domain.enums import Role
from domain.periods import Month
from storage import outbox
from storage import reminders as facts_db
from storage.db import Database


def read_facts(session: Session, calendar: Calendar, now: datetime) -> Facts:
    today = now.astimezone(calendar.zone).date()
    quiet = calendar.is_quiet(now)
    chairs = (
        []
        if quiet
        else [
            chair
            for step in report_steps(today, calendar)
            for chair in facts_db.unreported_chairs(session, step.period, step.deadline(calendar.zone), step.key_prefix)
        ]
    )
    # The overdue list is read only while some staff member still lacks it: it is the costly query.
    lists = [
        step
        for step in ([] if quiet else overdue_list_steps(today, calendar))
        if facts_db.recipients(session, Role.STAFF, not_queued=overdue_list_key(step.period, ""))
    ]
    warnings = facts_db.open_warnings(session)
    return Facts(
        chairs=chairs,
        overdue={
            step.period: facts_db.unreported_enterprises(session, step.period, step.deadline(calendar.zone))
            for step in lists
        },
        warnings=warnings,
        staff=facts_db.recipients(session, Role.STAFF) if lists or warnings else [],
        admins=facts_db.recipients(session, Role.ADMIN) if warnings else [],
    )


def compose(planned: Planned) -> tuple[str, dict[str, str]]:
    """The full text, and the facts for the template message's keywords (the template's `set` values win)."""
    module = environment().get_template(f"reminders/{planned.template}.j2").make_module(dict(planned.context))
    exported = {name: str(value) for name, value in vars(module).items() if not name.startswith("_")}
    return str(module).strip(), {**{name: str(value) for name, value in planned.context.items()}, **exported}


def outbox_row(planned: Planned, now: datetime) -> dict[str, Any]:
    """What `bot.services.notify.notify` would queue, as a row for a bulk insert."""
    text, facts = compose(planned)
    kind, payload = message(planned.notice, facts, text, in_window=planned.in_window)
    return outbox.row(key=planned.key, openid=planned.openid, kind=kind, payload=payload, now=now)


def calendar_for(settings: Settings, config: RemindersConfig | None = None) -> Calendar:
    return Calendar(settings, config or reminders_config())


def preview(db: Database, settings: Settings, now: datetime, config: RemindersConfig | None = None) -> list[Planned]:
    """What a run now would queue (already queued keys left out): `unionbot remind --dry-run`."""
    calendar = calendar_for(settings, config)
    with db.transaction() as session:
        planned = plan(now, calendar, read_facts(session, calendar, now))
        done = facts_db.existing_keys(session, [item.key for item in planned])
    return [item for item in planned if item.key not in done]


def queue_planned(session: Session, planned: Sequence[Planned], now: datetime) -> int:
    queued = outbox.enqueue_many(session, [outbox_row(item, now) for item in planned])
    escalated = [item.warning_id for item in planned if item.kind == ReminderKind.ESCALATE_STAFF and item.warning_id]
    facts_db.mark_escalated(session, escalated, now)
    return len(queued)


def plan_and_queue(db: Database, settings: Settings, now: datetime, config: RemindersConfig | None = None) -> int:
    """Plan everything due at `now` and queue it; returns how many messages were newly queued."""
    calendar = calendar_for(settings, config)
    with db.transaction() as session:
        planned = plan(now, calendar, read_facts(session, calendar, now))
        return queue_planned(session, planned, now)


@dataclass(frozen=True)
class Reminded:
    """A chair reminded by hand: `queued` is False when they were reminded of the month earlier the same day."""

    name: str
    queued: bool


def remind_enterprise(
    session: Session, settings: Settings, enterprise_id: int, month: Month, now: datetime
) -> list[Reminded]:
    """催报 from the desk: the scheduled reminder's text to each reachable chair of one enterprise, keyed by the day
    so a second click that day queues nothing. An empty list means no chair is bound."""
    calendar = calendar_for(settings)
    step = desk_step(month, now.astimezone(settings.zone).date(), calendar)
    chairs = facts_db.chairs_to_remind(session, enterprise_id)
    planned = [
        report_plan(chair.openid, chair.enterprise, chair.last_message_at, step, now, "desk: reminded by staff")
        for chair in chairs
    ]
    queued = outbox.enqueue_many(session, [outbox_row(item, now) for item in planned])
    return [Reminded(chair.name, item.key in queued) for chair, item in zip(chairs, planned, strict=True)]
