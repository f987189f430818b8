"""The work summary's Markdown laid out as a Word document."""

from __future__ import annotations

from pathlib import Path

FONT = "SimSun"  # Word and LibreOffice pick a Chinese face for East Asian text only when the style names one


def write_docx(markdown: str, path: Path) -> None:
    """Lay the Markdown out as Word: `#` the title, `##`/`###` headings, every other line a paragraph."""
    import docx  # imported on first use, like openpyxl in bot.export: chat workers never need it
    from docx.oxml.ns import qn

    document = docx.Document()
    normal = document.styles["Normal"]
    normal.font.name = FONT
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), FONT)
    for line in markdown.splitlines():
        text = line.strip()
        if not text:
            continue
        level = len(text) - len(text.lstrip("#"))
        if 0 < level <= 3 and text[level : level + 1] == " ":
            document.add_heading(text[level + 1 :], level=0 if level == 1 else level - 1)
        else:
            document.add_paragraph(text)
    title = next((line[2:] for line in markdown.splitlines() if line.startswith("# ")), "")
    document.core_properties.title = title
    path.parent.mkdir(parents=True, exist_ok=True)
    document.save(str(path))


def docx_text(path: Path) -> str:
    """The paragraphs of a Word file, one per line: how tests and staff compare it with the Markdown."""
    import docx

    return "\n".join(paragraph.text for paragraph in docx.Document(str(path)).paragraphs)
