"""The dues exemption's case (免交/缓交): staff decide a chair's request once, and the chair is told."""

from __future__ import annotations

from enum import StrEnum

from domain.enums import RequestState as S
from domain.workflows import Move, Workflow


class Action(StrEnum):
    APPROVE = "同意"
    REJECT = "不同意"


EXEMPTION: Workflow[S, Action] = Workflow(
    "exemption",
    (
        Move(Action.APPROVE, frozenset({S.PENDING}), S.APPROVED),
        Move(Action.REJECT, frozenset({S.PENDING}), S.REJECTED, needs_note=True),
    ),
)
