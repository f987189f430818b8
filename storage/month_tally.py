"""Report coverage (应报 / 已报 / 按时报) and report totals of some months, from one tally per month.

A month's tally counts, by 社区, the enterprises that owed its report (`stats.on_roster`), the latest revisions they
filed, the first revisions filed before the deadline, and the sums of the report's figures over those latest
revisions. Every view adds tallies up, so `统计`, the digest, the summary and the desk's chart and 社区 table count
the same way; a tally is memoised (`storage.figure_memo`) until that month's reports or the roster change, so a
closed month is counted once, not on every request.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, case, exists, func, or_, true, union_all
from sqlalchemy import select as columns_select
from sqlmodel import Session, col

from storage import figure_memo, stats
from storage.models import Enterprise, MonthlyReport
from storage.stats import FLOWS, STOCKS, Due, on_roster, owed_reports

FIGURES = (*FLOWS, *STOCKS)


@dataclass(frozen=True)
class CommunityTally:
    """One 社区's part of a month: who owed, who filed, who filed in time, and their figures summed."""

    community: str
    due: int
    submitted: int
    on_time: int
    sums: dict[str, Decimal]


@dataclass(frozen=True)
class Coverage:
    """应报 / 已报 / 按时报 over some months (docs/figures.md): each report counts for the month it is of."""

    months: int
    due: int  # 应报: Σ over the months of the enterprises that owed that month's report
    submitted: int  # 已报: of those, the reports filed (in their latest revision)
    on_time: int  # 按时报: of those, the ones whose first revision came before the deadline


@dataclass(frozen=True)
class ReportTotals:
    """Totals of the latest revisions of the reports owed in some months (docs/figures.md §2)."""

    reports: int
    enterprises: int
    flows: dict[str, Decimal]
    stocks: dict[str, Decimal]


def _tally_key(due: Due) -> str:
    return f"tally:{due.month}:{due.by.isoformat()}"


def _compute(session: Session, due: Due) -> dict[str, Any]:
    """Two grouped passes: the roster for 应报, the month's reports joined to it for the rest."""
    community = col(Enterprise.community)
    owed_rows = session.execute(columns_select(community, func.count()).where(on_roster(due)).group_by(community))
    latest = col(MonthlyReport.is_latest) == true()
    in_time = and_(col(MonthlyReport.revision) == 1, col(MonthlyReport.submitted_at) < due.by)
    sums = [func.sum(case((latest, getattr(MonthlyReport, name)))) for name in FIGURES]
    filed_rows = session.execute(
        columns_select(community, func.count(case((latest, 1))), func.count(case((in_time, 1))), *sums)
        .select_from(MonthlyReport)
        .join(Enterprise, col(Enterprise.id) == col(MonthlyReport.enterprise_id))
        .where(col(MonthlyReport.period) == due.month, on_roster(due), or_(latest, in_time))
        .group_by(community)
    )
    rows: dict[str, list[Any]] = {str(name): [int(count), 0, 0, ["0"] * len(FIGURES)] for name, count in owed_rows}
    for name, submitted, on_time, *values in filed_rows:
        row = rows.setdefault(str(name), [0, 0, 0, []])
        row[1:] = [int(submitted), int(on_time), [str(value or 0) for value in values]]
    return {"communities": [[name, *row] for name, row in sorted(rows.items())]}


def tallies(session: Session, dues: Sequence[Due]) -> list[list[CommunityTally]]:
    """Each month's tally by 社区 (sorted by name), recalled where its reports and the roster are unchanged."""
    wanted = {_tally_key(due): (figure_memo.report_scope(due.month), figure_memo.ROSTER) for due in dues}
    by_key = {_tally_key(due): due for due in dues}
    values = figure_memo.memoised(session, wanted, lambda key: _compute(session, by_key[key]))
    return [
        [
            CommunityTally(name, due, submitted, on_time, dict(zip(FIGURES, map(Decimal, sums), strict=True)))
            for name, due, submitted, on_time, sums in values[_tally_key(due)]["communities"]
        ]
        for due in dues
    ]


def coverage(session: Session, dues: Sequence[Due]) -> Coverage:
    rows = [row for month in tallies(session, dues) for row in month]
    return Coverage(
        len(dues),
        sum(row.due for row in rows),
        sum(row.submitted for row in rows),
        sum(row.on_time for row in rows),
    )


