"""The dashboard's 12-month report-rate chart, laid out here and drawn by the template as inline SVG.

No script and no chart library: the bars are plain SVG rectangles in a viewBox that scales with the page, each a
link to that month's reports, with the numbers written on them so the chart reads without colour or hover.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from domain.periods import Month

WIDTH, HEIGHT = 720, 240
LEFT, RIGHT, TOP, BOTTOM = 40, 8, 22, 30  # room for the axis labels and the numbers above the bars
GRID = (0, 25, 50, 75, 100)


@dataclass(frozen=True)
class Bar:
    month: Month
    rate: Decimal | None  # None: nothing was due that month
    x: float
    y: float
    width: float
    height: float

    @property
    def centre(self) -> float:
        return self.x + self.width / 2


@dataclass(frozen=True)
class Line:
    """A horizontal grid line at `percent`."""

    percent: int
    y: float


@dataclass(frozen=True)
class RateChart:
    width: int
    height: int
    left: int
    right: float
    baseline: float
    bars: list[Bar]
    grid: list[Line]


def _y(percent: Decimal | int) -> float:
    return TOP + (HEIGHT - TOP - BOTTOM) * (1 - float(percent) / 100)


def rate_chart(months: list[tuple[Month, Decimal | None]]) -> RateChart:
    """Bars for `months` (oldest first) on a 0–100 % scale."""
    slot = (WIDTH - LEFT - RIGHT) / max(len(months), 1)
    width = slot * 0.6
    baseline = _y(0)
    bars = []
    for index, (month, rate) in enumerate(months):
        top = _y(rate or 0)
        bars.append(Bar(month, rate, LEFT + index * slot + (slot - width) / 2, top, width, baseline - top))
    return RateChart(WIDTH, HEIGHT, LEFT, WIDTH - RIGHT, baseline, bars, [Line(p, _y(p)) for p in GRID])
