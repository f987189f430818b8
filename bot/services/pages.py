"""Cutting a long text into pages that fit one WeChat message (replies, digests)."""

from __future__ import annotations

SUFFIX_RESERVE = 120  # bytes kept free on each page for the "（第1/3页…）" line


def split(text: str, budget: int) -> list[str]:
    """Pieces of at most `budget` UTF-8 bytes, cut at line ends where possible, never inside a character."""
    pages: list[str] = []
    current = ""
    for line in text.splitlines(keepends=True):
        while len(line.encode()) > budget:
            cut = len(line.encode()[:budget].decode(errors="ignore"))
            if current:
                pages.append(current)
                current = ""
            pages.append(line[:cut])
            line = line[cut:]
        if len((current + line).encode()) > budget:
            pages.append(current)
            current = ""
        current += line
    if current:
        pages.append(current)
    return [page.strip() for page in pages if page.strip()]
