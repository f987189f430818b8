"""How a command is told from what follows it: the one place a message is split into its word and arguments.

Only the command word is folded (NFKC, no spaces, no trailing punctuation). What follows is a person's own
words (a reason, a note, a name) and is kept exactly as typed, so a full-width "，" stays "，".
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass

_TRAILING = re.compile(r"[\s。.!！~～]+$")
# The word ends at the first space or colon: `绑定 X`, `绑定：X`, `绑定 : X` all name the command 绑定.
_HEAD = re.compile(r"([^\s:：]+)\s*(?:[:：]\s*)?(.*)", re.DOTALL)


@dataclass(frozen=True)
class Command:
    word: str  # one of the words asked for, as listed there
    args: str  # the rest of the message as typed, without surrounding whitespace


def command_text(text: str) -> str:
    """How a reply is compared with the command words: NFKC, no spaces, no trailing punctuation."""
    folded = unicodedata.normalize("NFKC", text).strip()
    return _TRAILING.sub("", folded).replace(" ", "")


def split_command(text: str, words: Collection[str], *, attached: bool = False) -> Command | None:
    """`text` read as a command whose word is one of `words`, or None.

    The word ends at the first space or colon (in `绑定：X` the colon is punctuation, not part of the argument);
    with `attached`, the arguments may also follow it directly (`签收W12`, `审核H7 通过`), and the longest word
    that starts the text wins (`未化解` before `化解`).
    """
    stripped = text.strip()
    if not stripped:
        return None
    head = _HEAD.fullmatch(stripped)
    if head is not None and command_text(head[1]) in words:
        return Command(command_text(head[1]), head[2].strip())
    if attached:
        for word in sorted(words, key=len, reverse=True):
            if unicodedata.normalize("NFKC", stripped[: len(word)]) == word:
                return Command(word, stripped[len(word) :].strip())
    return None
