"""The hardship application's case: staff review, visit, publish, approve and pay; the filing chair is told.

A returned application goes back to review when the chair who filed it corrects it (`修改申请 H7`, then 确认);
staff on duty hear of it as of a new one. How long the public notice (公示) lasts is a local setting
(`notice_working_days` in `config/hardship.yaml`); how its last day is counted is here.
"""

from __future__ import annotations

from datetime import date, timedelta
from enum import StrEnum

from domain.enums import HardshipState as S
from domain.workflows import Actor, Audience, Move, Workflow


class Action(StrEnum):
    """What is done to an application, named as it is typed."""

    RETURN = "退回"
    REJECT = "不予受理"
    VISIT = "入户"
    NOTICE = "公示"
    APPROVE = "通过"
    PAY = "发放"
    REVIEW = "复核"
    EXIT = "退出"
    RESUBMIT = "修改申请"


HARDSHIP: Workflow[S, Action] = Workflow(
    "hardship",
    (
        Move(Action.RETURN, frozenset({S.SUBMITTED, S.VISITED}), S.RETURNED, needs_note=True),
        Move(Action.REJECT, frozenset({S.SUBMITTED, S.RETURNED, S.VISITED, S.NOTICE}), S.REJECTED, needs_note=True),
        Move(Action.VISIT, frozenset({S.SUBMITTED}), S.VISITED),
        Move(Action.NOTICE, frozenset({S.VISITED}), S.NOTICE),
        Move(Action.APPROVE, frozenset({S.NOTICE}), S.APPROVED),
        Move(Action.PAY, frozenset({S.APPROVED, S.REVIEW}), S.PAID),
        Move(Action.REVIEW, frozenset({S.PAID}), S.REVIEW),
        Move(Action.EXIT, frozenset({S.APPROVED, S.PAID, S.REVIEW}), S.EXITED, needs_note=True),
        Move(
            Action.RESUBMIT,
            frozenset({S.RETURNED}),
            S.SUBMITTED,
            by=frozenset({Actor.FILER}),
            tells=frozenset({Audience.ON_DUTY_STAFF}),
        ),
    ),
)


def add_working_days(start: date, days: int) -> date:
    """The last day of a notice lasting `days` working days (Monday–Friday) from `start`, `start` included."""
    current, counted = start, 0
    while True:
        if current.weekday() < 5:
            counted += 1
            if counted == days:
                return current
        current += timedelta(days=1)
