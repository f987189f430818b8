"""The dashboard's breakdowns beside the period figures: report coverage by 社区 and applications by state.

Coverage counts exactly as `storage.stats.coverage` does (`on_roster` decides who owes a month, latest revisions
count), only grouped by the roster's `community`, so the communities of a month add up to what `统计` says.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import and_, case, func, literal, or_, true
from sqlalchemy import select as columns_select
from sqlmodel import Session, col

from domain.enums import HardshipState
from storage.models import Enterprise, HardshipApplication, MonthlyReport
from storage.stats import Due, on_roster, rate


@dataclass(frozen=True)
class CommunityCoverage:
    """应报 and 已报 of one community over some months."""

    community: str
    due: int
    submitted: int

    @property
    def rate(self) -> Decimal | None:
        return rate(self.submitted, self.due)


def coverage_by_community(session: Session, dues: Sequence[Due]) -> list[CommunityCoverage]:
    """Each community that owed or filed a report of `dues`, by name: two grouped passes, as `coverage` makes."""
    if not dues:
        return []
    community = col(Enterprise.community)
    owed = sum((case((on_roster(due), 1), else_=0) for due in dues), start=literal(0))
    owed_rows = session.execute(columns_select(community, func.coalesce(func.sum(owed), 0)).group_by(community)).all()
    filed = or_(*(and_(col(MonthlyReport.period) == due.month, on_roster(due)) for due in dues))
    filed_rows = session.execute(
        columns_select(community, func.count())
        .select_from(MonthlyReport)
        .join(Enterprise, col(Enterprise.id) == col(MonthlyReport.enterprise_id))
        .where(col(MonthlyReport.is_latest) == true(), filed)
        .group_by(community)
    ).all()
    due_of = {str(name): int(count) for name, count in owed_rows}
    filed_of = {str(name): int(count) for name, count in filed_rows}
    names = sorted(name for name in due_of.keys() | filed_of.keys() if due_of.get(name) or filed_of.get(name))
    return [CommunityCoverage(name, due_of.get(name, 0), filed_of.get(name, 0)) for name in names]


def applications_by_state(session: Session) -> list[tuple[HardshipState, int]]:
    """Every application as it stands now, counted by state in the workflow's order (states with none left out)."""
    state = col(HardshipApplication.state)
    counted = dict(session.execute(columns_select(state, func.count()).group_by(state)).all())
    return [(known, int(counted[known])) for known in HardshipState if counted.get(known)]
