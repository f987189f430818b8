"""Months, periods and the reporting calendar: one place, so forms, reminders, staff queries, exports and the
summary agree on what "last month", "the half-year" and "the due day" mean.

A report month is a `Month`; it is stored as its `key` (`2024-06`). The report for month M opens on day
`report_open_day` of M+1 and is due on day `report_due_day` of M+1 (both settings). What people type for a
period is read by `domain.normalize.parse_period`, the one resolver of every period phrase.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import NamedTuple, Protocol
from zoneinfo import ZoneInfo


class Month(NamedTuple):
    """A calendar month; as a tuple it compares and sorts in time order, and equals `(year, month)`."""

    year: int
    month: int

    @classmethod
    def of(cls, day: date) -> Month:
        return cls(day.year, day.month)

    @classmethod
    def parse_key(cls, key: str) -> Month:
        """`2024-06`, as stored."""
        year, month = map(int, key.split("-"))
        return cls(year, month)

    @property
    def key(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def label(self) -> str:
        return f"{self.year}年{self.month}月"

    def shift(self, months: int) -> Month:
        """`2024-01` shifted by -1 is `2023-12`."""
        year, index = divmod(self.year * 12 + self.month - 1 + months, 12)
        return Month(year, index + 1)

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last_day(self) -> date:
        return date(self.year, self.month, calendar.monthrange(self.year, self.month)[1])

    @property
    def period(self) -> Period:
        return Period(self.first_day, self.last_day, self.label)


@dataclass(frozen=True)
class Period:
    """An inclusive date range plus the label echoed back, so staff see how their words were read."""

    start: date
    end: date
    label: str

    @property
    def months(self) -> list[Month]:
        return months_from(self.start, self.end)


def months_from(start: date, end: date) -> list[Month]:
    """Every month from the month of `start` to the month of `end`, in order."""
    first, last = Month.of(start), Month.of(end)
    return [first.shift(n) for n in range((last.year - first.year) * 12 + last.month - first.month + 1)]


class ReportingDays(Protocol):
    """The two settings the calendar reads (`Settings` has them)."""

    @property
    def report_open_day(self) -> int: ...

    @property
    def report_due_day(self) -> int: ...


def reporting_month(today: date) -> Month:
    """The month whose report is being collected now: last month."""
    return Month.of(today).shift(-1)


def opens_on(month: Month, days: ReportingDays) -> date:
    following = month.shift(1)
    return date(following.year, following.month, days.report_open_day)


def due_on(month: Month, days: ReportingDays) -> date:
    following = month.shift(1)
    return date(following.year, following.month, days.report_due_day)


def end_of(day: date, zone: ZoneInfo) -> datetime:
    """The instant `day` ends on the federation's wall clock, as aware UTC (how the database keeps time)."""
    return datetime.combine(day + timedelta(days=1), time(), zone).astimezone(UTC)


def report_deadline(month: Month, days: ReportingDays, zone: ZoneInfo) -> datetime:
    """The end of the due day of `month`'s report: who is on the roster then owes it; filed before it, on time."""
    return end_of(due_on(month, days), zone)


def half_year(year: int, half: int) -> Period:
    """The first (1) or second (2) half of `year`."""
    first, last = Month(year, half * 6 - 5), Month(year, half * 6)
    return Period(first.first_day, last.last_day, f"{year}年{'上' if half == 1 else '下'}半年")


def current_half(today: date) -> Period:
    """The half-year `today` falls in: what the summary and `数据` are about when no period is named."""
    return half_year(today.year, 1 if today.month <= 6 else 2)