def coverage_by_month(session: Session, dues: Sequence[Due]) -> list[Coverage]:
    """`coverage` of each month on its own, in the order of `dues` (the desk's chart, the appendix's rates)."""
    return [
        Coverage(1, sum(r.due for r in month), sum(r.submitted for r in month), sum(r.on_time for r in month))
        for month in tallies(session, dues)
    ]


def missing_count(session: Session, dues: Sequence[Due]) -> int:
    """Enterprises that owed some month of `dues` and have not filed it. For one month that is 应报 − 已报 (an
    enterprise has at most one latest report a month); over several it takes `stats.missing_count`'s pass."""
    if len(dues) != 1:
        return stats.missing_count(session, dues)
    month = coverage(session, dues)
    return month.due - month.submitted


def report_totals(session: Session, dues: Sequence[Due]) -> ReportTotals:
    """Flows add up over the months; stocks are each enterprise's last owed report (the last month's own tally
    when the period is one month)."""
    months = tallies(session, dues)
    rows = [row for month in months for row in month]
    reports = sum(row.submitted for row in rows)
    flows = {name: sum((row.sums[name] for row in rows), Decimal(0)) for name in FLOWS}
    if len(dues) <= 1:
        stocks = {name: sum((row.sums[name] for row in rows), Decimal(0)) for name in STOCKS}
        return ReportTotals(reports=reports, enterprises=reports, flows=flows, stocks=stocks)
    enterprises, stocks = _period_end_stocks(session, dues)
    return ReportTotals(reports=reports, enterprises=enterprises, flows=flows, stocks=stocks)


def _period_end_stocks(session: Session, dues: Sequence[Due]) -> tuple[int, dict[str, Decimal]]:
    found = figure_memo.over_months(session, "stocks", dues, lambda: _last_stocks(session, dues))
    return int(found["enterprises"] or 0), {name: Decimal(found[name] or 0) for name in STOCKS}


def _last_stocks(session: Session, dues: Sequence[Due]) -> dict[str, figure_memo.Figure]:
    """Each enterprise's last owed report in the months of `dues`.

    PostgreSQL takes the last month as it stands (most enterprises report every month) and probes
    `ux_report_revision` (LATERAL) only for the enterprises missing from it: a third of the time of probing every
    enterprise. SQLite has no LATERAL and ranks the owed rows with a window function instead.
    """
    last = dues[-1]
    stocks = [getattr(MonthlyReport, name) for name in STOCKS]
    owned_latest = and_(col(MonthlyReport.is_latest) == true(), owed_reports(dues))
    if session.get_bind().dialect.name == "postgresql":
        in_last_month = and_(
            col(MonthlyReport.period) == last.month, col(MonthlyReport.is_latest) == true(), on_roster(last)
        )
        earlier = (
            columns_select(*stocks)
            .where(col(MonthlyReport.enterprise_id) == col(Enterprise.id), owned_latest)
            .order_by(col(MonthlyReport.period).desc())
            .limit(1)
            .lateral("last_report")
        )
        reported_last = exists().where(
            col(MonthlyReport.enterprise_id) == col(Enterprise.id),
            col(MonthlyReport.period) == last.month,
            col(MonthlyReport.is_latest) == true(),
        )
        source: Any = union_all(
            columns_select(*stocks)
            .join(Enterprise, col(Enterprise.id) == col(MonthlyReport.enterprise_id))
            .where(in_last_month),
            columns_select(*(earlier.c[name] for name in STOCKS))
            .select_from(Enterprise)
            .join(earlier, true())
            .where(~and_(reported_last, on_roster(last))),
        ).subquery("period_end")
        query = columns_select(func.count(), *_sums(source))
    else:
        rank = func.row_number().over(
            partition_by=col(MonthlyReport.enterprise_id), order_by=col(MonthlyReport.period).desc()
        )
        ranked = (
            columns_select(*stocks, rank.label("rank"))
            .select_from(MonthlyReport)
            .join(Enterprise, col(Enterprise.id) == col(MonthlyReport.enterprise_id))
            .where(owned_latest)
            .subquery()
        )
        query = columns_select(func.count(), *_sums(ranked)).where(ranked.c.rank == 1)
    row = session.execute(query).one()
    found: dict[str, figure_memo.Figure] = {"enterprises": int(row[0])}
    found.update((name, Decimal(value or 0)) for name, value in zip(STOCKS, row[1:], strict=True))
    return found


def _sums(source: Any) -> list[Any]:
    return [func.coalesce(func.sum(source.c[name]), 0) for name in STOCKS]
