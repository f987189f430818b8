"""Reminder settings (`config/reminders.yaml`): the calendar of pushes, quiet hours and escalation delays.

Validated when loaded, so a typo in the file stops the service at start-up instead of silencing a reminder.
"""

from __future__ import annotations

from datetime import time
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, Field, model_validator

from domain.enums import WarningLevel

REMINDERS_FILE = Path(__file__).resolve().parent / "reminders.yaml"


class Delay(BaseModel):
    """Exactly one of minutes, hours or working days (Monday to Friday; public holidays are not known)."""

    minutes: int | None = Field(default=None, ge=1)
    hours: int | None = Field(default=None, ge=1)
    working_days: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _exactly_one(self) -> Delay:
        if sum(value is not None for value in (self.minutes, self.hours, self.working_days)) != 1:
            raise ValueError("give exactly one of minutes, hours, working_days")
        return self


class Acknowledge(BaseModel):
    within: Delay
    admin_after: Delay


class QuietHours(BaseModel):
    start: time
    end: time


class ReportReminders(BaseModel):
    days_before_due: list[int]
    overdue_every_days: int = Field(ge=1)
    overdue_periods: int = Field(ge=1, le=24)

    @model_validator(mode="after")
    def _non_negative(self) -> ReportReminders:
        if any(day < 0 for day in self.days_before_due):
            raise ValueError("days_before_due must be 0 or more")
        return self


class RemindersConfig(BaseModel):
    quiet_hours: QuietHours
    urgent_levels: list[WarningLevel]
    report: ReportReminders
    acknowledge: dict[WarningLevel, Acknowledge]

    @model_validator(mode="after")
    def _every_level(self) -> RemindersConfig:
        missing = set(WarningLevel) - set(self.acknowledge)
        if missing:
            raise ValueError(f"acknowledge: no delay for {', '.join(sorted(missing))}")
        return self


def load_reminders(path: Path = REMINDERS_FILE) -> RemindersConfig:
    return RemindersConfig.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))


@lru_cache(maxsize=1)
def reminders_config() -> RemindersConfig:
    return load_reminders()
