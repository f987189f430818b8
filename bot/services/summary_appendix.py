"""What the work summary's Word file carries after its text, so the federation can hand in figures a reviewer can
trace: every figure with its value, how it is computed and where it comes from, and the two monthly charts.

A `Summary` holds each figure's printed value; its name, unit and whether staff enter it come from
config/summary.yaml, its formula and source from templates/summary/figure_notes.j2 (one line per figure, worded
with the other texts; `staff` covers every figure staff enter, `data` one not described yet).
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from bot.services import charts, document, figures, render
from bot.services import summary as work_summary
from config.settings import Settings
from domain import timefmt

NOTES = "summary/figure_notes.j2"
NOTE_SEPARATOR = "｜"


def notes(config: work_summary.SummaryConfig) -> dict[str, tuple[str, str]]:
    """Figure key → (formula, source)."""
    found = {}
    for key, text in render.pairs(NOTES, cfg=config):
        formula, _, source = text.partition(NOTE_SEPARATOR)
        found[key] = (formula.strip(), source.strip())
    return found


def _unit(key: str) -> str:
    if key in work_summary.WAN:
        return "万元"
    if key in work_summary.YUAN:
        return "元"
    return "%" if key in work_summary.PCT else ""


def rows(summary: work_summary.Summary) -> list[document.FigureRow]:
    """The figures computed from the data in the order of the definitions, then those staff enter; one not known
    yet shows the summary's own mark (【待填：…】, 【待月报：…】, 【待名册：…】), which says who supplies it."""
    config = work_summary.summary_config()
    described = notes(config)
    entered = document.words()["text_entered"]
    found = []
    for key in config.labels:
        value = summary.figures.get(key)
        shown = config.mark(key) if value is None else f"{value}{_unit(key)}"
        formula, source = described.get(key, described["data"])
        found.append(document.FigureRow(key, config.labels[key], shown, formula, source))
    for key, spec in config.staff_figures.items():
        value = summary.figures.get(key)
        shown = config.mark(key) if value is None else entered if spec.kind == "text" else f"{value}{spec.unit}"
        formula, source = described.get(key, described["staff"])
        found.append(document.FigureRow(key, spec.label, shown, formula, source))
    return found


def pictures(series: charts.MonthlySeries) -> list[document.Picture]:
    caption = document.words()["figure"]
    drawn = [
        (charts.words()["rate_title"], charts.report_rate_png(series)),
        (charts.words()["warnings_title"], charts.warning_levels_png(series)),
    ]
    return [
        document.Picture(caption.format(number=number, title=title), png)
        for number, (title, png) in enumerate(drawn, start=1)
    ]


def appendix(session: Session, summary: work_summary.Summary, settings: Settings, now: datetime) -> document.Appendix:
    """The table of figures and the charts of the summary's period, as the data stood at `now`."""
    today = timefmt.local(now, settings.zone).date()
    series = figures.monthly_series(session, summary.period, settings, today)
    return document.Appendix(rows(summary), pictures(series))
