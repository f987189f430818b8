"""The form engine: `Engine(form).step(state, message, now) -> Step`. Pure: no I/O, no rendering.

A step returns what to say as `Say(template, context)` values and, at the end, an action for the edge
(`Submit` with the answers, or `Discard`). The state is plain JSON, saved by the edge after every answer,
so a restart, a day's pause or a switch to another form loses nothing.

One module on purpose (past 400 lines): the modes and their transitions are one state machine, read together.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from datetime import datetime
from enum import StrEnum
from typing import Any

from bot.dialog.fields import Field, FieldType, Json, coerce, display, parse_answer, typed
from bot.dialog.forms import Computed, Form
from domain.commands import command_text
from domain.normalize import ParseError, parse_yes_no

CANCEL = frozenset({"取消", "退出", "放弃"})
BACK = frozenset({"上一步", "返回", "后退"})
SKIP = frozenset({"跳过", "略过", "不填"})
HELP = frozenset({"帮助", "?", "怎么填"})
PROGRESS = frozenset({"进度", "已填"})
CONFIRM = frozenset({"确认", "提交", "确认提交", "确定"})
KEEP = frozenset({"同上", "同上月", "默认", "不变", "保持"})
FINISHED = frozenset({"完成", "好了", "发完了", "没有了"})
CONTINUE = frozenset({"继续", "继续填写"})
RESTART = frozenset({"重新开始", "重新填", "重填"})
REPLACE = frozenset({"替换", "重新上传", "重传"})
YES = frozenset({"是", "是的", "对", "好", "确认", "确定", "取消", "放弃"})
EDIT = re.compile(r"^(?:修改|改)\s*第?\s*(\d+)\s*项?$")
HINT_AFTER_ATTEMPTS = 3


class Mode(StrEnum):
    FILL = "fill"
    WARN = "warn"  # an answer tripped a consistency check: confirm it or type another
    SUMMARY = "summary"
    CONFIRM_CANCEL = "confirm_cancel"
    RESUME = "resume"  # the user started the form again while a draft was pending
    DONE = "done"


@dataclass
class State:
    form: str
    answers: dict[str, Json] = field(default_factory=dict)
    cursor: str | None = None
    mode: Mode = Mode.FILL
    history: list[str] = field(default_factory=list)
    attempts: int = 0
    editing: bool = False
    pending: Json = None
    before_cancel: Mode = Mode.FILL
    context: dict[str, Any] = field(default_factory=dict)
    receipt: str | None = None

    def to_json(self) -> dict[str, Any]:
        """Shallow (it shares the state's lists and dicts): written out at once, as every form step does."""
        return {item.name: getattr(self, item.name) for item in fields(self)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> State:
        values = dict(data)
        values["mode"] = Mode(values.get("mode", Mode.FILL))
        values["before_cancel"] = Mode(values.get("before_cancel", Mode.FILL))
        return cls(**values)


@dataclass(frozen=True)
class Say:
    template: str
    context: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Summary(Say):
    """The answers laid out for the user to confirm; capabilities may add lines to it (`Hooks.summary`)."""


@dataclass(frozen=True)
class Message:
    text: str = ""
    media_id: str | None = None


@dataclass(frozen=True)
class Submit:
    answers: dict[str, Json]


@dataclass(frozen=True)
class Discard:
    pass


@dataclass
class Step:
    state: State
    says: list[Say]
    action: Submit | Discard | None = None


def _yes_no(text: str) -> bool | None:
    try:
        return parse_yes_no(text)
    except ParseError:
        return None


class Engine:
    def __init__(self, form: Form) -> None:
        self.form = form

    # -- starting ------------------------------------------------------------------------------------

    def begin(self, context: dict[str, Any]) -> Step:
        state = State(form=self.form.id, context=context)
        first = self._next_visible(state, -1)
        assert first is not None, "a form always has a visible first field"
        state.cursor = first.id
        return Step(state, [Say("forms/_intro.j2", self._intro(state)), self._ask(state, first)])

    def reopen(self, answers: dict[str, Json], context: dict[str, Any], now: datetime) -> Step:
        """A filed form again, at its summary: the user changes what was asked for and confirms."""
        kept = {f.id: answers[f.id] for f in self.form.fields if f.id in answers}
        state = State(form=self.form.id, answers=kept, mode=Mode.SUMMARY, history=list(kept), context=context)
        return self.step(state, Message(), now)

    def offer_resume(self, state: State) -> Step:
        """The form was started again with a draft pending: 继续 or 重新开始."""
        if state.mode is not Mode.RESUME:
            state.before_cancel = state.mode
        state.mode = Mode.RESUME
        return Step(state, [Say("forms/_resume.j2", {"title": self.form.title, "filled": len(state.answers)})])

    # -- one message ---------------------------------------------------------------------------------

    def step(self, state: State, message: Message, now: datetime) -> Step:
        text = command_text(message.text)
        if state.mode is Mode.DONE:
            return Step(
                state, [Say("forms/_already_submitted.j2", {"title": self.form.title, "receipt": state.receipt})]
            )
        if state.mode is Mode.RESUME:
            return self._resume(state, text)
        if state.mode is Mode.CONFIRM_CANCEL:
            return self._confirm_cancel(state, text)
        if text in CANCEL:
            state.before_cancel, state.mode = state.mode, Mode.CONFIRM_CANCEL
            return Step(state, [Say("forms/_confirm_cancel.j2", {"title": self.form.title})])
        if text in HELP:
            return Step(state, [self._help(state)])
        if text in PROGRESS:
            return Step(state, [self._progress(state)])
        if text in CONTINUE:  # a user back after a pause: the question again, never an answer “继续”
            return Step(state, [self._reask(state)])
        if text in BACK:
            return self._back(state)
        if edit := EDIT.match(text):
            return self._edit(state, int(edit.group(1)))
        if state.mode is Mode.SUMMARY:
            if text in CONFIRM:
                state.mode = Mode.DONE
                return Step(state, [], Submit(self._final_answers(state)))
            return Step(state, [self._summary(state, hint=True)])
        return self._answer(state, message, text, now)

    def _resume(self, state: State, text: str) -> Step:
        if text in RESTART:
            return self.begin(state.context)
        if text in CONTINUE:
            state.mode = state.before_cancel
            return Step(state, [self._reask(state)])
        if text in CANCEL:  # before_cancel still holds the draft's mode, so “不” goes back to where it was
            state.mode = Mode.CONFIRM_CANCEL
            return Step(state, [Say("forms/_confirm_cancel.j2", {"title": self.form.title})])
        return self.offer_resume(state)

    def _confirm_cancel(self, state: State, text: str) -> Step:
        if text in YES:
            return Step(state, [Say("forms/_cancelled.j2", {"title": self.form.title})], Discard())
        state.mode = state.before_cancel
        return Step(state, [Say("forms/_not_cancelled.j2"), self._reask(state)])

    def _back(self, state: State) -> Step:
        if state.cursor and state.mode is Mode.FILL and self._group_back(state):
            return Step(state, [self._ask(state, self.form.field(state.cursor))])
        while state.history:
            previous = self.form.field(state.history.pop())
            if _shown(previous, self._values(state)):
                state.cursor, state.mode, state.attempts, state.editing = previous.id, Mode.FILL, 0, False
                state.pending = None
                return Step(state, [self._ask(state, previous)])
        return Step(state, [Say("forms/_at_first.j2"), self._reask(state)])

    def _group_back(self, state: State) -> bool:
        """Inside a group, 上一步 steps back one sub-question, into the previous record if need be."""
        group = self.form.field(str(state.cursor))
        progress = state.pending if group.type is FieldType.GROUP and isinstance(state.pending, dict) else None
        if progress is None or not (progress["current"] or progress["items"]):
            return False
        if not progress["current"]:
            progress["current"] = progress["items"].pop()
        answered = [sub.id for sub in group.fields if sub.id in progress["current"]]
        del progress["current"][answered[-1]]
        progress["more"] = False
        return True

    def _edit(self, state: State, number: int) -> Step:
        items = self._answered(state)
        if not 1 <= number <= len(items):
            return Step(state, [Say("forms/_no_such_item.j2", {"number": number, "count": len(items)})])
        target = items[number - 1]
        state.cursor, state.mode, state.attempts, state.editing = target.id, Mode.FILL, 0, True
        state.pending = None
        if target.type is FieldType.ATTACHMENTS:  # new photos are added to those filed; 替换 starts afresh
            state.pending = list(state.answers.get(target.id) or [])
        return Step(state, [self._ask(state, target)])

    def _answer(self, state: State, message: Message, text: str, now: datetime) -> Step:
        assert state.cursor is not None
        current = self.form.field(state.cursor)
        if state.mode is Mode.WARN and text in CONFIRM:
            return self._accept(state, current, state.pending, checked=True)
        if current.type is FieldType.GROUP and not (text in KEEP and state.pending is None):
            return self._group(state, current, message, text, now)
        if text in SKIP:
            if current.required:
                return Step(state, [Say("forms/_cannot_skip.j2", {"label": current.label}), self._ask(state, current)])
            return self._accept(state, current, [] if current.type is FieldType.ATTACHMENTS else None, checked=True)
        if text in KEEP:
            keep = self._keep(state, current)
            if keep is None:
                return Step(state, [Say("forms/_nothing_to_keep.j2"), self._ask(state, current)])
            return self._accept(state, current, keep)
        if current.type is FieldType.ATTACHMENTS:
            return self._attachment(state, current, message, text)
        if message.media_id:
            return Step(state, [Say("forms/_text_expected.j2"), self._ask(state, current)])
        try:
            value = parse_answer(current, message.text, now)
        except ParseError as error:
            state.attempts += 1
            return Step(state, [self._retry(state, current, error)])
        return self._accept(state, current, value)

    def _attachment(self, state: State, current: Field, message: Message, text: str) -> Step:
        media: list[str] = list(state.pending or [])
        if message.media_id:
            if len(media) >= current.max_count:
                return Step(state, [Say("forms/_too_many_images.j2", {"max_count": current.max_count})])
            media.append(message.media_id)
            state.pending = media
            return Step(state, [Say("forms/_image_received.j2", {"count": len(media), "max_count": current.max_count})])
        if text in FINISHED:
            if len(media) < max(current.min_count, 1 if current.required else 0):
                need = max(current.min_count, 1)
                return Step(state, [Say("forms/_need_images.j2", {"count": len(media), "need": need})])
            return self._accept(state, current, media, checked=True)
        if text in REPLACE:
            state.pending = []
            return Step(state, [Say("forms/_images_cleared.j2", {"count": len(media)})])
        return Step(state, [Say("forms/_images_expected.j2", {"count": len(media)})])

    def _group(self, state: State, group: Field, message: Message, text: str, now: datetime) -> Step:
        """A repeated sub-form: each record asked field by field, then "add another?" until done."""
        progress = self._progress_of(state)
        items: list[dict[str, Json]] = progress["items"]
        enough = len(items) >= max(group.min_count, 1 if group.required else 0)
        if progress["more"] or (text in FINISHED and not progress["current"]):
            wants_more = _yes_no(text) if text not in FINISHED else False
            if wants_more is None:
                return Step(state, [self._more(group, items)])
            if wants_more and len(items) < group.max_count:
                progress["more"] = False
                return Step(state, [self._ask(state, group)])
            if not enough:
                progress["more"] = False
                need = max(group.min_count, 1)
                return Step(
                    state, [Say("forms/_group_need.j2", {"label": group.label, "need": need}), self._ask(state, group)]
                )
            return self._accept(state, group, items, checked=True)
        sub = next(f for f in group.fields if f.id not in progress["current"])
        if text in SKIP:
            if not items and not progress["current"] and not group.required:
                return self._accept(state, group, [], checked=True)
            if sub.required:
                return Step(state, [Say("forms/_cannot_skip.j2", {"label": sub.label}), self._ask(state, group)])
            value: Json = None
        elif message.media_id:
            return Step(state, [Say("forms/_text_expected.j2"), self._ask(state, group)])
        else:
            try:
                value = parse_answer(sub, message.text, now)
            except ParseError as error:
                state.attempts += 1
                return Step(state, [self._retry(state, group, error)])
        state.attempts = 0
        progress["current"][sub.id] = value
        if len(progress["current"]) < len(group.fields):
            return Step(state, [self._ask(state, group)])
        items.append(progress["current"])
        progress["current"] = {}
        if len(items) >= group.max_count:
            return self._accept(state, group, items, checked=True)
        progress["more"] = True
        return Step(state, [self._more(group, items)])

    @staticmethod
    def _progress_of(state: State) -> dict[str, Any]:
        if not isinstance(state.pending, dict):
            state.pending = {"items": [], "current": {}, "more": False}
        return state.pending

    def _more(self, group: Field, items: list[dict[str, Json]]) -> Say:
        return Say("forms/_group_more.j2", {"label": group.label, "count": len(items), "max_count": group.max_count})

    def _accept(self, state: State, current: Field, value: Json, checked: bool = False) -> Step:
        if current.stop_if is not None and current.stop_if.evaluate(
            {**self._values(state), current.id: typed(current, value)}
        ):
            return Step(state, [Say(self.form.template(current.id, "stop"), {"title": self.form.title})], Discard())
        if not checked and current.warn_if is not None:
            values = {**self._values(state), current.id: typed(current, value)}
            if current.warn_if.evaluate(values):
                state.mode, state.pending = Mode.WARN, value
                context = {"value": display(current, value), "label": current.label, "values": values}
                return Step(state, [Say(self.form.template(current.id, "warn"), context), Say("forms/_warn_hint.j2")])
        state.answers[current.id] = value
        state.pending, state.attempts, state.mode = None, 0, Mode.FILL
        state.history.append(current.id)
        self._prune(state)
        following = self._following(state, current)
        if following is None:
            state.cursor, state.mode, state.editing = None, Mode.SUMMARY, False
            return Step(state, [self._summary(state, hint=True)])
        state.cursor = following.id
        return Step(state, [self._ask(state, following)])

    # -- navigation ----------------------------------------------------------------------------------

    def _values(self, state: State) -> dict[str, Any]:
        """The answers typed for expressions; a hidden question with `otherwise` stands for that value."""
        last = state.context.get("last") or {}
        values: dict[str, Any] = {
            "last": {f.id: typed(f, last[f.id]) for f in self.form.fields if f.id in last},
            "ctx": state.context.get("ctx") or {},
        }
        for f in self.form.fields:  # in order: a condition names only earlier questions
            if f.id in state.answers:
                values[f.id] = typed(f, state.answers[f.id])
            elif f.otherwise is not None and not _shown(f, values):
                values[f.id] = f.otherwise.evaluate(values)
        return values

    def _visible_fields(self, state: State) -> list[Field]:
        values = self._values(state)
        return [f for f in self.form.fields if _shown(f, values)]

    def _next_visible(self, state: State, after: int) -> Field | None:
        values = self._values(state)
        return next((f for f in self.form.fields[after + 1 :] if _shown(f, values)), None)

    def _following(self, state: State, current: Field) -> Field | None:
        """Next question: in order while filling; after `修改 N`, only what the change newly requires."""
        position = self.form.index(current.id)
        if not state.editing:
            return self._next_visible(state, position)
        values = self._values(state)
        return next(
            (f for f in self.form.fields[position + 1 :] if f.id not in state.answers and _shown(f, values)), None
        )

    def _prune(self, state: State) -> None:
        """Answers to questions an edit has hidden no longer belong to the form."""
        values = self._values(state)
        for candidate in self.form.fields:
            if candidate.id in state.answers and not _shown(candidate, values):
                del state.answers[candidate.id]
                values = self._values(state)  # a hidden answer may have been what showed a later question

    def _answered(self, state: State) -> list[Field]:
        return [f for f in self._visible_fields(state) if f.id in state.answers]

    def _keep(self, state: State, current: Field) -> Json:
        if current.id in state.answers:
            return state.answers[current.id]
        if current.default is None:
            return None
        return coerce(current, current.default.evaluate(self._values(state)))

    @staticmethod
    def _keep_source(state: State, current: Field) -> str:
        """Where the offered value comes from, so the prompt can say 当前 / 上月 / 默认."""
        if current.id in state.answers:
            return "current"
        if current.default is not None and "last" in current.default.names:
            return "last"
        return "default"

    def _final_answers(self, state: State) -> dict[str, Json]:
        answers = {f.id: state.answers[f.id] for f in self._answered(state)}
        values = self._values(state)
        answers.update(
            (f.id, coerce(f, values.get(f.id)))
            for f in self.form.fields
            if f.otherwise is not None and f.id not in answers and values.get(f.id) is not None
        )
        answers.update((item.id, value) for item, value in self._computed(state))
        return answers

    def _computed(self, state: State) -> list[tuple[Computed, Json]]:
        values = self._values(state)
        return [(item, coerce(item.as_field, item.expr.evaluate(values))) for item in self.form.computed]

    # -- what to say ---------------------------------------------------------------------------------

    def _intro(self, state: State) -> dict[str, Any]:
        """A form may say more before its first question (`forms/<id>/intro.j2`, given the capability's `ctx`)."""
        own = f"forms/{self.form.id}/intro.j2"
        return {"title": self.form.title, "form": self.form.id, "own": own, "ctx": state.context.get("ctx") or {}}

    def _field_context(self, state: State, current: Field) -> dict[str, Any]:
        values = self._values(state)
        visible = [f for f in self.form.fields if _shown(f, values)]
        keep = self._keep(state, current)
        return {
            "form": self.form.id,
            "title": self.form.title,
            "field": current,
            "prompt": self.form.template(current.id, "prompt"),
            "number": visible.index(current) + 1 if current in visible else 1,
            "total": len(visible),
            "keep": None if keep is None else display(current, keep),
            "keep_source": self._keep_source(state, current),
            "values": values,
            "collected": len(state.pending) if isinstance(state.pending, list) else 0,
        }

    def _ask(self, state: State, current: Field) -> Say:
        context = self._field_context(state, current)
        if current.type is not FieldType.GROUP:
            return Say("forms/_ask.j2", context)
        progress = self._progress_of(state)
        sub = next(f for f in current.fields if f.id not in progress["current"])
        context.update(
            group=current,
            field=sub,
            record=len(progress["items"]) + 1,
            starting=not progress["items"] and not progress["current"],
            group_prompt=self.form.template(current.id, "prompt"),
            prompt=self.form.template(f"{current.id}.{sub.id}", "prompt"),
        )
        return Say("forms/_ask_record.j2", context)

    def _reask(self, state: State) -> Say:
        if state.mode is Mode.SUMMARY or state.cursor is None:
            return self._summary(state, hint=True)
        return self._ask(state, self.form.field(state.cursor))

    def _retry(self, state: State, current: Field, error: ParseError) -> Say:
        context = {**error.params, **self._field_context(state, current)}
        if current.type is FieldType.GROUP:
            context["field"] = next(f for f in current.fields if f.id not in self._progress_of(state)["current"])
        context.update(reason=f"input/{error.reason}.j2", attempts=state.attempts)
        context["hint_more"] = state.attempts >= HINT_AFTER_ATTEMPTS
        return Say("forms/_retry.j2", context)

    def _help(self, state: State) -> Say:
        if state.cursor is None:
            return Say("forms/_summary_help.j2", {"title": self.form.title})
        context = self._field_context(state, self.form.field(state.cursor))
        context["help"] = self.form.template(state.cursor, "help")
        return Say("forms/_help.j2", context)

    def _items(self, state: State) -> list[tuple[int, str, str]]:
        return [(i, f.label, display(f, state.answers[f.id])) for i, f in enumerate(self._answered(state), start=1)]

    def _summary(self, state: State, hint: bool) -> Say:
        values = self._values(state)
        computed = [
            (
                c.label,
                display(Field(c.id, c.type, c.label), coerce(Field(c.id, c.type, c.label), c.expr.evaluate(values))),
            )
            for c in self.form.computed
        ]
        return Summary(
            "forms/_summary.j2",
            {"title": self.form.title, "items": self._items(state), "computed": computed, "hint": hint},
        )

    def _progress(self, state: State) -> Say:
        pending = self.form.field(state.cursor).label if state.cursor else None
        return Say("forms/_progress.j2", {"title": self.form.title, "items": self._items(state), "pending": pending})


def _shown(candidate: Field, values: dict[str, Any]) -> bool:
    """Whether a question applies, given the answers so far (as `Engine._values` types them)."""
    return candidate.show_if is None or bool(candidate.show_if.evaluate(values))
