"""Staff-entered figures: period codes, values as staff type them, and one stored value per key and period."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError
from sqlmodel import Session

from bot.services import figures as period_figures_module
from bot.services import summary as work_summary
from config import summary as summary_config
from domain.normalize import ParseError, parse_period
from storage import figures
from storage.db import Database
from storage.models import CaseEvent, Enterprise
from tests import staff_factories as f
from tests.conftest import make_settings
from tests.harness import NOW

TODAY = date(2030, 1, 1)


def test_period_codes() -> None:
    assert figures.period_code(date(2024, 1, 1), date(2024, 6, 30)) == "2024H1"
    assert figures.period_code(date(2024, 7, 1), date(2024, 12, 31)) == "2024H2"
    assert figures.period_code(date(2024, 4, 1), date(2024, 6, 30)) == "2024Q2"
    assert figures.period_code(date(2024, 6, 1), date(2024, 6, 30)) == "2024-06"
    assert figures.period_code(date(2024, 1, 1), date(2024, 12, 31)) == "2024"
    assert figures.period_code(date(2024, 3, 1), date(2024, 8, 31)) == "2024-03..2024-08"


@given(st.integers(2000, 2029), st.sampled_from(["H1", "H2", "Q1", "Q2", "Q3", "Q4", ""]))
def test_a_period_code_reads_back_as_the_same_period(year: int, suffix: str) -> None:
    period = parse_period(f"{year}{suffix}" if suffix else f"{year}年", today=TODAY)
    assert figures.period_code(period.start, period.end) == f"{year}{suffix}"


@given(st.integers(2000, 2029), st.integers(1, 12))
def test_a_month_code_is_the_report_period(year: int, month: int) -> None:
    period = parse_period(f"{year}年{month}月", today=TODAY)
    assert figures.period_code(period.start, period.end) == f"{year}-{month:02d}"


NUMBER = work_summary.StaffFigureSpec(label="x", unit="家")
MONTH = work_summary.StaffFigureSpec(label="x", unit="月", kind="month")
TEXT = work_summary.StaffFigureSpec(label="x", unit="", kind="text")


@given(st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False, allow_infinity=False))
def test_any_non_negative_number_is_stored_exactly(value: Decimal) -> None:
    assert Decimal(work_summary.parse_staff_value(NUMBER, str(value))) == value


@given(st.integers(1, 12))
def test_months_are_one_to_twelve(month: int) -> None:
    assert work_summary.parse_staff_value(MONTH, str(month)) == str(month)


@pytest.mark.parametrize(
    ("spec", "text", "reason"),
    [
        (NUMBER, "-1", "negative"),
        (NUMBER, "很多", "not_a_number"),
        (MONTH, "13", "too_large"),
        (MONTH, "0", "too_small"),
    ],
)
def test_bad_values_are_refused_with_a_reason(spec: work_summary.StaffFigureSpec, text: str, reason: str) -> None:
    with pytest.raises(ParseError) as caught:
        work_summary.parse_staff_value(spec, text)
    assert caught.value.reason == reason


def test_text_figures_keep_what_was_typed() -> None:
    assert work_summary.parse_staff_value(TEXT, " 一是……；二是…… ") == "一是……；二是……"
    with pytest.raises(ParseError):
        work_summary.parse_staff_value(TEXT, "长" * 1501)


def test_a_key_is_found_by_name_or_label() -> None:
    assert work_summary.staff_spec("mutual_aid_retired") == work_summary.staff_spec("退休参保人数")
    assert work_summary.staff_spec("【待填：退休参保人数】") == work_summary.staff_spec("退休参保人数")
    assert work_summary.staff_spec("退休") is None
    assert work_summary.staff_spec("【待月报：在职参保人数】") is None  # computed: corrected at its source


@pytest.mark.parametrize(
    ("key", "label"),
    [
        ("new_unions", "新建 企业工会数"),
        ("new_unions", "退休参保人数"),
        ("new_unions", "工会组建率"),
        ("new_unions", ""),
    ],
)
def test_config_refuses_a_label_a_mark_could_not_be_entered_by(key: str, label: str) -> None:
    """`数据 标签 数值` splits on spaces and finds one figure per label: the config must keep that possible."""
    raw = yaml.safe_load(summary_config.CONFIG_FILE.read_text(encoding="utf-8"))
    summary_config.SummaryConfig.model_validate(raw)
    raw["staff_figures"][key]["label"] = label
    with pytest.raises(ValidationError):
        summary_config.SummaryConfig.model_validate(raw)


def test_setting_a_figure_again_replaces_it(db: Database) -> None:
    now = NOW
    with db.transaction() as session:
        assert figures.set_figure(session, "new_unions", "2024H1", "7", "家", "a", now)
        assert not figures.set_figure(session, "new_unions", "2024H1", "7", "家", "a", now)
        assert figures.set_figure(session, "new_unions", "2024H1", "8", "家", "b", now)
        assert figures.set_figure(session, "new_unions", "2024H2", "1", "家", "b", now)
    with db.transaction() as session:
        rows = figures.list_figures(session, "2024H1")
        assert [(r.key, r.value, r.set_by) for r in rows] == [("new_unions", "8", "b")]
        assert figures.figures_for(session, "2024H2") == {"new_unions": "1"}


# -- The figures module's definitions (docs/figures.md) on rows made directly --------------------------------------

LATE_YEAR = date(2025, 2, 1)  # every month of 2024 has been asked for


def _figures_of(db: Database, database_url: str, period: str) -> period_figures_module.SummaryFigures:
    settings = make_settings(database_url, "http://127.0.0.1:9")
    with db.transaction() as session:
        return period_figures_module.summary_figures_of(
            session, parse_period(period, today=LATE_YEAR), settings, LATE_YEAR
        )


def _company(session: Session, name: str, since: datetime = datetime(2023, 1, 1, tzinfo=UTC)) -> Enterprise:
    company = f.enterprise(session, name)
    company.created_at = since
    session.add(company)
    return company


def test_year_to_date_card_figures_are_the_last_answer_not_a_sum(db: Database, database_url: str) -> None:
    """The form asks 5.1服务卡 as 今年 (year to date) in June and December: December's answer already holds June's."""
    with db.transaction() as session:
        company = _company(session, "卡公司")
        f.report(session, company, "2023-12", card_collected=100, card_issued=50)
        f.report(session, company, "2024-06", card_collected=60, card_issued=30)
        f.report(session, company, "2024-12", card_collected=90, card_issued=45)
    found = _figures_of(db, database_url, "2024年下半年").by_key
    assert (found["card_info_collected_ytd"], found["card_issued_ytd"]) == (90, 45)
    assert (found["card_info_collected_cumulative"], found["card_issued_cumulative"]) == (190, 95)
    first_half = _figures_of(db, database_url, "2024年上半年").by_key
    assert (first_half["card_info_collected_ytd"], first_half["card_info_collected_cumulative"]) == (60, 160)


def test_mutual_aid_is_read_from_the_month_that_asks_it(db: Database, database_url: str) -> None:
    """Asked in April only (config/reporting.yaml): a half-year whose last report is June still states April's."""
    with db.transaction() as session:
        company = _company(session, "互助公司")
        f.report(session, company, "2024-04", employees=50, mutual_aid_in_service=50, mutual_aid_ankang=10)
        f.report(session, company, "2024-06", employees=55)
    for period in ("2024年上半年", "2024年下半年"):
        found = _figures_of(db, database_url, period).by_key
        assert (found["mutual_aid_in_service"], found["mutual_aid_ankang"], found["mutual_aid_units"]) == (50, 10, 1)
        assert found["mutual_aid_full_units"] == 1, period


