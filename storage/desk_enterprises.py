"""The desk's 企业 pages: the roster searched and paged, who is bound to an enterprise, its open invitations."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, func, true
from sqlalchemy import select as columns_select
from sqlmodel import Session, col, select

from domain.enums import Role
from storage.models import DisputeWarning, Enterprise, InviteCode, Member, MonthlyReport
from storage.stats import name_or_credit_code


class OnRoster(StrEnum):
    ALL = "all"
    ON = "on"
    OFF = "off"


@dataclass(frozen=True)
class Filter:
    text: str = ""  # a part of the name, or a whole credit code
    community: str = ""
    roster: OnRoster = OnRoster.ALL


@dataclass(frozen=True)
class RosterRow:
    enterprise: Enterprise
    last_month: str | None
    chairs: list[str]
    warners: list[str]


def _where(wanted: Filter) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = []
    text = wanted.text.strip()
    if text:
        clauses.append(name_or_credit_code(text))
    if wanted.community:
        clauses.append(col(Enterprise.community) == wanted.community)
    if wanted.roster is OnRoster.ON:
        clauses.append(col(Enterprise.removed_at).is_(None))
    elif wanted.roster is OnRoster.OFF:
        clauses.append(col(Enterprise.removed_at).is_not(None))
    return clauses


def count_roster(session: Session, wanted: Filter) -> int:
    return int(session.exec(select(func.count()).select_from(Enterprise).where(*_where(wanted))).one())


def roster_page(session: Session, wanted: Filter, offset: int, limit: int) -> list[RosterRow]:
    """One page by name; the last month reported and the bound people read for that page's enterprises only."""
    last_month: Any = (
        select(func.max(MonthlyReport.period))
        .where(col(MonthlyReport.enterprise_id) == col(Enterprise.id), col(MonthlyReport.is_latest) == true())
        .correlate(Enterprise)
        .scalar_subquery()
    )
    rows = session.exec(
        select(Enterprise, last_month)
        .where(*_where(wanted))
        .order_by(col(Enterprise.name), col(Enterprise.id))
        .offset(offset)
        .limit(limit)
    ).all()
    people = bound_names(session, [enterprise.id for enterprise, _ in rows if enterprise.id is not None])
    return [
        RosterRow(
            enterprise,
            month,
            people.get((enterprise.id or 0, Role.CHAIR), []),
            people.get((enterprise.id or 0, Role.WARNER), []),
        )
        for enterprise, month in rows
    ]


def bound_names(session: Session, enterprise_ids: Sequence[int]) -> dict[tuple[int, Role], list[str]]:
    """The active chairs' and warners' names of a few enterprises, by (enterprise, role)."""
    found: dict[tuple[int, Role], list[str]] = {}
    if not enterprise_ids:
        return found
    query = (
        columns_select(col(Member.enterprise_id), col(Member.role), col(Member.name))
        .where(col(Member.enterprise_id).in_(enterprise_ids), col(Member.active) == true())
        .order_by(col(Member.name))
    )
    for enterprise_id, role, name in session.execute(query).all():
        if enterprise_id is not None:
            found.setdefault((enterprise_id, Role(role)), []).append(name)
    return found


def people_of(session: Session, enterprise_id: int) -> list[Member]:
    """Everyone ever bound to the enterprise, the active first."""
    query = (
        select(Member)
        .where(col(Member.enterprise_id) == enterprise_id)
        .order_by(col(Member.active).desc(), col(Member.role), col(Member.name))
    )
    return list(session.exec(query).all())


def recent_warnings(session: Session, enterprise_id: int, limit: int) -> list[DisputeWarning]:
    query = (
        select(DisputeWarning)
        .where(col(DisputeWarning.enterprise_id) == enterprise_id)
        .order_by(col(DisputeWarning.created_at).desc(), col(DisputeWarning.id).desc())
        .limit(limit)
    )
    return list(session.exec(query).all())


def open_invites(session: Session, enterprise_id: int, now: datetime) -> list[InviteCode]:
    """Codes for the enterprise not used and not expired, the newest first."""
    query = (
        select(InviteCode)
        .where(
            col(InviteCode.enterprise_id) == enterprise_id,
            col(InviteCode.used_at).is_(None),
            col(InviteCode.expires_at) > now,
        )
        .order_by(col(InviteCode.created_at).desc(), col(InviteCode.code))
    )
    return list(session.exec(query).all())
