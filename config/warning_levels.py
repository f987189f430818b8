"""Warning levels as data (`config/warning_levels.yaml`): loaded, validated, and applied to a warning's answers.

The thresholds are policy, not code: a federation that treats 20 workers as serious edits the file. Applying
the rules is pure, so the summary before 确认, the stored row and the tests all agree on one function.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from domain.enums import WarningLevel

LEVELS_FILE = Path(__file__).resolve().parent / "warning_levels.yaml"


class AtLeast(BaseModel):
    model_config = ConfigDict(extra="forbid")
    at_least: Decimal = Field(ge=0)


class AnyOf(BaseModel):
    model_config = ConfigDict(extra="forbid")
    any_of: list[str] = Field(min_length=1)


class Rule(BaseModel):
    """One test of one answer; exactly one of the four is set."""

    model_config = ConfigDict(extra="forbid")
    workers: AtLeast | None = None
    amount: AtLeast | None = None
    signs: AnyOf | None = None
    category: AnyOf | None = None

    @model_validator(mode="after")
    def _one_test(self) -> Rule:
        tests = [name for name in ("workers", "amount", "signs", "category") if getattr(self, name) is not None]
        if len(tests) != 1:
            raise ValueError(f"a rule tests exactly one of workers, amount, signs, category; got {tests}")
        return self


class Level(BaseModel):
    model_config = ConfigDict(extra="forbid")
    level: WarningLevel
    rules: list[Rule] = Field(min_length=1)


class LevelRules(BaseModel):
    model_config = ConfigDict(extra="forbid")
    default: WarningLevel
    levels: list[Level]

    @model_validator(mode="after")
    def _distinct(self) -> LevelRules:
        named = [item.level for item in self.levels]
        if len(set(named)) != len(named) or self.default in named:
            raise ValueError("each level appears once, and the default level has no rules")
        return self

    def sign_names(self) -> set[str]:
        """Every sign a rule names; the tests check them against the form's options."""
        return {sign for item in self.levels for rule in item.rules if rule.signs for sign in rule.signs.any_of}


@dataclass(frozen=True)
class Facts:
    """The answers a level depends on."""

    workers: int
    amount: Decimal | None
    signs: frozenset[str]
    category: str


@dataclass(frozen=True)
class Reason:
    """Why a level applies, in a shape a template can word: the test, its threshold, what matched."""

    test: str
    at_least: Decimal | None = None
    value: Decimal | None = None
    matched: tuple[str, ...] = ()


@dataclass(frozen=True)
class Assessment:
    level: WarningLevel
    reasons: tuple[Reason, ...]


def _reason(rule: Rule, facts: Facts) -> Reason | None:
    if rule.workers is not None:
        hit = facts.workers >= rule.workers.at_least
        return Reason("workers", rule.workers.at_least, Decimal(facts.workers)) if hit else None
    if rule.amount is not None:
        hit = facts.amount is not None and facts.amount >= rule.amount.at_least
        return Reason("amount", rule.amount.at_least, facts.amount) if hit else None
    if rule.signs is not None:
        matched = tuple(sign for sign in rule.signs.any_of if sign in facts.signs)
        return Reason("signs", matched=matched) if matched else None
    assert rule.category is not None
    return Reason("category", matched=(facts.category,)) if facts.category in rule.category.any_of else None


def assess(rules: LevelRules, facts: Facts) -> Assessment:
    """The first level (top down) with a matching rule, with every matching rule of that level as a reason."""
    for item in rules.levels:
        reasons = tuple(reason for rule in item.rules if (reason := _reason(rule, facts)) is not None)
        if reasons:
            return Assessment(item.level, reasons)
    return Assessment(rules.default, ())


def parse_rules(text: str) -> LevelRules:
    return LevelRules.model_validate(yaml.safe_load(text))


@lru_cache(maxsize=1)
def level_rules() -> LevelRules:
    """Read once; `handlers.dispute_warning` reads it on import, so a malformed file stops the service at start-up."""
    return parse_rules(LEVELS_FILE.read_text(encoding="utf-8"))
