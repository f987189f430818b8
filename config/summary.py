"""The half-year work summary's configuration (`config/summary.yaml`): the federation's names, the parameters of the
figures' definitions (docs/figures.md §5) and the figures staff enter, validated when first read.

It lives below `storage` so the one figures module (`bot/services/figures.py`) and the SQL behind it read the same
definitions the summary prints."""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, model_validator

from config.reporting import reporting
from domain.periods import Period

CONFIG_FILE = Path(__file__).resolve().parent / "summary.yaml"
STAFF_MARK, REPORTS_MARK, ROSTER_MARK = "待填", "待月报", "待名册"


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