def test_reports_an_enterprise_did_not_owe_add_to_no_total(db: Database, database_url: str) -> None:
    """Totals count the reports 应报 counts: 新公司 joined the roster after March's due day."""
    with db.transaction() as session:
        old = _company(session, "老公司")
        new = _company(session, "新公司", since=datetime(2024, 4, 20, tzinfo=UTC))
        f.report(session, old, "2024-03", employees=10, members=8, new_members=1, payroll=Decimal(1000))
        f.report(session, new, "2024-03", employees=70, members=60, new_members=9, payroll=Decimal(9000))
    found = _figures_of(db, database_url, "2024年3月").figures
    assert (found.cover.due, found.cover.submitted) == (1, 1)
    assert found.totals.reports == 1 and found.totals.stocks == {"employees": 10, "members": 8}
    assert found.totals.flows["new_members"] == 1 and found.totals.flows["payroll"] == 1000
    quarter = _figures_of(db, database_url, "2024年第一季度").figures
    assert quarter.totals.enterprises == 1 and quarter.totals.stocks == {"employees": 10, "members": 8}


def test_cases_count_in_their_state_at_the_period_end(db: Database, database_url: str) -> None:
    """A warning resolved after the period was still open at its end; an application approved later was pending."""
    with db.transaction() as session:
        company = _company(session, "案件公司")
        warning = f.warning(session, company, datetime(2024, 3, 5, 2, tzinfo=UTC))
        session.add(
            CaseEvent(
                case_kind="warning", case_id=warning.id or 0, to_state="submitted", actor="w", at=warning.created_at
            )
        )
        session.add(
            CaseEvent(
                case_kind="warning",
                case_id=warning.id or 0,
                to_state="resolved",
                actor="s",
                at=datetime(2024, 4, 2, 2, tzinfo=UTC),
            )
        )
        warning.state = "resolved"
        session.add(warning)
    march = _figures_of(db, database_url, "2024年3月").figures.warnings
    assert (march.received, march.handled, march.resolved) == (1, 0, 0)
    assert march.by_state == [("submitted", 1)]
    half = _figures_of(db, database_url, "2024年上半年").figures.warnings
    assert (half.received, half.handled, half.resolved) == (1, 1, 1)
