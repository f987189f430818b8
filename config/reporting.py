"""The monthly report's calendar of seasonal sections (`config/reporting.yaml`), validated when first read."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, Field

REPORTING_FILE = Path(__file__).resolve().parent / "reporting.yaml"

Months = list[int]


class Seasons(BaseModel):
    mutual_aid: Months = Field(default_factory=list)
    festival: Months = Field(default_factory=list)
    card: Months = Field(default_factory=list)
    contract: Months = Field(default_factory=list)


class Reporting(BaseModel):
    seasons: Seasons
    dues_tolerance_points: float = 0.5

    def in_season(self, month: int) -> dict[str, bool]:
        """`season_<name>` flags for the form's `ctx` scope, for the month being reported."""
        return {f"season_{name}": month in months for name, months in self.seasons.model_dump().items()}


@lru_cache(maxsize=1)
def reporting() -> Reporting:
    settings = Reporting.model_validate(yaml.safe_load(REPORTING_FILE.read_text(encoding="utf-8")))
    for name, months in settings.seasons.model_dump().items():
        if any(not 1 <= month <= 12 for month in months):
            raise ValueError(f"{REPORTING_FILE.name}: seasons.{name} holds a month outside 1–12")
    return settings
