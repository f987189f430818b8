"""The dispute warning's case: staff acknowledge, verify, mediate, and record the outcome; the reporter is told.

Staff type a verb and a receipt (`签收 W12`, `未化解 W12 转仲裁`); `action_of()` reads the move the verb asks
for. `未化解` with a note naming where the case went (`转仲裁`, `移交人社监察`) refers it rather than leaving it
failed, so the two are actions of their own with one verb.
"""

from __future__ import annotations

from enum import StrEnum

from domain.enums import WarningState as S
from domain.warning_rules import Verb
from domain.workflows import Move, Workflow

REFERRAL_PREFIXES = ("转", "移交")


class Action(StrEnum):
    ACKNOWLEDGE = "acknowledge"
    VERIFY = "verify"
    MEDIATE = "mediate"
    RESOLVE = "resolve"
    FAIL = "fail"
    REFER = "refer"
    VOID = "void"
    FOLLOW_UP = "follow_up"
    CLOSE = "close"
    REOPEN = "reopen"


VERBS: dict[Action, Verb] = {  # what staff type for each action
    Action.ACKNOWLEDGE: Verb.ACKNOWLEDGE,
    Action.VERIFY: Verb.VERIFY,
    Action.MEDIATE: Verb.MEDIATE,
    Action.RESOLVE: Verb.RESOLVE,
    Action.FAIL: Verb.FAIL,
    Action.REFER: Verb.FAIL,
    Action.VOID: Verb.VOID,
    Action.FOLLOW_UP: Verb.FOLLOW_UP,
    Action.CLOSE: Verb.CLOSE,
    Action.REOPEN: Verb.REOPEN,
}
OUTCOMES = frozenset({S.RESOLVED, S.FAILED, S.REFERRED})
WARNING: Workflow[S, Action] = Workflow(
    "warning",
    (
        Move(Action.ACKNOWLEDGE, frozenset({S.SUBMITTED}), S.ACKNOWLEDGED, stamp="acknowledged_at"),
        Move(Action.VERIFY, frozenset({S.ACKNOWLEDGED}), S.VERIFYING),
        Move(Action.MEDIATE, frozenset({S.ACKNOWLEDGED, S.VERIFYING}), S.MEDIATING, stamp="mediation_started_at"),
        Move(Action.RESOLVE, frozenset({S.MEDIATING}), S.RESOLVED, needs_note=True, stamp="outcome_at"),
        Move(Action.FAIL, frozenset({S.MEDIATING}), S.FAILED, needs_note=True, stamp="outcome_at"),
        Move(Action.REFER, frozenset({S.MEDIATING}), S.REFERRED, needs_note=True, stamp="outcome_at"),
        Move(
            Action.VOID,
            frozenset({S.SUBMITTED, S.ACKNOWLEDGED, S.VERIFYING}),
            S.VOID,
            needs_note=True,
            stamp="outcome_at",
        ),
        Move(Action.FOLLOW_UP, OUTCOMES, S.FOLLOW_UP, needs_note=True),
        Move(Action.CLOSE, OUTCOMES | {S.FOLLOW_UP, S.VOID}, S.CLOSED, stamp="closed_at"),
        Move(
            Action.REOPEN,
            OUTCOMES | {S.FOLLOW_UP, S.VOID, S.CLOSED},
            S.VERIFYING,
            needs_note=True,
            clears=("outcome_at", "closed_at"),
        ),
    ),
)


def action_of(verb: Verb, note: str) -> Action | None:
    """The move a verb asks for; None for the verbs that move nothing (查看, 定级)."""
    if verb is Verb.FAIL and note.startswith(REFERRAL_PREFIXES):
        return Action.REFER
    return next((action for action, said in VERBS.items() if said is verb), None)


def verbs(actions: list[Action]) -> list[Verb]:
    """The verbs for `actions`, each once and in order (`未化解` both fails and refers)."""
    return list(dict.fromkeys(VERBS[action] for action in actions))
