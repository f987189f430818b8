"""Retention: what the service stops keeping, run by the scheduler leader every `UNIONBOT_RETENTION_EVERY_MINUTES`,
each sweep logging one line of what it removed.

- Inbound dedup rows older than `UNIONBOT_RETENTION_INBOUND_DAYS` (7): WeChat retries a delivery within seconds,
  and the replay window refuses anything older than minutes, so no retry can arrive for them.
- Delivered outbox rows older than `UNIONBOT_RETENTION_OUTBOX_DAYS` (30), except those whose key a job may still
  plan (below). Failed rows stay for the operator (`unionbot outbox status`); pending ones are not delivered yet.
- Export, summary and invitation-QR files older than the link they were sent with (`UNIONBOT_LINK_TTL_MINUTES`,
  and a few minutes for clocks that differ between machines): nothing can reach them any more. Photos stay.
- Expired drafts are swept every tick by `bot.dialog.desk.sweep_expired` (the app wires it in).

Why an outbox row can outlive its retention: the row *is* the memory that a message went out. The reminder
planner, the escalations and the digest ask "was anything queued under this key?" (`storage.reminders`,
`bot.services.digest`) and the outbox's unique key refuses a second message. Deleting a row whose key the planner
can still plan would send that reminder again. So the sweep keeps, however old:

- `remind:<period>:…` and `digest:<period>:…` while the period is one the planner still chases (the reporting
  month and `overdue_periods` before it, `bot.services.reminders.report_steps`; the digest only ever plans the
  reporting month). Each step's key names its step, so a period's reminders are exactly-once while it is chased,
  and once it has left that window no job plans it again.
- `escalate:<warning>:…` while the warning is submitted and unacknowledged (`storage.reminders.open_warnings`,
  what the planner escalates); the workflow never returns a warning to that state.

Every other key is written once by the event that caused it (a message, handled once thanks to the dedup row;
a case step; a decision) and never planned again. Chosen over moving the keys to a table of their own: the
enqueue path and the planner's set-based NOT EXISTS queries stay exactly as they are. Raising `overdue_periods`
brings older periods back into the chase; their reminders are then planned at their current step, as for a chair
never reminded.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlmodel import Session

from bot.services import digest, reminders, summary
from bot.services.export import EXPORTS
from bot.services.reminder_job import calendar_for
from config.settings import Settings
from domain.periods import reporting_month
from storage import filestore, heartbeat
from storage import reminders as facts_db
from storage import retention as store
from storage.db import Database

log = logging.getLogger("unionbot.retention")

BATCH = 1000  # rows per transaction: the message handlers wait at most one batch for the database
INVITES = "invites"  # invitation QR codes (`handlers.binding`), linked like exports
LINKED_FOLDERS = (EXPORTS, summary.DOCUMENTS, INVITES)
CLOCK_SKEW = timedelta(minutes=10)  # another machine sharing the files may have signed a link a little "later"


def run_due(db: Database, settings: Settings, now: datetime) -> int:
    """The scheduler's chore: every sweep, once per `retention_every_minutes` across all processes (the heartbeat
    is written first, so a failing sweep is tried again next round, not at every tick). Returns what was removed."""
    with db.transaction() as session:
        last = heartbeat.last(session, heartbeat.RETENTION)
        if last is not None and now - last < timedelta(minutes=settings.retention_every_minutes):
            return 0
        heartbeat.beat(session, heartbeat.RETENTION, now)
    return sweep_inbound(db, settings, now) + sweep_outbox(db, settings, now) + sweep_linked_files(db, settings, now)


def sweep_inbound(db: Database, settings: Settings, now: datetime) -> int:
    before = now - timedelta(days=settings.retention_inbound_days)
    removed = _in_batches(db, lambda session: store.delete_inbound_before(session, before, BATCH))
    log.info("retention: removed %d inbound dedup rows older than %d days", removed, settings.retention_inbound_days)
    return removed


def live_keys(db: Database, settings: Settings, now: datetime) -> store.LiveKeys:
    """The outbox keys a job may still plan at `now` (see the module's docstring)."""
    calendar = calendar_for(settings)
    chased_from = reporting_month(now.astimezone(settings.zone).date()).shift(-calendar.config.report.overdue_periods)
    with db.transaction() as session:
        open_ids = [warning.id for warning in facts_db.open_warnings(session)]
    return store.LiveKeys(
        period_prefixes=(reminders.REMIND_PREFIX, digest.DIGEST_PREFIX),
        live_from=chased_from.key,
        prefixes=[reminders.escalation_prefix(warning_id) for warning_id in open_ids],
    )


def sweep_outbox(db: Database, settings: Settings, now: datetime) -> int:
    before = now - timedelta(days=settings.retention_outbox_days)
    live = live_keys(db, settings, now)
    removed = _in_batches(db, lambda session: store.delete_delivered_outbox_before(session, before, live, BATCH))
    log.info(
        "retention: removed %d delivered outbox messages older than %d days (kept: keys of periods from %s on, "
        "escalations of %d open warnings)",
        removed,
        settings.retention_outbox_days,
        live.live_from,
        len(live.prefixes),
    )
    return removed


def sweep_linked_files(db: Database, settings: Settings, now: datetime) -> int:
    """Files reachable only through a link that has expired (their age: when the store took them)."""
    before = now - timedelta(minutes=settings.link_ttl_minutes) - CLOCK_SKEW
    removed = 0
    with db.transaction() as session:
        files = filestore.open_store(settings, session)
        for folder in LINKED_FOLDERS:
            expired = [entry.path for entry in files.entries(f"{folder}/") if entry.stored_at < before]
            removed += sum(files.delete(path) for path in expired)
    log.info(
        "retention: removed %d export, summary and invitation files past their link's %d minutes",
        removed,
        settings.link_ttl_minutes,
    )
    return removed


def _in_batches(db: Database, delete_batch: Callable[[Session], int]) -> int:
    removed = 0
    while True:
        with db.transaction() as session:
            done = delete_batch(session)
        removed += done
        if done < BATCH:
            return removed
