"""How a moment is written for a person: always in the federation's zone, in one of a few fixed layouts.

The database keeps aware UTC; replies, case logs, CLI output, exports and documents show local time, and every
one of them formats it here so no reader is shown UTC by accident.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

MINUTE = "%Y-%m-%d %H:%M"
DAY = "%Y-%m-%d"
STAMP = "%Y%m%d%H%M%S"


def local(moment: datetime, zone: ZoneInfo) -> datetime:
    """`moment` on the federation's wall clock. A naive value is refused: Python would read it in the host's zone."""
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment.isoformat()} has no zone to convert from")
    return moment.astimezone(zone)


def days_between(since: datetime, now: datetime, zone: ZoneInfo) -> int:
    """Whole days from `since` to `now` on the federation's calendar (0 on the same day): how long a case has
    been open or waiting, as staff count it."""
    return (local(now, zone).date() - local(since, zone).date()).days


def minute(moment: datetime, zone: ZoneInfo) -> str:
    """2026-11-25 10:00"""
    return local(moment, zone).strftime(MINUTE)


def day(moment: datetime, zone: ZoneInfo) -> str:
    """2026-11-25"""
    return local(moment, zone).strftime(DAY)


def stamp(moment: datetime, zone: ZoneInfo) -> str:
    """20261125100000, for file names that sort by time."""
    return local(moment, zone).strftime(STAMP)


def chinese_minute(moment: datetime, zone: ZoneInfo) -> str:
    """2026年11月25日 10:00"""
    return wall_chinese_minute(local(moment, zone))


def wall_chinese_minute(wall: datetime) -> str:
    """A time already on the wall clock (a typed form answer), as 2026年11月25日 10:00."""
    return f"{chinese_day(wall.date())} {wall:%H:%M}"


def chinese_day(value: date) -> str:
    """2026年11月25日"""
    return f"{value.year}年{value.month}月{value.day}日"


def month_day(value: date) -> str:
    """11月3日, where the year goes without saying"""
    return f"{value.month}月{value.day}日"


def span(opened: datetime, closed: datetime, zone: ZoneInfo) -> dict[str, object]:
    """A closed case's dates and length on the wall clock: 受理 11月3日，结案 11月20日，历时 17 天."""
    start, end = local(opened, zone).date(), local(closed, zone).date()
    return {"opened": month_day(start), "closed": month_day(end), "days": (end - start).days}
