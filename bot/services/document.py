"""The work summary's Markdown laid out as a Word document in the Chinese official-document format (GB/T 9704-2012),
as far as a work summary uses it: the federation hands these files in, and the district checks the format.

Page: A4, margins 37 mm top, 35 mm bottom, 28 mm left (the binding side), 26 mm right, i.e. the standard's
156 × 225 mm text block. Title 二号 (22 pt) 方正小标宋简体, centred, with one empty line after it; body 三号 (16 pt)
仿宋_GB2312, justified, first line indented two characters, lines exactly 28 pt apart; `## ` headings (一、…) 黑体
and `### ` or `（一）…` headings 楷体_GB2312 at body size; page numbers 四号 (14 pt) as "— 1 —" in the footer, on
the right of odd pages and the left of even pages, one character in from the edge (the standard's 单页码居右空一字,
双页码居左空一字). The marks of figures nobody could give yet (【待填：…】, 【待月报：…】, 【待名册：…】, all
opening with 待) are runs of their own, highlighted yellow, so nobody hands in a blank. An `Appendix` follows as
the standard sets out an attachment: "附件：…" under the text, then on a new page the label 附件 in 黑体, its title,
the table of figures (values, formulas, sources) and the charts.

Fonts: every run names its official face in `w:rFonts` (`w:eastAsia`, and the Latin slots too, so digits match),
because that is what the district's computers have and what a reviewer checks. Word takes one East-Asian name per
run, so the fallbacks for a machine without the official fonts are in the font table (`word/fontTable.xml`): each
official face carries `w:altName` (the face every Chinese Windows has: FangSong, SimHei, KaiTi, SimSun) with the
PANOSE, GB2312 charset and pitch Word uses to choose a substitute when even that is missing. LibreOffice ignores
`w:altName` and asks fontconfig, which without an alias falls back to sans-serif; `FACES` lists the chain to
configure there (`docs/render_summary.py` writes it as fontconfig aliases: FangSong, SimSun, then Noto Serif CJK
SC for the body). The defaults carry the body face and `zh-CN`, so LibreOffice uses the Simplified Chinese glyphs.

python-docx is imported inside the functions that use it: the chat workers import this module with the summary
handler, and only the rare `总结` needs the library and its lxml trees in memory.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.services import render

if TYPE_CHECKING:
    from docx.document import Document
    from docx.styles.style import ParagraphStyle
    from docx.table import _Cell
    from docx.text.paragraph import Paragraph


@dataclass(frozen=True)
class Face:
    """An official typeface, how Word finds a stand-in (`windows`, PANOSE, family, pitch), and the chain of faces
    to alias it to where fontconfig chooses (Linux, LibreOffice)."""

    name: str
    windows: str
    panose: str
    family: str
    pitch: str
    fallbacks: tuple[str, ...]


BODY = Face("仿宋_GB2312", "FangSong", "02010609030101010101", "modern", "fixed", ("SimSun", "Noto Serif CJK SC"))
TITLE = Face("方正小标宋简体", "SimSun", "02000000000000000000", "auto", "variable", ("Noto Serif CJK SC",))
HEADING = Face("黑体", "SimHei", "02010609060101010101", "modern", "fixed", ("Noto Sans CJK SC",))
SUBHEADING = Face(
    "楷体_GB2312", "KaiTi", "02010609030101010101", "modern", "fixed", ("AR PL UKai CN", "Noto Serif CJK SC")
)
PAGE_NUMBER = Face("宋体", "SimSun", "02010600030101010101", "auto", "variable", ("Noto Serif CJK SC",))
FACES = (BODY, TITLE, HEADING, SUBHEADING, PAGE_NUMBER)

# Sizes by their Chinese names (号): 二号 22 pt, 三号 16 pt, 四号 14 pt.
TITLE_PT = 22
BODY_PT = 16
PAGE_NUMBER_PT = 14
LINE_PT = 28
INDENT_CHARS = 2

PAGE_MM = (210, 297)
MARGINS_MM = {"top": 37, "bottom": 35, "left": 28, "right": 26}
PAGE_NUMBER_BELOW_TEXT_MM = 7  # the page number's line sits 7 mm below the text block
EM_DASH = "—"

TABLE_PT = 10.5  # 五号: the attachment's table lists every figure with its formula
# The attachment's columns: number, figure, value, formula, source; together the text block's 156 mm.
COLUMNS_MM = (12, 40, 24, 50, 30)
PICTURE_MM = 150
WORDS = "summary/appendix.j2"

MARK = re.compile(r"(【待[^】]*】)")
NUMBERED_HEADING = re.compile(r"（[一二三四五六七八九十]+）")


@dataclass(frozen=True)
class FigureRow:
    """A figure as the attachment lists it: its key, name, value as printed (or the mark saying who supplies it),
    how it is computed and where it comes from. The figures' side supplies these; this module only sets them out."""

    key: str
    label: str
    value: str
    formula: str
    source: str


