"""Every moment a person reads is the federation's wall clock, written by `domain.timefmt`."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from domain import timefmt

NINGBO = ZoneInfo("Asia/Shanghai")
# 23:30 UTC on the last day of January is already 1 February in Ningbo: a UTC date here would be a day off.
LATE = datetime(2026, 1, 31, 23, 30, tzinfo=UTC)


def test_moments_are_written_on_the_federations_wall_clock() -> None:
    assert timefmt.minute(LATE, NINGBO) == "2026-02-01 07:30"
    assert timefmt.day(LATE, NINGBO) == "2026-02-01"
    assert timefmt.stamp(LATE, NINGBO) == "20260201073000"
    assert timefmt.chinese_minute(LATE, NINGBO) == "2026年2月1日 07:30"


def test_wall_clock_values_are_written_as_they_are() -> None:
    assert timefmt.wall_chinese_minute(datetime(2026, 3, 1, 9, 5)) == "2026年3月1日 09:05"
    assert timefmt.chinese_day(date(2026, 12, 31)) == "2026年12月31日"


def test_a_naive_moment_is_refused_rather_than_read_in_the_hosts_zone() -> None:
    with pytest.raises(ValueError, match="naive"):
        timefmt.minute(datetime(2026, 1, 31, 23, 30), NINGBO)
