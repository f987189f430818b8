"""Template-message settings (`config/notices.yaml`): which WeChat template carries which notice."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel

NOTICES_FILE = Path(__file__).resolve().parent / "notices.yaml"


class Notice(BaseModel):
    template_id: str
    keywords: dict[str, str]

    def data(self, facts: dict[str, str]) -> dict[str, dict[str, str]]:
        """WeChat's `data` object; a fact the notice lacks is a programming error, caught by the tests."""
        return {keyword: {"value": facts[fact][:20]} for keyword, fact in self.keywords.items()}


@lru_cache(maxsize=1)
def notices() -> dict[str, Notice]:
    raw = yaml.safe_load(NOTICES_FILE.read_text(encoding="utf-8"))
    return {name: Notice.model_validate(value) for name, value in raw.items()}
