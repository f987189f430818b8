"""The warning case's staff command words and its mediation period; the moves are in `domain.workflows.warning`.

A staff message names a verb and a receipt (`签收 W12`, `未化解 W12 转仲裁`), and what follows is the note.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from domain import commands
from domain.enums import WarningLevel, WarningState

MEDIATION_DAYS = 15  # 劳动争议调解仲裁法 Art. 14: unresolved after 15 days, the parties may go to arbitration
MAX_NOTE = 300  # characters: the note travels on to the reporter inside one 2,000-byte message


class Verb(StrEnum):
    """What staff type; the values are the command words."""

    ACKNOWLEDGE = "签收"
    VERIFY = "核实"
    MEDIATE = "调处"
    RESOLVE = "化解"
    FAIL = "未化解"
    VOID = "不属实"
    FOLLOW_UP = "回访"
    CLOSE = "结案"
    REOPEN = "重新打开"
    RELEVEL = "定级"
    VIEW = "查看"


def mediation_day(started: date, today: date) -> int:
    """Day N of the mediation period (`MEDIATION_DAYS` long); the first day counts as day 1."""
    return max((today - started).days + 1, 1)


def current_mediation_day(
    state: WarningState, started_at: datetime | None, now: datetime, zone: ZoneInfo
) -> int | None:
    """Day N of a case's mediation on the federation's calendar, while it is being mediated (else None): the chat
    and the desk count the same day."""
    if state != WarningState.MEDIATING or started_at is None:
        return None
    return mediation_day(started_at.astimezone(zone).date(), now.astimezone(zone).date())


@dataclass(frozen=True)
class Command:
    verb: Verb
    receipt: str | None  # "W12", or None when the message named no case
    rest: str


VERB_WORDS = tuple(verb.value for verb in Verb)
_CASE_ARGS = re.compile(r"^(?P<receipt>[WwＷｗ]\s*\d+)?\s*(?P<rest>.*)$", re.DOTALL)


def read_command(said: commands.Command) -> Command:
    """The case and the note after a verb (`W12 说明`, `w12`, `Ｗ１２`); the note is kept as typed."""
    found = _CASE_ARGS.match(said.args)
    assert found is not None, "every text matches: both parts are optional"
    receipt = found["receipt"]
    normalized = "W" + re.sub(r"\D", "", unicodedata.normalize("NFKC", receipt)) if receipt else None
    return Command(Verb(said.word), normalized, found["rest"].strip())


def parse_level(word: str) -> WarningLevel | None:
    folded = unicodedata.normalize("NFKC", word).strip()
    return next((level for level in WarningLevel if level.value == folded), None)
