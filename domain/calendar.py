"""The reporting calendar: the report for month M opens on day `report_open_day` of M+1 and is due on day
`report_due_day` of M+1 (both in settings). One place, so forms, reminders and staff queries agree."""

from __future__ import annotations

from datetime import date
from typing import Protocol


class ReportingDays(Protocol):
    """The two settings the calendar reads (`Settings` has them)."""

    @property
    def report_open_day(self) -> int: ...

    @property
    def report_due_day(self) -> int: ...


def month_key(year: int, month: int) -> str:
    return f"{year:04d}-{month:02d}"


def shift(period: str, months: int) -> str:
    """`2024-01` shifted by -1 is `2023-12`."""
    year, month = map(int, period.split("-"))
    index = year * 12 + month - 1 + months
    return month_key(index // 12, index % 12 + 1)


def reporting_period(today: date) -> str:
    """The month whose report is being collected now: last month."""
    return shift(month_key(today.year, today.month), -1)


def opens_on(period: str, settings: ReportingDays) -> date:
    year, month = map(int, shift(period, 1).split("-"))
    return date(year, month, settings.report_open_day)


def due_on(period: str, settings: ReportingDays) -> date:
    year, month = map(int, shift(period, 1).split("-"))
    return date(year, month, settings.report_due_day)


def label(period: str) -> str:
    year, month = map(int, period.split("-"))
    return f"{year}年{month}月"
