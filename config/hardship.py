"""Hardship-relief settings (`config/hardship.yaml`), validated when first read."""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, Field

HARDSHIP_FILE = Path(__file__).resolve().parent / "hardship.yaml"


class HardshipConfig(BaseModel):
    """No defaults: each figure is defined once, in the file, where staff change it."""

    dibao_monthly: Decimal = Field(gt=0)
    consent_version: str = Field(min_length=1, max_length=32)
    duplicate_window_days: int = Field(ge=1)
    notice_working_days: int = Field(ge=1, le=30)
    photo_link_minutes: int = Field(ge=1)


@lru_cache(maxsize=1)
def hardship_config() -> HardshipConfig:
    return HardshipConfig.model_validate(yaml.safe_load(HARDSHIP_FILE.read_text(encoding="utf-8")))
