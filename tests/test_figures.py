"""Staff-entered figures: period codes, values as staff type them, and one stored value per key and period."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from bot.services import summary as work_summary
from config import summary as summary_config
from domain.normalize import ParseError, parse_period
from storage import figures
from storage.db import Database
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
