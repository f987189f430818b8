"""The facts the reminder planner needs, read set-based (one query each, however many chairs)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, literal, or_, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from domain.enums import Role, WarningLevel, WarningState
from storage.models import DisputeWarning, Enterprise, Member, MonthlyReport, OutboxMessage, WechatUser
from storage.stats import Due, on_roster


@dataclass(frozen=True)
class Recipient:
    openid: str
    last_message_at: datetime | None


@dataclass(frozen=True)
class UnreportedChair:
    """An active, subscribed chair of an enterprise with no report for `period` (and not yet told this step)."""

    period: str
    openid: str
    enterprise: str
    last_message_at: datetime | None


@dataclass(frozen=True)
class OpenWarning:
    """A submitted, unacknowledged warning; only what an alert may show (no names, no phone numbers)."""

    id: int
    receipt: str
    enterprise: str | None
    level: WarningLevel
    category: str
    workers: int
    created_at: datetime


CHUNK = 500  # keys per IN (...) list


def _reachable() -> Any:
    """Active members who still follow the account (no `wechat_user` row yet counts as following)."""
    return and_(col(Member.active), or_(col(WechatUser.subscribed).is_(None), col(WechatUser.subscribed)))


def _owes(period: str, deadline: datetime) -> Any:
    """The enterprise owes `period` (`storage.stats.on_roster`, as 应报 counts it) and has no report for it."""
    report = select(MonthlyReport.id).where(
        MonthlyReport.enterprise_id == Member.enterprise_id, MonthlyReport.period == period
    )
    return and_(on_roster(Due(period, deadline)), ~exists(report))


def _not_queued(key_prefix: str) -> Any:
    """No outbox message under `key_prefix + openid` yet (an index lookup on the unique key)."""
    queued = select(OutboxMessage.id).where(OutboxMessage.idempotency_key == literal(key_prefix) + col(Member.openid))
    return ~exists(queued)


def unreported_chairs(session: Session, period: str, deadline: datetime, key_prefix: str) -> list[UnreportedChair]:
    """Chairs of enterprises that owe `period` and have no message under `key_prefix + openid` yet."""
    query = (
        select(Member.openid, Enterprise.name, WechatUser.last_message_at)
        .join(Enterprise, col(Enterprise.id) == col(Member.enterprise_id))
        .outerjoin(WechatUser, col(WechatUser.openid) == col(Member.openid))
        .where(Member.role == Role.CHAIR, _reachable(), _owes(period, deadline), _not_queued(key_prefix))
    )
    return [UnreportedChair(period, openid, name, last) for openid, name, last in session.exec(query).all()]


def unreported_enterprises(session: Session, period: str, deadline: datetime) -> list[str]:
    """Enterprises expected to report (they have an active chair) that owe `period`."""
    query = (
        select(Enterprise.name)
        .join(Member, col(Member.enterprise_id) == col(Enterprise.id))
        .where(Member.role == Role.CHAIR, col(Member.active), _owes(period, deadline))
        .distinct()
    )
    return list(session.exec(query).all())


def recipients(session: Session, role: Role, not_queued: str | None = None) -> list[Recipient]:
    """Reachable members with `role`; with `not_queued`, only those without a message under that key prefix."""
    query = (
        select(Member.openid, WechatUser.last_message_at)
        .outerjoin(WechatUser, col(WechatUser.openid) == col(Member.openid))
        .where(Member.role == role, _reachable())
        .order_by(col(Member.openid))
    )
    if not_queued is not None:
        query = query.where(_not_queued(not_queued))
    return [Recipient(openid, last) for openid, last in session.exec(query).all()]


@dataclass(frozen=True)
class Chair:
    """A reachable chair of one enterprise, by name, for a reminder sent by hand."""

    openid: str
    name: str
    enterprise: str
    last_message_at: datetime | None


def chairs_to_remind(session: Session, enterprise_id: int) -> list[Chair]:
    query = (
        select(Member.openid, Member.name, Enterprise.name, WechatUser.last_message_at)
        .join(Enterprise, col(Enterprise.id) == col(Member.enterprise_id))
        .outerjoin(WechatUser, col(WechatUser.openid) == col(Member.openid))
        .where(Member.enterprise_id == enterprise_id, Member.role == Role.CHAIR, _reachable())
        .order_by(col(Member.name), col(Member.openid))
    )
    return [Chair(*row) for row in session.exec(query).all()]


def open_warnings(session: Session) -> list[OpenWarning]:
    """Submitted warnings nobody has acknowledged; only the fields an alert may carry (and a known level, so one
    malformed row cannot stop every other escalation)."""
    query = (
        sa_select(
            col(DisputeWarning.id),
            col(DisputeWarning.receipt),
            col(Enterprise.name),
            col(DisputeWarning.level),
            col(DisputeWarning.category),
            col(DisputeWarning.workers),
            col(DisputeWarning.created_at),
        )
        .outerjoin(Enterprise, col(Enterprise.id) == col(DisputeWarning.enterprise_id))
        .where(
            col(DisputeWarning.state) == WarningState.SUBMITTED,
            col(DisputeWarning.acknowledged_at).is_(None),
            col(DisputeWarning.level).in_([level.value for level in WarningLevel]),
        )
        .order_by(col(DisputeWarning.id))
    )
    return [
        OpenWarning(id_, receipt, name, level, category, workers, created)
        for id_, receipt, name, level, category, workers, created in session.execute(query).all()
        if id_ is not None
    ]


def mark_escalated(session: Session, warning_ids: Iterable[int], now: datetime) -> None:
    """The first escalation's time; later runs leave it alone."""
    ids = sorted(set(warning_ids))
    if ids:
        session.execute(
            update(DisputeWarning)
            .where(col(DisputeWarning.id).in_(ids), col(DisputeWarning.escalated_at).is_(None))
            .values(escalated_at=now)
        )


def existing_keys(session: Session, keys: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(keys), CHUNK):
        chunk = keys[start : start + CHUNK]
        query = select(OutboxMessage.idempotency_key).where(col(OutboxMessage.idempotency_key).in_(chunk))
        found.update(session.exec(query).all())
    return found
