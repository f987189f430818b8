"""The work summary's Word file in the official-document format (GB/T 9704-2012), read back with python-docx:
page, margins, faces and sizes on every run, highlighted blanks, the page-number field and the font fallbacks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import docx
import pytest
from docx.document import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_COLOR_INDEX, WD_LINE_SPACING
from docx.oxml.ns import qn
from docx.shared import Length, Pt
from docx.text.run import Run

from bot.services import document

MARKDOWN = """# 2024年小港街道总工会上半年工作总结及下半年计划

2024年上半年，街道总工会开展“五好示范工会”建设。

## 一、探索新机制，夯实基层基础建设

1、上半年新建企业工会【待填：新建企业工会数】家，组建率为【待名册：工会组建率】%，帮困基金【待月报：帮困基金总额】万元。

（一）围绕中心。继续做好职工服务。

### （二）服务大局
"""


@pytest.fixture
def written(tmp_path: Path) -> Document:
    path = tmp_path / "summary.docx"
    document.write_docx(MARKDOWN, path)
    return docx.Document(str(path))


def _mm(length: Length | None) -> float:
    assert length is not None
    return round(length.mm, 1)


def _east_asia(run: Run) -> str | None:
    fonts = run._r.rPr.rFonts if run._r.rPr is not None else None
    return None if fonts is None else fonts.get(qn("w:eastAsia"))


def test_the_page_is_a4_with_the_standard_margins(written: Document) -> None:
    [section] = written.sections
    assert (_mm(section.page_width), _mm(section.page_height)) == (210.0, 297.0)
    margins = (section.top_margin, section.bottom_margin, section.left_margin, section.right_margin)
    assert [_mm(margin) for margin in margins] == [37.0, 35.0, 28.0, 26.0]


def test_every_run_names_its_official_face_and_size(written: Document) -> None:
    title, body, heading, item, numbered, subheading = written.paragraphs
    assert title.style is not None and title.style.name == "Title"
    assert title.style.paragraph_format.alignment == WD_ALIGN_PARAGRAPH.CENTER
    assert [(_east_asia(run), run.font.size) for run in title.runs] == [("方正小标宋简体", Pt(22))]
    assert {(_east_asia(run), run.font.size) for run in body.runs + item.runs} == {("仿宋_GB2312", Pt(16))}
    assert heading.style is not None and heading.style.name == "Heading 1"
    assert [(_east_asia(run), run.font.size) for run in heading.runs] == [("黑体", Pt(16))]
    assert subheading.style is not None and subheading.style.name == "Heading 2"
    assert [_east_asia(run) for run in subheading.runs] == ["楷体_GB2312"]
    assert [(run.text, _east_asia(run)) for run in numbered.runs] == [
        ("（一）围绕中心。", "楷体_GB2312"),
        ("继续做好职工服务。", "仿宋_GB2312"),
    ]
    for paragraph in written.paragraphs:
        for run in paragraph.runs:
            fonts = run._r.rPr.rFonts
            assert {fonts.get(qn(f"w:{slot}")) for slot in ("ascii", "hAnsi", "eastAsia")} == {_east_asia(run)}


def test_body_lines_are_exactly_28pt_apart_and_indented_two_characters(written: Document) -> None:
    body = written.styles["Normal"].paragraph_format
    assert body.line_spacing_rule == WD_LINE_SPACING.EXACTLY and body.line_spacing == Pt(28)
    assert body.first_line_indent == Pt(32)
    assert body.alignment == WD_ALIGN_PARAGRAPH.JUSTIFY
    assert body.widow_control is False  # 22 lines to every page, none left empty to keep two together
    title = written.styles["Title"].paragraph_format
    assert title.first_line_indent == 0 and title.space_after == Pt(28)
    for style in ("Heading 1", "Heading 2"):
        assert written.styles[style].font.bold is False
        assert written.styles[style].paragraph_format.first_line_indent == Pt(32)


def test_blanks_to_fill_are_highlighted_runs_of_their_own(written: Document) -> None:
    item = written.paragraphs[3]
    marked = [(run.text, run.font.highlight_color) for run in item.runs]
    assert marked == [
        ("1、上半年新建企业工会", None),
        ("【待填：新建企业工会数】", WD_COLOR_INDEX.YELLOW),
        ("家，组建率为", None),
        ("【待名册：工会组建率】", WD_COLOR_INDEX.YELLOW),
        ("%，帮困基金", None),
        ("【待月报：帮困基金总额】", WD_COLOR_INDEX.YELLOW),
        ("万元。", None),
    ]


def test_page_numbers_are_a_page_field_between_em_dashes_outside_on_each_side(written: Document) -> None:
    [section] = written.sections
    assert written.settings.odd_and_even_pages_header_footer
    for footer, alignment in (
        (section.footer, WD_ALIGN_PARAGRAPH.RIGHT),
        (section.even_page_footer, WD_ALIGN_PARAGRAPH.LEFT),
    ):
        [paragraph] = footer.paragraphs
        assert paragraph.text == "— 1 —"
        assert paragraph.paragraph_format.alignment == alignment
        assert [text.strip() for text in paragraph._p.xpath(".//w:instrText/text()")] == ["PAGE"]
        assert paragraph._p.xpath(".//w:fldChar/@w:fldCharType") == ["begin", "separate", "end"]
        assert {(_east_asia(run), run.font.size) for run in paragraph.runs} == {("宋体", Pt(14))}


def test_the_font_table_names_stand_ins_and_the_defaults_are_simplified_chinese(written: Document) -> None:
    table = next(rel.target_part for rel in written.part.rels.values() if rel.reltype.endswith("/fontTable"))
    stand_ins = dict(
        (font.get(qn("w:name")), font.find(qn("w:altName")).get(qn("w:val")))
        for font in docx.oxml.parse_xml(table.blob).findall(qn("w:font"))
        if font.find(qn("w:altName")) is not None
    )
    assert stand_ins["仿宋_GB2312"] == "FangSong" and stand_ins["黑体"] == "SimHei"
    assert stand_ins["楷体_GB2312"] == "KaiTi" and stand_ins["方正小标宋简体"] == "SimSun"
    defaults = written.styles.element.find(f"{qn('w:docDefaults')}/{qn('w:rPrDefault')}/{qn('w:rPr')}")
    assert defaults.find(qn("w:rFonts")).get(qn("w:eastAsia")) == "仿宋_GB2312"
    assert defaults.find(qn("w:lang")).get(qn("w:eastAsia")) == "zh-CN"
    assert written.core_properties.title == "2024年小港街道总工会上半年工作总结及下半年计划"


def test_the_service_loads_neither_python_docx_nor_matplotlib_until_a_summary_is_made() -> None:
    """The chat workers import the summary's modules; the libraries come in only when `总结` lays out a file."""
    probe = "import sys, bot.app, handlers.summary; print(sorted({'docx', 'matplotlib'} & set(sys.modules)))"
    loaded = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True, timeout=60)
    assert loaded.stdout.strip() == "[]"