@dataclass(frozen=True)
class Picture:
    """A chart as PNG and the caption under it (图1　…)."""

    caption: str
    png: bytes


@dataclass(frozen=True)
class Appendix:
    """The attachment (附件) after the text: the table of figures, then the charts, on a page of its own."""

    rows: Sequence[FigureRow]
    pictures: Sequence[Picture] = field(default_factory=tuple)


@cache
def words() -> dict[str, str]:
    """The attachment's words (templates/summary/appendix.j2)."""
    return dict(render.pairs(WORDS))


def _set_fonts(rpr: Any, face: Face, size_pt: float) -> None:
    """Name `face` in every slot of a run's or style's `w:rPr`, with no theme font left to override it."""
    from docx.oxml.ns import qn
    from docx.shared import Pt

    fonts = rpr.get_or_add_rFonts()
    for theme in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(theme), None)
    for slot in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(slot), face.name)
    fonts.set(qn("w:hint"), "eastAsia")  # quotes and dashes take the Chinese face, full width
    rpr.sz_val = Pt(size_pt)


def _run(paragraph: Paragraph, text: str, face: Face, size_pt: float = BODY_PT) -> None:
    """Runs of `text` in `face`; each mark (【待填：…】, 【待月报：…】, …) a run of its own, highlighted."""
    from docx.enum.text import WD_COLOR_INDEX

    for part in MARK.split(text):
        if not part:
            continue
        run = paragraph.add_run(part)
        _set_fonts(run._r.get_or_add_rPr(), face, size_pt)
        if MARK.fullmatch(part):
            run.font.highlight_color = WD_COLOR_INDEX.YELLOW


def _indent(paragraph_format: Any, chars: int, size_pt: float) -> None:
    """A first-line indent in characters: Word reads `firstLineChars`, others the length it stands for."""
    from docx.oxml.ns import qn
    from docx.shared import Pt

    paragraph_format.first_line_indent = Pt(chars * size_pt)
    paragraph_format._element.get_or_add_pPr().get_or_add_ind().set(qn("w:firstLineChars"), str(chars * 100))


def _restyle(style: ParagraphStyle, face: Face, size_pt: float, *, centred: bool = False) -> None:
    """Replace a built-in style's look (Cambria, blue, bold, borders, spacing) with the official one."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
    from docx.oxml.ns import qn
    from docx.shared import Pt, RGBColor

    for child in style.element.findall(qn("w:rPr")):
        style.element.remove(child)
    ppr = style.element.find(qn("w:pPr"))
    if ppr is not None:
        for tag in ("w:pBdr", "w:spacing", "w:ind", "w:jc", "w:contextualSpacing"):
            for child in ppr.findall(qn(tag)):
                ppr.remove(child)
    _set_fonts(style.element.get_or_add_rPr(), face, size_pt)
    style.font.bold = False
    style.font.italic = False
    style.font.color.rgb = RGBColor(0, 0, 0)
    layout = style.paragraph_format
    layout.space_before = Pt(0)
    layout.space_after = Pt(0)
    layout.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    layout.line_spacing = Pt(LINE_PT)
    layout.widow_control = False  # every page full to the text block's last line, as the standard lays pages out
    if centred:
        layout.alignment = WD_ALIGN_PARAGRAPH.CENTER
        layout.first_line_indent = Pt(0)
    else:
        layout.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
        _indent(layout, INDENT_CHARS, size_pt)


def _defaults(document: Document) -> None:
    """Document defaults in the body face and Simplified Chinese, so nothing falls back to the template's theme
    and LibreOffice picks the Simplified Chinese forms of the CJK glyphs."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    rpr = document.styles.element.find(f"{qn('w:docDefaults')}/{qn('w:rPrDefault')}/{qn('w:rPr')}")
    _set_fonts(rpr, BODY, BODY_PT)
    lang = rpr.find(qn("w:lang"))
    if lang is None:
        lang = OxmlElement("w:lang")
        rpr.append(lang)
    for slot in ("w:val", "w:eastAsia"):
        lang.set(qn(slot), "zh-CN")


