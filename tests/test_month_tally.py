"""Month tallies are kept between requests, and every write behind them, by any path, makes them counted again."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import text
from sqlmodel import Session, select

from bot.services import figures
from domain.normalize import parse_period
from storage.db import Database
from storage.models import Enterprise, FigureMemo
from tests import staff_factories as f
from tests.conftest import make_settings

LATER = date(2025, 2, 1)  # every month of 2024 has been asked for
SINCE = datetime(2023, 1, 1, tzinfo=UTC)


def _march(db: Database, database_url: str) -> figures.PeriodFigures:
    settings = make_settings(database_url, "http://127.0.0.1:9")
    with db.transaction() as session:
        return figures.period_figures(session, parse_period("2024年3月", today=LATER), settings, LATER)


def _company(session: Session, name: str) -> Enterprise:
    company = f.enterprise(session, name)
    company.created_at = SINCE
    session.add(company)
    return company


def _memo_stamps(db: Database) -> dict[str, str]:
    with db.transaction() as session:
        return {row.key: row.stamp for row in session.exec(select(FigureMemo))}


def test_a_month_is_counted_again_after_each_kind_of_write(db: Database, database_url: str) -> None:
    with db.transaction() as session:
        first, second = _company(session, "甲公司"), _company(session, "乙公司")
        f.report(session, first, "2024-03", employees=10, payroll=Decimal(1000))
    found = _march(db, database_url)
    assert (found.cover.due, found.cover.submitted, found.totals.flows["payroll"]) == (2, 1, 1000)

    with db.transaction() as session:
        f.report(session, second, "2024-03", employees=20, payroll=Decimal(500))
    assert (_march(db, database_url).cover.submitted, _march(db, database_url).totals.stocks["employees"]) == (2, 30)

    with db.transaction() as session:  # a correction written by hand, past every code path
        session.execute(text("UPDATE monthly_report SET payroll = 700 WHERE enterprise_id = :id"), {"id": second.id})
    assert _march(db, database_url).totals.flows["payroll"] == 1700

    with db.transaction() as session:  # 乙公司 left the roster before March's report fell due
        session.execute(
            text("UPDATE enterprise SET removed_at = :at WHERE id = :id"),
            {"at": datetime(2024, 3, 15, tzinfo=UTC), "id": second.id},
        )
    found = _march(db, database_url)
    assert (found.cover.due, found.cover.submitted, found.totals.flows["payroll"]) == (1, 1, 1000)


def test_a_closed_month_is_not_counted_again_for_another_months_reports(db: Database, database_url: str) -> None:
    with db.transaction() as session:
        company = _company(session, "丙公司")
        f.report(session, company, "2024-03", employees=10)
    _march(db, database_url)
    kept = _memo_stamps(db)
    assert len(kept) == 1 and "report:2024-03=1" in next(iter(kept.values()))

    with db.transaction() as session:
        f.report(session, company, "2024-04", employees=11)
    assert _march(db, database_url).cover.submitted == 1
    assert _memo_stamps(db) == kept
