"""The half-year work summary: figures from the data and from staff, rendered through one editable template
(`templates/summary/work_summary.md.j2`) into Markdown, and the same text laid out as a Word document."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from sqlmodel import Session

from bot.services import document, figures, render
from bot.services.figures import staff_number
from config.settings import Settings
from config.summary import REPORTS_MARK, ROSTER_MARK
from config.summary import STAFF_MARK as STAFF_MARK
from config.summary import StaffFigureSpec as StaffFigureSpec
from config.summary import SummaryConfig as SummaryConfig
from config.summary import summary_config as summary_config
from domain import timefmt
from domain.normalize import parse_decimal, parse_integer, parse_text
from domain.periods import Period
from storage import figures as staff_figures
from storage.filestore import FileStore
from storage.summary_figures import Value

TEMPLATE = "summary/work_summary.md.j2"
DOCUMENTS = "documents"
# The three marks (templates/summary/work_summary.md.j2 explains them in its notes): staff enter the figure with
# `数据`; enterprises have not reported it in their monthly reports; the roster holds no enterprise to count.
BLANK_LINES = re.compile(r"\n{3,}")
# What the plan is called after a period (by its code's suffix: "2024H1" → "H1"); a month or quarter: 下一阶段.
NEXT = {"H1": "下半年", "H2": "明年", "": "明年"}
MARK = re.compile(f"【({STAFF_MARK}|{REPORTS_MARK}|{ROSTER_MARK})：([^】]+)】")

# How each figure is printed, following the unit its sentence uses (domain §1.0).
WAN = frozenset({"hardship_fund_total", "temporary_relief_paid", "amount_involved"})
YUAN = frozenset(
    {"festival_condolence_amount", "dues_accrued_large", "district_remit_amount", "subdistrict_remit_amount"}
)
# Rates, floored to one decimal by `figures` as `统计` prints them (never round a rate up).
PCT = frozenset(
    {
        "union_formation_rate",
        "success_rate",
        "hardship_fund_rate",
        "handling_rate",
        "reporting_rate",
        "strong_protection_target_pct",
    }
)


def _plain(value: Decimal | int) -> str:
    """An integral figure without ".0"; others as entered."""
    number = Decimal(value)
    return str(number.quantize(Decimal(1))) if number == number.to_integral_value() else str(number.normalize())


def _show(key: str, value: Value) -> str | None:
    if value is None:
        return None
    if key in WAN:
        return f"{(Decimal(value) / 10000).quantize(Decimal('0.01'), rounding=ROUND_HALF_UP)}"
    if key in YUAN:
        return f"{Decimal(value):.2f}"
    if key in PCT:
        return f"{Decimal(value)}"
    return _plain(value)


@dataclass(frozen=True)
class Summary:
    """The rendered text and what it was made from. `missing`: labels of the figures staff still have to enter
    (【待填】); `awaiting`: labels of the computed figures the data cannot give yet (【待月报】, 【待名册】)."""

    period: Period
    code: str
    markdown: str
    figures: dict[str, str | None]
    missing: list[str]
    awaiting: list[str]


def build(session: Session, period: Period, settings: Settings, now: datetime) -> Summary:
    found = figures.summary_figures_of(session, period, settings, now.astimezone(settings.zone).date())
    return compose(period, found.by_key, found.staff, timefmt.minute(now, settings.zone))


def compose(period: Period, data: Mapping[str, Value], staff: Mapping[str, str], generated_at: str) -> Summary:
    """The summary of `period` from its figures (`data` computed, `staff` entered), without the database: what the
    text says depends on nothing else, so tests can render any combination of known and unknown figures."""
    config = summary_config()
    shown: dict[str, str | None] = {key: _show(key, value) for key, value in data.items()}
    for key, spec in config.staff_figures.items():
        raw = staff.get(key)
        shown[key] = raw if spec.kind == "text" or raw is None else _plain(staff_number(raw) or Decimal(0))
    marks = {key: config.mark(key) for key in config.labels.keys() | config.staff_figures.keys()}
    code = staff_figures.period_code(period.start, period.end)
    year = period.end.year
    markdown = render.render(
        TEMPLATE,
        v=shown,
        n=data,
        mark=marks,
        given=lambda *keys: any(shown[key] is not None for key in keys),
        season=config.in_season(period),
        cfg=config,
        period=period,
        year=year,
        pw=period.label.removeprefix(f"{year}年") or "全年",
        nw=NEXT.get(code[4:], "下一阶段"),
        first_month=period.start.month,
        last_month=period.end.month,
        generated_at=generated_at,
    )
    markdown = BLANK_LINES.sub("\n\n", markdown)  # paragraphs left out leave their blank lines behind
    found = MARK.findall(markdown)
    missing = list(dict.fromkeys(label for kind, label in found if kind == STAFF_MARK))
    awaiting = list(dict.fromkeys(label for kind, label in found if kind != STAFF_MARK))
    return Summary(period, code, markdown + "\n", shown, missing, awaiting)


def write_documents(
    summary: Summary, store: FileStore, now: datetime, zone: ZoneInfo, appendix: document.Appendix
) -> dict[str, str]:
    """Both formats side by side under `documents/` in the file store, named by period and local time so older
    links keep their file; the Word file with `appendix` (`summary_appendix.appendix`) after the text. Returns
    each format's path in the store."""
    stem = f"{DOCUMENTS}/work-summary-{summary.code}-{timefmt.stamp(now, zone)}"
    made = {"md": summary.markdown.encode("utf-8"), "docx": document.docx_bytes(summary.markdown, appendix)}
    for kind, data in made.items():
        store.put(f"{stem}.{kind}", data, now)
    return {kind: f"{stem}.{kind}" for kind in made}


def staff_spec(name: str) -> tuple[str, StaffFigureSpec] | None:
    """A staff figure named by its key, its Chinese label, or its mark copied from the summary (【待填：标签】)."""
    specs: Mapping[str, StaffFigureSpec] = summary_config().staff_figures
    name = name.removeprefix(f"【{STAFF_MARK}：").removesuffix("】")
    if name in specs:
        return name, specs[name]
    return next(((key, spec) for key, spec in specs.items() if spec.label == name), None)


TEXT_FIGURE_MAX = 1500


def parse_staff_value(spec: StaffFigureSpec, text: str) -> str:
    """The value as stored: a plain decimal for numbers, 1–12 for a month, trimmed text; ParseError otherwise."""
    if spec.kind == "text":
        return parse_text(text, max_length=TEXT_FIGURE_MAX)
    if spec.kind == "month":
        return str(parse_integer(text, minimum=1, maximum=12))
    return str(parse_decimal(text, minimum=Decimal(0)))


def missing_staff(session: Session, period: Period) -> list[tuple[str, StaffFigureSpec]]:
    """Staff figures the summary of `period` still shows as to be filled."""
    entered = staff_figures.figures_for(session, staff_figures.period_code(period.start, period.end))
    return [(key, spec) for key, spec in summary_config().staff_figures.items() if key not in entered]