def _font_table(document: Document) -> None:
    """Add the official faces to `word/fontTable.xml` with the stand-ins Word looks for when one is missing."""
    from docx.opc.constants import RELATIONSHIP_TYPE as RT
    from docx.opc.part import XmlPart
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    part = document.part
    rel_id = next(rel_id for rel_id, rel in part.rels.items() if rel.reltype == RT.FONT_TABLE)
    old = part.related_parts[rel_id]
    table = XmlPart.load(old.partname, old.content_type, old.blob, old.package)
    for face in FACES:
        font = OxmlElement("w:font", {qn("w:name"): face.name})
        for tag, value in (
            ("w:altName", face.windows),
            ("w:panose1", face.panose),
            ("w:charset", "86"),  # GB2312
            ("w:family", face.family),
            ("w:pitch", face.pitch),
        ):
            font.append(OxmlElement(tag, {qn("w:val"): value}))
        table.element.append(font)
    part.drop_rel(rel_id)
    part.relate_to(table, RT.FONT_TABLE)


def _page(document: Document) -> None:
    from docx.shared import Mm

    section = document.sections[0]
    section.page_width, section.page_height = Mm(PAGE_MM[0]), Mm(PAGE_MM[1])
    section.top_margin = Mm(MARGINS_MM["top"])
    section.bottom_margin = Mm(MARGINS_MM["bottom"])
    section.left_margin = Mm(MARGINS_MM["left"])
    section.right_margin = Mm(MARGINS_MM["right"])
    section.footer_distance = Mm(MARGINS_MM["bottom"] - PAGE_NUMBER_BELOW_TEXT_MM) - Mm(PAGE_NUMBER_PT * 25.4 / 72)


def _page_number(paragraph: Paragraph) -> None:
    """The page number as "— N —", N a PAGE field, so Word and LibreOffice number the pages themselves."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    begin, separate, end = (
        OxmlElement("w:fldChar", {qn("w:fldCharType"): kind}) for kind in ("begin", "separate", "end")
    )
    instruction = OxmlElement("w:instrText", {qn("xml:space"): "preserve"})
    instruction.text = " PAGE "
    shown = OxmlElement("w:t")
    shown.text = "1"  # what a reader shows before it updates the field
    _run(paragraph, f"{EM_DASH} ", PAGE_NUMBER, PAGE_NUMBER_PT)
    for element in (begin, instruction, separate, shown, end):
        run = paragraph.add_run()
        _set_fonts(run._r.get_or_add_rPr(), PAGE_NUMBER, PAGE_NUMBER_PT)
        run._r.append(element)
    _run(paragraph, f" {EM_DASH}", PAGE_NUMBER, PAGE_NUMBER_PT)


def _footers(document: Document) -> None:
    from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
    from docx.shared import Pt

    document.settings.odd_and_even_pages_header_footer = True
    section = document.sections[0]
    for footer, alignment in (
        (section.footer, WD_ALIGN_PARAGRAPH.RIGHT),
        (section.even_page_footer, WD_ALIGN_PARAGRAPH.LEFT),
    ):
        paragraph = footer.paragraphs[0]
        layout = paragraph.paragraph_format
        layout.alignment = alignment
        layout.first_line_indent = Pt(0)
        layout.line_spacing_rule = WD_LINE_SPACING.SINGLE
        if alignment == WD_ALIGN_PARAGRAPH.RIGHT:
            layout.right_indent = Pt(PAGE_NUMBER_PT)
        else:
            layout.left_indent = Pt(PAGE_NUMBER_PT)
        _page_number(paragraph)


def _body(document: Document, text: str) -> None:
    """A body paragraph; one opening with （一） has its lead sentence in the second-level heading face."""
    numbered = NUMBERED_HEADING.match(text)
    if numbered is None:
        _run(document.add_paragraph(), text, BODY)
        return
    lead, stop, rest = text.partition("。")
    if not rest:
        _run(document.add_paragraph(style="Heading 2"), text, SUBHEADING)
        return
    paragraph = document.add_paragraph()
    _run(paragraph, lead + stop, SUBHEADING)
    _run(paragraph, rest, BODY)


def _plain(paragraph: Paragraph, *, centred: bool = False) -> Paragraph:
    """A paragraph out of the body's flow (a cell, a picture, a caption): no indent, single spacing, so a picture
    is not cut to the body's exact 28-pt line."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
    from docx.shared import Pt

    layout = paragraph.paragraph_format
    layout.first_line_indent = Pt(0)
    layout.line_spacing_rule = WD_LINE_SPACING.SINGLE
    layout.alignment = WD_ALIGN_PARAGRAPH.CENTER if centred else WD_ALIGN_PARAGRAPH.LEFT
    return paragraph


