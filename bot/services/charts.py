"""The work summary's charts, from the data of its period: the share of monthly reports filed and the labour-dispute
warnings by level, month by month, as PNG pictures for the Word file.

matplotlib is imported inside the functions that draw (with the Agg canvas: no display, no pyplot state shared
between threads): a chat worker imports this module with the summary handler, but matplotlib and NumPy cost tens
of megabytes that only the rare `总结` needs.

The labels are Chinese, and matplotlib's own face (DejaVu Sans) has no CJK glyphs: it would draw boxes. The face is
found by family name through matplotlib's font manager, Noto Sans CJK SC or Noto Serif CJK SC from Debian's
fonts-noto-cjk; without either, drawing stops with `MissingFont`, which names the package, rather than hand in a
chart of boxes. The words come from `templates/summary/charts.j2`.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING

from bot.services import render
from domain.enums import WarningLevel

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties

CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Serif CJK SC")
CJK_PACKAGE = "fonts-noto-cjk"
WORDS = "summary/charts.j2"
LEVEL_COLOURS = {WarningLevel.GENERAL: "#4C78A8", WarningLevel.SERIOUS: "#F58518", WarningLevel.MAJOR: "#C0392B"}
SIZE_INCHES = (6.0, 3.2)  # about the text block's width (156 mm) at a readable height
DPI = 200


class MissingFont(RuntimeError):
    """No CJK face that matplotlib can use is installed."""


@dataclass(frozen=True)
class MonthlySeries:
    """Month keys ("2024-01") with, for each, the report rate in % (None before the month's reports were asked
    for, or when no enterprise owed one) and the warnings reported at each level."""

    months: tuple[str, ...]
    report_rate: tuple[Decimal | None, ...]
    warnings: dict[WarningLevel, tuple[int, ...]]


@cache
def words() -> dict[str, str]:
    return dict(render.pairs(WORDS))


def cjk_font() -> str:
    """The first of `CJK_FAMILIES` matplotlib knows; fonts installed after it cached its list are looked for too."""
    from matplotlib import font_manager

    manager = font_manager.fontManager
    for rescan in (False, True):
        if rescan:
            known = {entry.fname for entry in manager.ttflist}
            for path in sorted(set(font_manager.findSystemFonts()) - known):
                manager.addfont(path)
        names = {entry.name for entry in manager.ttflist}
        found = next((family for family in CJK_FAMILIES if family in names), None)
        if found is not None:
            return found
    raise MissingFont(
        f"the charts need a CJK font ({' or '.join(CJK_FAMILIES)}) and none is installed: "
        f"install Debian's {CJK_PACKAGE} (apt-get install -y {CJK_PACKAGE})"
    )


def _figure() -> tuple[Figure, Axes, FontProperties]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties

    font = FontProperties(family=cjk_font(), size=10)
    figure = Figure(figsize=SIZE_INCHES, dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.spines[["top", "right"]].set_visible(False)
    axes.grid(axis="y", color="#DDDDDD", linewidth=0.6)
    axes.set_axisbelow(True)
    return figure, axes, font


def _finish(figure: Figure, axes: Axes, font: FontProperties, months: tuple[str, ...], title: str, unit: str) -> bytes:
    axes.set_xticks(range(len(months)), [words()["month"].format(month=int(key[5:])) for key in months])
    for label in [*axes.get_xticklabels(), *axes.get_yticklabels()]:
        label.set_fontproperties(font)
    axes.set_title(title, fontproperties=font, fontsize=12)
    axes.set_ylabel(unit, fontproperties=font)
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()


def report_rate_png(series: MonthlySeries) -> bytes:
    """Bars of the monthly report rate, labelled with the rate; a month not asked for yet says so."""
    figure, axes, font = _figure()
    rates = [float(rate) if rate is not None else 0.0 for rate in series.report_rate]
    bars = axes.bar(range(len(rates)), rates, color="#4C78A8", width=0.6)
    labels = [f"{rate}%" if rate is not None else words()["rate_pending"] for rate in series.report_rate]
    axes.bar_label(bars, labels, padding=2, fontproperties=font)
    axes.set_ylim(0, 110)
    axes.set_yticks(range(0, 101, 20))
    return _finish(figure, axes, font, series.months, words()["rate_title"], words()["rate_axis"])


def warning_levels_png(series: MonthlySeries) -> bytes:
    """Bars of the warnings reported each month, stacked by level."""
    from matplotlib.ticker import MaxNLocator

    figure, axes, font = _figure()
    base = [0] * len(series.months)
    for level in WarningLevel:
        counts = series.warnings[level]
        axes.bar(range(len(counts)), counts, bottom=base, color=LEVEL_COLOURS[level], width=0.6, label=level.value)
        base = [below + count for below, count in zip(base, counts, strict=True)]
    axes.set_ylim(0, max(max(base), 1) * 1.15)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.legend(prop=font, frameon=False, loc="upper left", bbox_to_anchor=(1, 1))  # beside the bars, never on one
    return _finish(figure, axes, font, series.months, words()["warnings_title"], words()["warnings_axis"])
