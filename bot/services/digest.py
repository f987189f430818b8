"""The monthly digest for staff (domain §5.3), pushed once per staff member after the report due day.

The scheduler calls `send_monthly_digest` every minute: before the due day it is a date comparison, and once
every staff member has this period's digest queued it is one small query on the staff list. The idempotency
key `digest:{period}:{openid}` makes a repeated or concurrent call queue nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import exists, literal, true
from sqlmodel import Session, col, select

from bot.services import render
from bot.services.export import labels
from bot.services.figures import period_figures, report_totals
from bot.services.notify import in_service_window, notify
from bot.services.pages import SUFFIX_RESERVE, split
from config.settings import Settings
from domain import timefmt
from domain.periods import Month, due_on, reporting_month
from domain.warning_rules import MEDIATION_DAYS
from storage import identity, month_tally, outbox, stats
from storage.models import Member, OutboxMessage

DIGEST_PREFIX = "digest:"  # `digest:<period>:<openid>` (and `:<part>` for the pages after the first)
OVERDUE_SHOWN = 20
STALE_AFTER = timedelta(days=MEDIATION_DAYS)  # a warning still open after the mediation period is counted apart
# Figures compared with the month before, in the digest's order.
COMPARED = ("employees", "members", "new_members", "dues_accrued", "dues_remitted", "activities", "trainings")


@dataclass(frozen=True)
class Change:
    name: str
    value: Decimal
    previous: Decimal

    @property
    def delta(self) -> Decimal:
        return self.value - self.previous


def _recipients(session: Session, key_prefix: str) -> list[str]:
    """Active staff who have not had this period's digest queued yet."""
    queued = exists().where(col(OutboxMessage.idempotency_key) == literal(key_prefix) + col(Member.openid))
    query = (
        select(Member.openid)
        .where(col(Member.active) == true(), col(Member.role).in_(identity.STAFF_ROLES), ~queued)
        .order_by(col(Member.openid))
    )
    return list(session.exec(query).all())


def compose(session: Session, settings: Settings, period: str, now: datetime) -> dict[str, object]:
    """Every figure of the digest, computed once for all recipients."""
    month = Month.parse_key(period).period
    today = timefmt.local(now, settings.zone).date()
    found = period_figures(session, month, settings, today)
    before = report_totals(session, Month.parse_key(period).shift(-1).period, settings, today)
    values = {**found.totals.flows, **found.totals.stocks}
    previous = {**before.flows, **before.stocks}
    return {
        **found.shown(),
        "period": month,
        "changes": [Change(name, values[name], previous[name]) for name in COMPARED],
        "stale": stats.count_warnings(session, stats.OPEN_WARNING_STATES, before=now - STALE_AFTER),
        "stale_days": STALE_AFTER.days,
        "open_warnings": stats.count_warnings(session, stats.OPEN_WARNING_STATES),
        "in_review": stats.count_applications(session, stats.PENDING_REVIEW_STATES),
        "overdue_total": month_tally.missing_count(session, found.owed),
        "overdue": stats.missing_reports(session, found.owed, OVERDUE_SHOWN),
        "next_period": Month.parse_key(period).shift(1).period,
        "next_due": due_on(Month.parse_key(period).shift(1), settings),
        "labels": labels(),
    }


def send_monthly_digest(session: Session, settings: Settings, now: datetime) -> int:
    """Queue the digest of the current reporting period for every staff member still without it; how many."""
    today = now.astimezone(settings.zone).date()
    month = reporting_month(today)
    if today <= due_on(month, settings):
        return 0
    period = month.key
    key_prefix = f"{DIGEST_PREFIX}{period}:"
    recipients = _recipients(session, key_prefix)
    if not recipients:
        return 0
    figures = compose(session, settings, period, now)
    pages = split(render.render("digest/digest.j2", **figures), settings.reply_max_bytes - SUFFIX_RESERVE)
    total = len(pages)
    if total > 1:
        pages = [f"{page}\n{render.render('digest/part.j2', part=i, total=total)}" for i, page in enumerate(pages, 1)]
    facts = {
        "title": render.render("digest/title.j2", **figures),
        "summary": render.render("digest/summary.j2", **figures),
        "at": timefmt.minute(now, settings.zone),
    }
    for openid in recipients:
        key = f"{key_prefix}{openid}"
        notify(session, openid=openid, notice="staff_digest", facts=facts, text=pages[0], key=key, now=now)
        if in_service_window(session, openid, now):
            for part, page in enumerate(pages[1:], 2):
                outbox.enqueue_text(session, key=f"{key}:{part}", openid=openid, content=page, now=now)
    return len(recipients)
