"""The warning case's state machine and staff command words, kept pure so every move is table-tested.

A staff message names a verb and a receipt (`签收 W12`, `未化解 W12 转仲裁`); `move()` says where the case goes
from its current state, or raises `NotAllowed` with the verbs that would work, so the reply can name them.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from domain import commands
from domain.enums import WarningLevel
from domain.enums import WarningState as S

MEDIATION_DAYS = 15  # 劳动争议调解仲裁法 Art. 14: unresolved after 15 days, the parties may go to arbitration
MAX_NOTE = 300  # characters: the note travels on to the reporter inside one 2,000-byte message
REFERRAL_PREFIXES = ("转", "移交")  # `未化解 W12 转仲裁` hands the case on rather than leaving it failed


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


@dataclass(frozen=True)
class Move:
    sources: frozenset[S]
    target: S
    needs_note: bool = False
    stamp: str | None = None  # the DisputeWarning timestamp this move sets
    clears: tuple[str, ...] = ()  # timestamps a reopened case no longer has


OUTCOMES = frozenset({S.RESOLVED, S.FAILED, S.REFERRED})
MOVES: dict[Verb, Move] = {
    Verb.ACKNOWLEDGE: Move(frozenset({S.SUBMITTED}), S.ACKNOWLEDGED, stamp="acknowledged_at"),
    Verb.VERIFY: Move(frozenset({S.ACKNOWLEDGED}), S.VERIFYING),
    Verb.MEDIATE: Move(frozenset({S.ACKNOWLEDGED, S.VERIFYING}), S.MEDIATING, stamp="mediation_started_at"),
    Verb.RESOLVE: Move(frozenset({S.MEDIATING}), S.RESOLVED, needs_note=True, stamp="outcome_at"),
    Verb.FAIL: Move(frozenset({S.MEDIATING}), S.FAILED, needs_note=True, stamp="outcome_at"),
    Verb.VOID: Move(frozenset({S.SUBMITTED, S.ACKNOWLEDGED, S.VERIFYING}), S.VOID, needs_note=True, stamp="outcome_at"),
    Verb.FOLLOW_UP: Move(OUTCOMES, S.FOLLOW_UP, needs_note=True),
    Verb.CLOSE: Move(OUTCOMES | {S.FOLLOW_UP, S.VOID}, S.CLOSED, stamp="closed_at"),
    Verb.REOPEN: Move(
        OUTCOMES | {S.FOLLOW_UP, S.VOID, S.CLOSED}, S.VERIFYING, needs_note=True, clears=("outcome_at", "closed_at")
    ),
}


class NotAllowed(Exception):
    """The verb does not apply in the case's current state; `possible` lists the verbs that do."""

    def __init__(self, state: S, possible: list[Verb]) -> None:
        super().__init__(f"not allowed from {state}")
        self.state = state
        self.possible = possible


def possible(state: S) -> list[Verb]:
    return [verb for verb, rule in MOVES.items() if state in rule.sources]


def move(verb: Verb, state: S, note: str) -> S:
    """The state after `verb`; a failed mediation handed to arbitration or inspection is `referred`."""
    rule = MOVES[verb]
    if state not in rule.sources:
        raise NotAllowed(state, possible(state))
    if verb is Verb.FAIL and note.startswith(REFERRAL_PREFIXES):
        return S.REFERRED
    return rule.target


def mediation_day(started: date, today: date) -> int:
    """Day N of the 15-day mediation period; the first day counts as day 1."""
    return max((today - started).days + 1, 1)


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