def _cell(cell: _Cell, text: str, face: Face, width_mm: float, *, centred: bool = False) -> None:
    from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT
    from docx.shared import Mm

    cell.width = Mm(width_mm)
    cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
    _run(_plain(cell.paragraphs[0], centred=centred), text, face, TABLE_PT)


def _appendix(document: Document, appendix: Appendix) -> None:
    """The note after the text (附件：…), then on a new page the attachment's label, title, table and charts."""
    from docx.oxml import OxmlElement
    from docx.shared import Mm, Pt

    said = words()
    note = document.add_paragraph()
    note.paragraph_format.space_before = Pt(LINE_PT)
    _run(note, said["note"], BODY)
    label = document.add_paragraph()
    label.paragraph_format.page_break_before = True
    label.paragraph_format.first_line_indent = Pt(0)
    _run(label, said["attachment"], HEADING)
    _run(document.add_paragraph(style="Title"), said["title"], TITLE, TITLE_PT)
    headers = (said["number"], said["label"], said["value"], said["formula"], said["source"])
    table = document.add_table(rows=1, cols=len(headers))
    table.style = document.styles["Table Grid"]
    table.autofit = False
    for column, width in zip(table.columns, COLUMNS_MM, strict=True):
        column.width = Mm(width)
    table.rows[0]._tr.get_or_add_trPr().append(OxmlElement("w:tblHeader"))  # repeated on every page
    for cell, text, width in zip(table.rows[0].cells, headers, COLUMNS_MM, strict=True):
        _cell(cell, text, HEADING, width, centred=True)
    for number, row in enumerate(appendix.rows, start=1):
        texts = (str(number), row.label, row.value, row.formula, row.source)
        cells = table.add_row().cells
        for index, (cell, text, width) in enumerate(zip(cells, texts, COLUMNS_MM, strict=True)):
            _cell(cell, text, BODY, width, centred=index in (0, 2))
    for picture in appendix.pictures:
        _plain(document.add_paragraph(), centred=True).add_run().add_picture(io.BytesIO(picture.png), Mm(PICTURE_MM))
        _run(_plain(document.add_paragraph(), centred=True), picture.caption, BODY)


def _new_document() -> Document:
    """An empty A4 document with the official page, faces, styles and page numbers."""
    import docx
    from docx.shared import Pt

    document = docx.Document()
    _defaults(document)
    _font_table(document)
    _page(document)
    _restyle(document.styles["Normal"], BODY, BODY_PT)
    _restyle(document.styles["Title"], TITLE, TITLE_PT, centred=True)
    document.styles["Title"].paragraph_format.space_after = Pt(LINE_PT)
    _restyle(document.styles["Heading 1"], HEADING, BODY_PT)
    _restyle(document.styles["Heading 2"], SUBHEADING, BODY_PT)
    _footers(document)
    return document


def write_docx(markdown: str, path: Path, appendix: Appendix | None = None) -> None:
    """`docx_bytes` written to `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(docx_bytes(markdown, appendix))


def docx_bytes(markdown: str, appendix: Appendix | None = None) -> bytes:
    """Lay the Markdown out: `# ` the title, `## ` first-level and `### ` second-level headings, other lines body
    paragraphs (blank lines only separate them: the spacing is the format's, not the text's); then the appendix."""
    document = _new_document()
    title = ""
    for line in markdown.splitlines():
        text = line.strip()
        if not text:
            continue
        level = len(text) - len(text.lstrip("#"))
        words = text[level + 1 :]
        if level == 1 and text[1:2] == " ":
            title = title or words
            _run(document.add_paragraph(style="Title"), words, TITLE, TITLE_PT)
        elif level == 2 and text[2:3] == " ":
            _run(document.add_paragraph(style="Heading 1"), words, HEADING)
        elif level == 3 and text[3:4] == " ":
            _run(document.add_paragraph(style="Heading 2"), words, SUBHEADING)
        else:
            _body(document, text)
    if appendix is not None:
        _appendix(document, appendix)
    document.core_properties.title = title
    document.core_properties.language = "zh-CN"
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def docx_text(path: Path) -> str:
    """The paragraphs of a Word file, one per line: how tests and staff compare it with the Markdown."""
    import docx

    return "\n".join(paragraph.text for paragraph in docx.Document(str(path)).paragraphs)
