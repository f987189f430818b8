"""The half-year work summary: figures from the data and from staff, rendered through one editable template
(`templates/summary/work_summary.md.j2`) into Markdown, and the same text laid out as a Word document."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

import yaml
from pydantic import BaseModel, model_validator
from sqlmodel import Session

from bot.services import document, render
from config.reporting import reporting
from config.settings import Settings
from domain import timefmt
from domain.normalize import parse_decimal, parse_integer, parse_text
from domain.periods import Period
from storage import figures as staff_figures
from storage import stats, summary_figures
from storage.summary_figures import Value, Window, floor1, percent, wan

CONFIG_FILE = Path(__file__).resolve().parents[2] / "config" / "summary.yaml"
TEMPLATE = "summary/work_summary.md.j2"
DOCUMENTS = "documents"
# The three marks (templates/summary/work_summary.md.j2 explains them in its notes): staff enter the figure with
# `数据`; enterprises have not reported it in their monthly reports; the roster holds no enterprise to count.
STAFF_MARK, REPORTS_MARK, ROSTER_MARK = "待填", "待月报", "待名册"
BLANK_LINES = re.compile(r"\n{3,}")
# What the plan is called after a period (by its code's suffix: "2024H1" → "H1"); a month or quarter: 下一阶段.
NEXT = {"H1": "下半年", "H2": "明年", "": "明年"}
MARK = re.compile(f"【({STAFF_MARK}|{REPORTS_MARK}|{ROSTER_MARK})：([^】]+)】")

# How each figure is printed, following the unit its sentence uses (domain §1.0).
WAN = frozenset({"hardship_fund_total", "temporary_relief_paid", "amount_involved"})
YUAN = frozenset(
    {"festival_condolence_amount", "dues_accrued_large", "district_remit_amount", "subdistrict_remit_amount"}
)
# Rates are floored to one decimal, as "___%以上" needs and as `统计` prints them (never round a rate up).
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


class StaffFigureSpec(BaseModel):
    label: str
    unit: str
    kind: Literal["number", "month", "text"] = "number"
    hint: str = ""  # what to write, for a text figure (`数据 标签` without a value shows it)


class SummaryConfig(BaseModel):
    subdistrict_name: str
    city_name: str
    formation_min_employees: int
    fund_min_employees: int
    dues_headcount_threshold: int
    district_remit_share: Decimal
    subdistrict_remit_share: Decimal
    card_collected_opening: int
    card_issued_opening: int
    dispute_categories: dict[str, list[str]]
    seasons: dict[str, list[int]]
    staff_figures: dict[str, StaffFigureSpec]
    labels: dict[str, str]
    from_roster: list[str]

    @model_validator(mode="after")
    def _marks_resolve(self) -> SummaryConfig:
        """A mark shows a label and `数据 标签 数值` reads it back: labels are one word each and name one figure."""
        names = [spec.label for spec in self.staff_figures.values()] + list(self.labels.values())
        if any(not name or any(char.isspace() for char in name) for name in names):
            raise ValueError("a figure label is empty or holds a space")
        if len(set(names)) != len(names):
            raise ValueError("two figures share a label")
        if set(self.from_roster) - self.labels.keys():
            raise ValueError("from_roster names a key that labels does not")
        if any(not 1 <= month <= 12 for months in self.seasons.values() for month in months):
            raise ValueError("seasons hold a month outside 1–12")
        return self

    def in_season(self, period: Period) -> dict[str, bool]:
        """Which seasonal paragraphs the period has room for; the festival visits follow the report form's season."""
        seasons = {**self.seasons, "festival": reporting().seasons.festival}
        months = {month.month for month in period.months}
        return {name: not months.isdisjoint(chosen) for name, chosen in seasons.items()}

    @property
    def rules(self) -> summary_figures.Rules:
        return summary_figures.Rules(
            formation_min_employees=self.formation_min_employees,
            fund_min_employees=self.fund_min_employees,
            dues_headcount_threshold=self.dues_headcount_threshold,
            dispute_categories=self.dispute_categories,
            card_collected_opening=self.card_collected_opening,
            card_issued_opening=self.card_issued_opening,
        )

    def label(self, key: str) -> str:
        spec = self.staff_figures.get(key)
        return spec.label if spec else self.labels[key]

    def mark(self, key: str) -> str:
        """What the summary prints for a figure nobody can give yet: who supplies it is in the mark's first word."""
        if key in self.staff_figures:
            return f"【{STAFF_MARK}：{self.label(key)}】"
        return f"【{ROSTER_MARK if key in self.from_roster else REPORTS_MARK}：{self.label(key)}】"


