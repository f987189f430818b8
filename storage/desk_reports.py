"""The desk's 月报 list: one month's reports by enterprise, in the words of `统计` and `未报`.

An enterprise is listed when it owed the month (`storage.stats.on_roster`, 应报); it has filed (已报) when its
latest revision exists, and filed late when its first revision came at or after the deadline (not 按时报). So the
list's counts by status are the `统计` figures of the month, and its 未报 rows are `未报`'s enterprises.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, false, func, true
from sqlalchemy import select as columns_select
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from storage.models import Enterprise, MonthlyReport
from storage.month_tally import tallies
from storage.stats import Due, chairs_of, name_or_credit_code, on_roster


class Filed(StrEnum):
    ALL = "all"
    MISSING = "missing"
    FILED = "filed"
    LATE = "late"


@dataclass(frozen=True)
class Filter:
    """What the page's query string asks for; `text` is a part of the name or a whole credit code."""

    status: Filed = Filed.ALL
    text: str = ""
    community: str = ""


@dataclass(frozen=True)
class MonthRow:
    enterprise_id: int
    name: str
    community: str
    chairs: list[str]
    report_id: int | None  # the latest revision
    revisions: int
    filed_at: datetime | None  # the first revision: whether it came on time
    on_time: bool | None


_latest = aliased(MonthlyReport, name="latest")
_first = aliased(MonthlyReport, name="first")


def _joined(query: Any, month: str) -> Any:
    latest_on = and_(
        col(_latest.enterprise_id) == col(Enterprise.id),
        col(_latest.period) == month,
        col(_latest.is_latest) == true(),
    )
    first_on = and_(
        col(_first.enterprise_id) == col(Enterprise.id), col(_first.period) == month, col(_first.revision) == 1
    )
    return query.outerjoin(_latest, latest_on).outerjoin(_first, first_on)


def _report_of(month: str, *clauses: ColumnElement[bool]) -> ColumnElement[bool]:
    """The enterprise (of the outer query) has a report of `month` such that `clauses`: probed per enterprise
    through `ux_report_revision`, so a page walks the name index and stops after a page of matches."""
    own = and_(col(MonthlyReport.enterprise_id) == col(Enterprise.id), col(MonthlyReport.period) == month)
    return exists().where(own, *clauses)


def _where(due: Due | None, wanted: Filter) -> list[ColumnElement[bool]]:
    if due is None:
        return [false()]
    clauses = [on_roster(due)]
    filed = _report_of(due.month, col(MonthlyReport.is_latest) == true())
    if wanted.status is Filed.MISSING:
        clauses.append(~filed)
    elif wanted.status is Filed.FILED:
        clauses.append(filed)
    elif wanted.status is Filed.LATE:  # every filed report has its first revision: late is when that came
        clauses.append(
            _report_of(due.month, col(MonthlyReport.revision) == 1, col(MonthlyReport.submitted_at) >= due.by)
        )
    text = wanted.text.strip()
    if text:
        clauses.append(name_or_credit_code(text))
    if wanted.community:
        clauses.append(col(Enterprise.community) == wanted.community)
    return clauses


def status_counts(session: Session, due: Due | None, community: str = "") -> dict[Filed, int]:
    """How many enterprises of the month (of one 社区 when named) each status lists: the month's tally."""
    rows = [row for row in tallies(session, [due])[0] if not community or row.community == community] if due else []
    owed, filed, on_time = (sum(getattr(row, name) for row in rows) for name in ("due", "submitted", "on_time"))
    return {Filed.ALL: owed, Filed.FILED: filed, Filed.LATE: filed - on_time, Filed.MISSING: owed - filed}


def count_month(session: Session, month: str, due: Due | None, wanted: Filter) -> int:
    """The length of the list `wanted` asks for: counted from the tally unless a name narrows it."""
    if not wanted.text.strip():
        return status_counts(session, due, wanted.community)[wanted.status]
    query = columns_select(func.count()).select_from(Enterprise).where(*_where(due, wanted))
    return int(session.execute(query).scalar_one())


def month_rows(
    session: Session, month: str, due: Due | None, wanted: Filter, offset: int, limit: int
) -> list[MonthRow]:
    """One page of the month's enterprises by name (as `未报` lists them), with their chairs' names: the page is
    chosen first, and only its enterprises' reports are looked up."""
    page = (
        columns_select(col(Enterprise.id))
        .where(*_where(due, wanted))
        .order_by(col(Enterprise.name), col(Enterprise.id))
        .offset(offset)
        .limit(limit)
        .subquery()
    )
    query = _joined(
        columns_select(
            col(Enterprise.id),
            col(Enterprise.name),
            col(Enterprise.community),
            col(_latest.id),
            col(_latest.revision),
            col(_first.submitted_at),
        ).join(page, page.c.id == col(Enterprise.id)),
        month,
    )
    rows = session.execute(query.order_by(col(Enterprise.name), col(Enterprise.id))).all()
    chairs = chairs_of(session, [row[0] for row in rows])
    return [
        MonthRow(
            enterprise_id=enterprise_id,
            name=name,
            community=community,
            chairs=chairs.get(enterprise_id, []),
            report_id=report_id,
            revisions=revision or 0,
            filed_at=filed_at,
            on_time=None if report_id is None or due is None else filed_at is not None and filed_at < due.by,
        )
        for enterprise_id, name, community, report_id, revision, filed_at in rows
    ]


def communities(session: Session) -> list[str]:
    """The 社区 the roster names, for the filter."""
    query = select(Enterprise.community).where(col(Enterprise.community) != "").distinct()
    return sorted(session.exec(query).all())


def has_filed(session: Session, enterprise_id: int, month: str) -> bool:
    query = select(MonthlyReport.id).where(
        col(MonthlyReport.enterprise_id) == enterprise_id,
        col(MonthlyReport.period) == month,
        col(MonthlyReport.is_latest) == true(),
    )
    return session.exec(query).first() is not None
