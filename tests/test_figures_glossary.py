"""docs/figures.md defines every figure the system computes or accepts: a key missing from it fails here, so
whoever adds a figure (or merges a branch that does) is told which `key` to define."""

from __future__ import annotations

import dataclasses
import re
from datetime import date
from pathlib import Path

import yaml

from bot.services.figures import summary_figures_of
from domain.periods import half_year
from storage import stats
from storage.db import Database
from tests.conftest import make_settings

REPOSITORY = Path(__file__).resolve().parents[1]
GLOSSARY = REPOSITORY / "docs" / "figures.md"
SUMMARY_CONFIG = REPOSITORY / "config" / "summary.yaml"
PERIOD = half_year(2024, 1)
TODAY = date(2024, 8, 1)  # fixed: the half-year is over, every month of it has been asked for


def _documented() -> set[str]:
    """Every `key` written in code font in the glossary."""
    return set(re.findall(r"`([^`\s]+)`", GLOSSARY.read_text(encoding="utf-8")))


def _computed_keys(db: Database, database_url: str) -> set[str]:
    """The keys the figures module computes, on an empty database."""
    settings = make_settings(database_url, "http://127.0.0.1:9")
    with db.transaction() as session:
        found = summary_figures_of(session, PERIOD, settings, TODAY)
    return set(found.by_key) | {key for name, value in found.figures.shown().items() for key in _named(name, value)}


def _named(name: str, value: object) -> set[str]:
    """How the glossary names what `统计` shows: `cover.due`; a dictionary of totals by its keys (`payroll`)."""
    if not dataclasses.is_dataclass(value):
        return {name}
    found: set[str] = set()
    for field in dataclasses.fields(value):
        inner = getattr(value, field.name)
        found |= set(inner) if isinstance(inner, dict) else {f"{name}.{field.name}"}
    return found


def _configured_keys() -> set[str]:
    """Read from the file itself, not the cached config: the staff figures and the labels of data figures."""
    config = yaml.safe_load(SUMMARY_CONFIG.read_text(encoding="utf-8"))
    return set(config["staff_figures"]) | set(config["labels"])


def test_every_figure_has_a_glossary_entry(db: Database, database_url: str) -> None:
    keys = {*stats.FLOWS, *stats.STOCKS, *_computed_keys(db, database_url), *_configured_keys()}
    assert len(keys) > 60, "the figures were not collected"
    missing = sorted(keys - _documented())
    assert not missing, f"docs/figures.md does not define: {', '.join(f'`{key}`' for key in missing)}"


def test_the_readme_links_the_glossary() -> None:
    assert "docs/figures.md" in (REPOSITORY / "README.md").read_text(encoding="utf-8")