@lru_cache(maxsize=1)
def summary_config() -> SummaryConfig:
    return SummaryConfig.model_validate(yaml.safe_load(CONFIG_FILE.read_text(encoding="utf-8")))


def _number(text: str | None) -> Decimal | None:
    if text is None:
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


def _plain(value: Decimal | int) -> str:
    """An integral figure without ".0"; others as entered."""
    number = Decimal(value)
    return str(number.quantize(Decimal(1))) if number == number.to_integral_value() else str(number.normalize())


def _show(key: str, value: Value) -> str | None:
    if value is None:
        return None
    if key in WAN:
        return f"{wan(value)}"
    if key in YUAN:
        return f"{Decimal(value):.2f}"
    if key in PCT:
        return f"{floor1(Decimal(value))}"
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


def compute_figures(
    session: Session, period: Period, settings: Settings, today: date, config: SummaryConfig | None = None
) -> tuple[dict[str, Value], dict[str, str]]:
    """The data figures and the staff figures (raw), plus the derived figures that mix both."""
    config = config or summary_config()
    window = Window.of(period.start, period.end, settings.zone)
    dues = stats.due_months(period.start, period.end, today, settings, settings.zone)
    data = summary_figures.compute(session, window, config.rules, dues)
    staff = staff_figures.figures_for(session, staff_figures.period_code(period.start, period.end))
    retired = _number(staff.get("mutual_aid_retired"))
    parts = [data["mutual_aid_in_service"], retired, data["mutual_aid_ankang"], data["mutual_aid_special"]]
    data["mutual_aid_enrolled_total"] = None if any(p is None for p in parts) else sum(Decimal(p or 0) for p in parts)
    data["strong_protection_target_pct"] = percent(
        _number(staff.get("strong_protection_enterprises")), _number(staff.get("strong_protection_annual_target"))
    )
    return data, staff


def build(session: Session, period: Period, settings: Settings, now: datetime) -> Summary:
    data, staff = compute_figures(session, period, settings, now.astimezone(settings.zone).date())
    return compose(period, data, staff, timefmt.minute(now, settings.zone))


def compose(period: Period, data: Mapping[str, Value], staff: Mapping[str, str], generated_at: str) -> Summary:
    """The summary of `period` from its figures (`data` computed, `staff` entered), without the database: what the
    text says depends on nothing else, so tests can render any combination of known and unknown figures."""
    config = summary_config()
    shown: dict[str, str | None] = {key: _show(key, value) for key, value in data.items()}
    for key, spec in config.staff_figures.items():
        raw = staff.get(key)
        shown[key] = raw if spec.kind == "text" or raw is None else _plain(_number(raw) or Decimal(0))
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
    summary: Summary, folder: Path, now: datetime, zone: ZoneInfo, appendix: document.Appendix
) -> dict[str, Path]:
    """Both formats side by side under `folder`, named by period and local time so older links keep their file;
    the Word file with `appendix` (`summary_appendix.appendix`) after the text."""
    stem = f"work-summary-{summary.code}-{timefmt.stamp(now, zone)}"
    folder.mkdir(parents=True, exist_ok=True)
    md_path = folder / f"{stem}.md"
    md_path.write_text(summary.markdown, encoding="utf-8")
    docx_path = folder / f"{stem}.docx"
    document.write_docx(summary.markdown, docx_path, appendix)
    return {"md": md_path, "docx": docx_path}


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
