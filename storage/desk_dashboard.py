"""The dashboard's breakdowns beside the period figures: report coverage by 社区 and applications by state.

Coverage by 社区 is the month tallies `统计` adds up (`storage.month_tally`), read per community, so the
communities of a month add up to what `统计` says.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func
from sqlalchemy import select as columns_select
from sqlmodel import Session, col

from domain.enums import HardshipState
from storage.models import HardshipApplication
from storage.month_tally import tallies
from storage.stats import Due, rate


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
    """Each community that owed or filed a report of `dues`, by name."""
    due_of: dict[str, int] = {}
    filed_of: dict[str, int] = {}
    for month in tallies(session, dues):
        for row in month:
            due_of[row.community] = due_of.get(row.community, 0) + row.due
            filed_of[row.community] = filed_of.get(row.community, 0) + row.submitted
    names = sorted(name for name in due_of if due_of[name] or filed_of[name])
    return [CommunityCoverage(name, due_of[name], filed_of[name]) for name in names]


def applications_by_state(session: Session) -> list[tuple[HardshipState, int]]:
    """Every application as it stands now, counted by state in the workflow's order (states with none left out)."""
    state = col(HardshipApplication.state)
    counted = dict(session.execute(columns_select(state, func.count()).group_by(state)).all())
    return [(known, int(counted[known])) for known in HardshipState if counted.get(known)]
