"""A valid conversation through any form, planned by running the pure dialog engine offline.

The load generator must make every request a real form step, whatever fields the form has (the monthly report
changes while we measure). So instead of a hand-written script we walk the form's own field list with the real
engine and keep, for each question, the first candidate answer the engine accepts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from bot.channel.signing import new_msg_id, text_xml
from bot.channel.wechat import parse
from bot.dialog.engine import Engine, Message, Mode, State, Submit
from bot.dialog.fields import Field, FieldType
from bot.dialog.forms import Form, load_forms
from bot.routing.routes import HOOKS
from config.settings import Settings
from domain.commands import Command
from handlers.context import Context
from storage.db import Database

FALLBACKS = ("跳过", "完成", "否", "确认")
# Answers that parse for each field type; the first one the engine accepts is used.
BY_TYPE: dict[FieldType, tuple[str, ...]] = {
    FieldType.INTEGER: ("10", "0", "1"),
    FieldType.DECIMAL: ("5", "0", "1"),
    FieldType.MONEY: ("12000", "0", "1"),
    FieldType.PERCENT: ("2", "0", "1"),
    FieldType.CHOICE: ("1",),
    FieldType.MULTI_CHOICE: ("1",),
    FieldType.YES_NO: ("否", "是"),
    FieldType.TEXT: ("无",),
    FieldType.MOBILE: ("13812345678",),
    FieldType.ID_NUMBER: ("110101199003074514",),
    FieldType.CREDIT_CODE: ("91330201MA2AB1CD04",),
    FieldType.ATTACHMENTS: ("跳过", "完成"),
    FieldType.GROUP: ("跳过", "完成"),
}


class UnplannableForm(Exception):
    """No candidate answer moved the form forward; the message names the field."""


@dataclass(frozen=True)
class Turn:
    """What the user sends, and a phrase the reply must contain (None: any non-empty reply)."""

    text: str
    expect: str | None = None


def _bounded(field: Field, values: tuple[str, ...]) -> tuple[str, ...]:
    """Numeric candidates moved inside the field's bounds."""
    low = field.minimum if field.minimum is not None else Decimal("-Infinity")
    high = field.maximum if field.maximum is not None else Decimal("Infinity")
    inside = [v for v in values if low <= Decimal(v) <= high]
    extra = [str(b) for b in (field.minimum, field.maximum) if b is not None]
    return (*inside, *extra)


def candidates(field: Field, now: datetime) -> tuple[str, ...]:
    """Answers to try for `field`, best first."""
    if field.type in (FieldType.INTEGER, FieldType.DECIMAL, FieldType.MONEY, FieldType.PERCENT):
        own = _bounded(field, BY_TYPE[field.type])
    elif field.type is FieldType.DATE:
        own = ((now - timedelta(days=3)).date().isoformat(), "今天")
    elif field.type is FieldType.MONTH:
        own = ("上个月", "本月")
    elif field.type is FieldType.DATETIME:
        own = ("昨天下午3点", "今天")
    else:
        own = BY_TYPE[field.type]
    return (*own, *FALLBACKS)


def _question(form: Form, state: State) -> Field:
    """The field (or group sub-field) the engine is asking now."""
    current = form.field(str(state.cursor))
    if current.type is not FieldType.GROUP or not isinstance(state.pending, dict):
        return current
    if state.pending.get("more"):
        return current
    done = state.pending.get("current") or {}
    return next((sub for sub in current.fields if sub.id not in done), current)


def starting_context(form: Form, db: Database, settings: Settings, openid: str, now: datetime) -> dict[str, Any]:
    """What the form's capability hook gives `openid` at the start (e.g. the season's sections of the monthly
    report), read through the real hook so the plan asks exactly the questions the service will ask."""
    hook = HOOKS.get(form.id)
    if hook is None:
        return {}
    with db.transaction() as session:
        word = form.start_words[0]
        incoming = parse(text_xml(openid, word, new_msg_id()))
        context: dict[str, Any] = hook.context(Context(session, incoming, now, settings), form, Command(word, ""))
        return context


def plan(
    form: Form, now: datetime, context: dict[str, Any] | None = None, start: str | None = None, max_turns: int = 400
) -> list[Turn]:
    """The turns of one complete walk: start word, one accepted answer per question, and the final 确认."""
    engine = Engine(form)
    step = engine.begin(context or {})
    turns = [Turn(start or form.start_words[0], form.title)]
    while len(turns) < max_turns:
        state = step.state
        if state.mode is Mode.WARN:
            step = engine.step(state, Message("确认"), now)
            turns.append(Turn("确认"))
            continue
        if state.mode is Mode.SUMMARY:
            step = engine.step(state, Message("确认"), now)
            assert isinstance(step.action, Submit)
            turns.append(Turn("确认", "回执号"))
            return turns
        question = _question(form, state)
        before = state.to_json()
        for answer in candidates(question, now):
            trial = engine.step(State.from_json(before), Message(answer), now)
            after = trial.state.to_json()
            if trial.state.attempts == 0 and after != before and trial.action is None:
                step = trial
                turns.append(Turn(answer))
                break
        else:
            raise UnplannableForm(f"form {form.id}: no candidate answer accepted for field {question.id}")
    raise UnplannableForm(f"form {form.id}: no summary after {max_turns} turns")


PREFERRED = "monthly_report"


def preferred_walk(db: Database, settings: Settings, openid: str, now: datetime) -> tuple[str, list[Turn], str | None]:
    """The monthly report walked by a chair with no history, or the demo form when the monthly report is
    missing or cannot be walked; returns (form id, turns, why the demo form was used)."""
    forms = load_forms()
    form = forms.get(PREFERRED)
    note = f"{PREFERRED} form not found"
    if form is not None:
        try:
            return form.id, plan(form, now, starting_context(form, db, settings, openid, now)), None
        except Exception as exc:  # another engineer's form in progress must not stop the benchmark
            note = f"{PREFERRED} not walkable ({type(exc).__name__}: {str(exc)[:80]})"
    return "demo", plan(forms["demo"], now), note
