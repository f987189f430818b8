"""The one way the system turns a template into text: every message and document goes through here."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from domain import timefmt
from domain.periods import Month

TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates"


@lru_cache(maxsize=2)
def environment(html: bool = False) -> jinja2.Environment:
    """StrictUndefined so a missing variable fails in tests instead of showing a blank to a chair; `html` escapes
    every value (the staff desk's pages), messages and documents are plain text."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        autoescape=html,
        auto_reload=False,  # templates change only with a deployment: no stat() of the file at every render
    )
    env.filters["template_exists"] = exists
    env.globals["month_label"] = month_label
    # Times reach a person only through `domain.timefmt`: `{{ row.created_at | day(zone) }}`.
    env.filters.update(
        minute=timefmt.minute,
        day=timefmt.day,
        chinese_minute=timefmt.chinese_minute,
        wall_chinese_minute=timefmt.wall_chinese_minute,
        chinese_day=timefmt.chinese_day,
    )
    return env


def page(name: str, **context: Any) -> str:
    """An HTML page of the staff desk, every value escaped."""
    return environment(html=True).get_template(name).render(**context)


def render(name: str, **context: Any) -> str:
    """Render `templates/<name>` and strip the surrounding blank lines templates tend to leave."""
    return environment().get_template(name).render(**context).strip()


def pairs(name: str, **context: Any) -> list[tuple[str, str]]:
    """`key: value` lines of a rendered template, in order: headers and labels reviewed with the other texts."""
    found = []
    for line in render(name, **context).splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip():
            found.append((key.strip(), value.strip()))
    return found


def month_label(key: str) -> str:
    """A stored report month (`2024-06`) as people read it (`2024年6月`)."""
    return Month.parse_key(key).label


def exists(name: str) -> bool:
    return (TEMPLATES_DIR / name).is_file()
