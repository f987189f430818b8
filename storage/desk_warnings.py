"""The desk's warning queue and its dashboard table: filtered, paged and counted in SQL, oldest case first.

A case's age is read from `created_at` (when it was reported) against instants the caller computes in the
federation's zone, so SQLite and PostgreSQL count alike without time-zone functions of their own.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, true
from sqlalchemy import select as columns_select
from sqlmodel import Session, col, select

from storage.models import DisputeWarning, Enterprise, Member


@dataclass(frozen=True)
class Window:
    """Reported at or after `since` and before `before` (either end open when None)."""

    since: datetime | None = None
    before: datetime | None = None

    def holds(self) -> ColumnElement[bool]:
        created = col(DisputeWarning.created_at)
        bounds = [
            *([created >= self.since] if self.since is not None else []),
            *([created < self.before] if self.before is not None else []),
        ]
        return and_(true(), *bounds)


@dataclass(frozen=True)
class QueueFilter:
    """What the queue shows: some states, optionally one level, a part of the enterprise's name, a reporting window."""

    states: Collection[str]
    level: str | None = None
    name: str = ""
    reported: Window = Window()


def _where(chosen: QueueFilter) -> list[ColumnElement[bool]]:
    found = [col(DisputeWarning.state).in_(chosen.states), chosen.reported.holds()]
    if chosen.level is not None:
        found.append(col(DisputeWarning.level) == chosen.level)
    if chosen.name:
        escaped = chosen.name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        found.append(col(Enterprise.name).like(f"%{escaped}%", escape="\\"))
    return found


def queue_count(session: Session, chosen: QueueFilter) -> int:
    query = (
        select(func.count())
        .select_from(DisputeWarning)
        .outerjoin(Enterprise, col(Enterprise.id) == col(DisputeWarning.enterprise_id))
        .where(*_where(chosen))
    )
    return int(session.exec(query).one())


def queue(session: Session, chosen: QueueFilter, offset: int, limit: int) -> list[tuple[DisputeWarning, str]]:
    """One page of the queue, oldest report first, with each enterprise's name ('' when not on the roster)."""
    rows = session.exec(
        select(DisputeWarning, func.coalesce(Enterprise.name, ""))
        .outerjoin(Enterprise, col(Enterprise.id) == col(DisputeWarning.enterprise_id))
        .where(*_where(chosen))
        .order_by(col(DisputeWarning.created_at), col(DisputeWarning.id))
        .offset(offset)
        .limit(limit)
    ).all()
    return [(warning, str(name)) for warning, name in rows]


def count_by_level_and_window(
    session: Session, states: Collection[str], windows: Sequence[Window]
) -> dict[tuple[str, int], int]:
    """Warnings in `states` counted by (level, index of the first of `windows` holding their report), in one pass."""
    if not windows:
        return {}
    band: Any = case(*((window.holds(), index) for index, window in enumerate(windows)), else_=None)
    rows = (
        columns_select(col(DisputeWarning.level).label("level"), band.label("band"))
        .where(col(DisputeWarning.state).in_(states))
        .subquery()
    )
    counted = session.execute(
        columns_select(rows.c.level, rows.c.band, func.count())
        .where(rows.c.band.is_not(None))
        .group_by(rows.c.level, rows.c.band)
    )
    return {(str(level), int(index)): int(count) for level, index, count in counted.all()}


def names(session: Session, openids: Collection[str]) -> dict[str, str]:
    """The names people gave at binding, for a case log that shows who acted rather than their openids."""
    if not openids:
        return {}
    rows = session.exec(select(Member.openid, Member.name).where(col(Member.openid).in_(openids))).all()
    return {openid: name for openid, name in rows if name}
