"""The README's picture of a summary's first page is made by `python -m docs.render_summary`: the demo it seeds
through the storage code, the fontconfig aliases it converts with, and (with LibreOffice and poppler) the PNG."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import docx
import pytest
from PIL import Image

from config.settings import Settings
from docs import render_summary
from storage.db import Database
from storage.migrate import upgrade


def test_the_demo_summary_has_data_in_every_chapter_and_a_blank_on_its_first_page(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.sqlite3'}"
    upgrade(url)
    db = Database(url)
    try:
        render_summary.seed(db)
        made = render_summary.write_summary(db, Settings(database_url=url), tmp_path / "demo.docx")
    finally:
        db.dispose()
    assert made.figures["reporting_rate"] == "83.3"  # 40 of the 8 unions × 6 months = 48 reports filed
    assert made.figures["cases_received"] == "11" and made.figures["handling_rate"] == "72.7"
    assert "表彰达标企业工会数" in made.missing and "工作计划" in made.missing
    word = docx.Document(str(tmp_path / "demo.docx"))
    first_page = "".join(paragraph.text for paragraph in word.paragraphs[:6])
    assert "【待填：表彰达标企业工会数】" in first_page
    assert len(word.inline_shapes) == 2


def test_the_conversion_aliases_each_official_face_to_its_stand_ins() -> None:
    config = ET.fromstring(render_summary.fontconfig())
    aliases = {
        alias.findtext("family"): [family.text for family in alias.iterfind("prefer/family")]
        for alias in config.iterfind("alias")
    }
    assert aliases["仿宋_GB2312"] == ["FangSong", "SimSun", "Noto Serif CJK SC"]
    assert aliases["黑体"] == ["SimHei", "Noto Sans CJK SC"]
    assert config.find("include") is not None  # the system's own configuration first


@pytest.mark.skipif(
    shutil.which("soffice") is None or shutil.which("pdftoppm") is None,
    reason="needs LibreOffice (Debian libreoffice-writer-nogui) and pdftoppm (Debian poppler-utils)",
)
def test_the_readme_picture_is_an_a4_page(tmp_path: Path) -> None:
    out = tmp_path / "first-page.png"
    render_summary.main(["--out", str(out)])
    with Image.open(out) as page:
        width, height = page.size
    assert abs(height / width - 297 / 210) < 0.01
