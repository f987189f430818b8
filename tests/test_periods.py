"""Months and periods: the calendar arithmetic every figure, reminder and label relies on."""

from __future__ import annotations

import itertools
from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from domain.normalize import parse_period
from domain.periods import Month, Period, current_half, due_on, opens_on, reporting_month

months = st.builds(Month, st.integers(min_value=1990, max_value=2100), st.integers(min_value=1, max_value=12))


class Days:
    report_open_day = 1
    report_due_day = 10


@given(months, st.integers(min_value=-400, max_value=400))
def test_shifting_there_and_back_is_the_same_month(month: Month, by: int) -> None:
    assert month.shift(by).shift(-by) == month
    assert Month.parse_key(month.key) == month


@given(months, months)
def test_a_period_lists_every_month_it_touches_once_in_order(a: Month, b: Month) -> None:
    first, last = min(a, b), max(a, b)
    listed = Period(first.first_day, last.last_day, "").months
    assert listed[0] == first and listed[-1] == last
    assert all(earlier.shift(1) == later for earlier, later in itertools.pairwise(listed))


def test_the_reporting_calendar_across_a_new_year() -> None:
    assert reporting_month(date(2025, 1, 5)) == Month(2024, 12)
    assert opens_on(Month(2024, 12), Days()) == date(2025, 1, 1)
    assert due_on(Month(2024, 12), Days()) == date(2025, 1, 10)
    assert Month(2024, 2).last_day == date(2024, 2, 29)
    assert Month(2024, 6).label == "2024年6月" and Month(2024, 6).key == "2024-06"


def test_an_empty_period_is_the_callers_default_and_anything_else_is_read() -> None:
    today = date(2024, 8, 20)
    assert parse_period("", today=today, default=current_half(today)).label == "2024年下半年"
    assert parse_period(" ", today=today, default=reporting_month(today).period).label == "2024年7月"
    assert parse_period("上半年", today=today, default=reporting_month(today).period).label == "2024年上半年"
