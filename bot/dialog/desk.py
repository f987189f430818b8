"""The edge of the form engine: start or resume a form, feed it the user's messages, save, submit.

The only code that reads or writes drafts: everything else sees a draft as the engine's typed `State`.
Forms are data (`config/forms/*.yaml`); a capability that needs more than the generic submission record
(a monthly report row, a warning case and its alerts) registers `Hooks` for its form id.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Generic, Protocol, TypeVar

from sqlmodel import Session

from bot.dialog import sealed
from bot.dialog.engine import CONFIRM, Discard, Engine, Message, Mode, Say, State, Step, Submit, Summary
from bot.dialog.forms import Form
from config.settings import Settings
from domain.commands import Command, command_text, split_command
from domain.messages import Incoming, Kind
from storage import drafts
from storage.db import Database
from storage.models import Conversation, Draft, Member, Submission


class Turn(Protocol):
    """What the desk needs of the message being handled (`handlers.context.Context` is one)."""

    session: Session
    incoming: Incoming
    now: datetime
    settings: Settings

    @property
    def member(self) -> Member | None: ...

    @property
    def openid(self) -> str: ...

    @property
    def text(self) -> str: ...

    @property
    def local_now(self) -> datetime: ...

    def render(self, name: str, **context: Any) -> str: ...


C = TypeVar("C", bound=Turn)
log = logging.getLogger("unionbot.drafts")
AMENDS = "amends"  # the context key naming the receipt a reopened form amends
SWEEP_BATCH = 500  # drafts deleted per transaction, so no sweep holds the table for long


@dataclass(frozen=True)
class Filed:
    """A confirmed submission, with the context its form was started with (e.g. the case a form amends)."""

    record: Submission
    context: dict[str, Any]


@dataclass(frozen=True)
class Hooks(Generic[C]):
    """What a capability registers with its form: the starting context (e.g. last month's answers), what a
    confirmed submission causes (`on_submit`), and lines added to the summary the user confirms."""

    context: Callable[[C, Form, Command], dict[str, Any]] = lambda _ctx, _form, _command: {}
    on_submit: Callable[[C, Form, Filed], list[Say]] = lambda _ctx, _form, _filed: []
    summary: Callable[[C, Form, dict[str, Any]], list[Say]] = lambda _ctx, _form, _answers: []


@dataclass(frozen=True)
class Started:
    """A message that starts `form`: its command word (empty for a menu click) and what followed it."""

    form: Form
    command: Command


@dataclass(frozen=True)
class InForm:
    """The form in front of the user and its draft, read once by the filter for the handler."""

    form: Form
    draft: Draft | None


@dataclass
class FormDesk(Generic[C]):
    forms: dict[str, Form]
    hooks: dict[str, Hooks[C]] = field(default_factory=dict)

    @property
    def menu_keys(self) -> frozenset[str]:
        """The menu clicks that start a form (`menu_keys` in its definition)."""
        return frozenset(key for form in self.forms.values() for key in form.menu_keys)

    # -- filters -------------------------------------------------------------------------------------

    def starting(self, ctx: C) -> Started | None:
        incoming = ctx.incoming
        for form in self.forms.values():
            if incoming.kind is Kind.CLICK and incoming.event_key in form.menu_keys:
                return Started(form, Command("", ""))
            if incoming.kind is Kind.TEXT:
                command = split_command(ctx.text, form.start_words)
                if command is not None:
                    return Started(form, command)
        return None

    def in_form(self, ctx: C) -> InForm | None:
        """A message for the form in front; once it is submitted, only a repeated 确认 still goes to it."""
        if ctx.incoming.kind not in (Kind.TEXT, Kind.IMAGE):
            return None
        pointer = ctx.session.get(Conversation, ctx.openid)
        if pointer is None or pointer.active_form not in self.forms:
            return None
        form = self.forms[str(pointer.active_form)]
        draft = drafts.load_draft(ctx.session, ctx.openid, form.id)
        submitted = draft is not None and draft.state.get("mode") == Mode.DONE
        return InForm(form, draft) if not submitted or command_text(ctx.text) in CONFIRM else None

    # -- handlers ------------------------------------------------------------------------------------

    def start(self, ctx: C, started: Started) -> str:
        form = started.form
        member = ctx.member
        role = member.role if member else ""
        if role not in form.roles:
            return ctx.render("forms/_not_allowed.j2", title=form.title, roles=sorted(form.roles), role=role)
        engine = Engine(form)
        notices: list[Say] = self._set_aside(ctx, form)
        draft = self._live_draft(ctx, form, drafts.load_draft(ctx.session, ctx.openid, form.id), notices)
        if draft is not None and draft.state.get("mode") != Mode.DONE:
            step = engine.offer_resume(self._state(ctx, form, draft))
        else:
            if draft is not None:  # a submitted draft: the next filing needs a draft (and submission key) of its own
                drafts.delete_draft(ctx.session, draft)
                draft = None
            context = self.hooks.get(form.id, Hooks[C]()).context(ctx, form, started.command)
            step = engine.begin(context)
        drafts.conversation(ctx.session, ctx.openid, ctx.now).active_form = form.id
        return self._finish(ctx, form, draft, step, notices)

    def answer(self, ctx: C, routed: InForm) -> str:
        pointer = drafts.conversation(ctx.session, ctx.openid, ctx.now)
        form = routed.form
        notices: list[Say] = []
        draft = self._live_draft(ctx, form, routed.draft, notices)
        if routed.draft is None:  # the pointer names a form whose draft expired and was swept (`sweep_expired`)
            notices.append(_expired(ctx, form))
        if draft is None:
            pointer.active_form = None
            return self._render(ctx, [*notices, Say("help.j2", {"role": ctx.member.role if ctx.member else ""})])
        message = Message(ctx.text, ctx.incoming.media_id or None)
        step = Engine(form).step(self._state(ctx, form, draft), message, ctx.local_now)
        return self._finish(ctx, form, draft, step, notices)

    # -- helpers -------------------------------------------------------------------------------------

    def _set_aside(self, ctx: C, starting: Form) -> list[Say]:
        """Starting a form while another is half-filled keeps the other: say so, and how to return to it."""
        pointer = ctx.session.get(Conversation, ctx.openid)
        if pointer is None or pointer.active_form in (None, starting.id) or pointer.active_form not in self.forms:
            return []
        other = self.forms[str(pointer.active_form)]
        state = unfinished(ctx, other)
        if state is None:
            return []
        word = other.start_words[0] if other.start_words else ""
        return [Say("forms/_set_aside.j2", {"title": other.title, "filled": len(state.answers), "word": word})]

    @staticmethod
    def _live_draft(ctx: C, form: Form, draft: Draft | None, notices: list[Say]) -> Draft | None:
        """The user's draft of `form`, unless it expired (then it is dropped with a notice)."""
        if draft is not None and draft.expires_at < ctx.now:
            drafts.delete_draft(ctx.session, draft)
            notices.append(_expired(ctx, form))
            return None
        return draft

    def _finish(self, ctx: C, form: Form, draft: Draft | None, step: Step, notices: list[Say]) -> str:
        says = [*notices, *self._with_summary_extra(ctx, form, step)]
        pointer = drafts.conversation(ctx.session, ctx.openid, ctx.now)
        if isinstance(step.action, Discard):
            if draft is not None:
                drafts.delete_draft(ctx.session, draft)
            pointer.active_form = None
            return self._render(ctx, says)
        saved = _save(ctx, form, draft if draft is not None and draft.form_id == form.id else None, step.state)
        if isinstance(step.action, Submit):
            says.extend(self._submit(ctx, form, saved, step))
        return self._render(ctx, says)

    def _submit(self, ctx: C, form: Form, draft: Draft, step: Step) -> list[Say]:
        assert isinstance(step.action, Submit)
        member = ctx.member
        amends = step.state.context.get(AMENDS)
        record = drafts.submit(
            ctx.session,
            form_id=form.id,
            receipt_prefix=form.receipt_prefix,
            amends=str(amends) if amends else None,
            draft_key=f"{draft.id}:{draft.created_at.isoformat()}",
            openid=ctx.openid,
            enterprise_id=member.enterprise_id if member else None,
            answers=sealed.seal_answers(form, step.action.answers, ctx.settings.data_key),
            now=ctx.now,
        )
        step.state.receipt = record.receipt
        _save(ctx, form, draft, step.state)
        extra = self.hooks.get(form.id, Hooks[C]()).on_submit(ctx, form, Filed(record, step.state.context))
        return [Say("forms/_submitted.j2", {"title": form.title, "receipt": record.receipt}), *extra]

    def _with_summary_extra(self, ctx: C, form: Form, step: Step) -> list[Say]:
        """The engine's summary, with the capability's own lines (`Hooks.summary`) rendered into it."""
        hook = self.hooks.get(form.id)
        if hook is None or not any(isinstance(say, Summary) for say in step.says):
            return step.says
        extra = [ctx.render(say.template, **say.context) for say in hook.summary(ctx, form, step.state.answers)]
        return [
            replace(say, context={**say.context, "extra": extra}) if isinstance(say, Summary) else say
            for say in step.says
        ]

    @staticmethod
    def _state(ctx: C, form: Form, draft: Draft) -> State:
        return _opened(ctx, form, draft)

    @staticmethod
    def _render(ctx: C, says: list[Say]) -> str:
        return _render(ctx, says)


def _expired(ctx: Turn, form: Form) -> Say:
    return Say("forms/_expired.j2", {"title": form.title, "days": ctx.settings.draft_ttl_days})


def _opened(ctx: Turn, form: Form, draft: Draft) -> State:
    """The draft as the engine sees it: sensitive answers are stored sealed (`bot.dialog.sealed`)."""
    return State.from_json(sealed.open_state(form, draft.state, ctx.settings.data_key))


def _save(ctx: Turn, form: Form, draft: Draft | None, state: State) -> Draft:
    """Every save seals the sensitive answers and pushes the expiry forward."""
    return drafts.save_draft(
        ctx.session,
        draft,
        openid=ctx.openid,
        form_id=form.id,
        state=sealed.seal_state(form, state.to_json(), ctx.settings.data_key),
        now=ctx.now,
        ttl=timedelta(days=ctx.settings.draft_ttl_days),
    )


def _render(ctx: Turn, says: list[Say]) -> str:
    return "\n\n".join(ctx.render(say.template, **say.context) for say in says)


def unfinished(ctx: Turn, form: Form) -> State | None:
    """The user's live, unsubmitted draft of `form`, as the engine's state."""
    draft = drafts.load_draft(ctx.session, ctx.openid, form.id)
    if draft is None or draft.expires_at < ctx.now or draft.state.get("mode") == Mode.DONE:
        return None
    return _opened(ctx, form, draft)


def filling_a_form(ctx: Turn) -> bool:
    """Whether the form in front of the user is still being filled (so their words are answers, not commands)."""
    pointer = ctx.session.get(Conversation, ctx.openid)
    if pointer is None or pointer.active_form is None:
        return False
    draft = drafts.load_draft(ctx.session, ctx.openid, pointer.active_form)
    return draft is not None and draft.state.get("mode") != Mode.DONE


def reopen(ctx: Turn, form: Form, answers: dict[str, Any], context: dict[str, Any], intro: Say) -> str | None:
    """A filed form opened again at its summary, prefilled (a returned case being amended): saved, confirmed and
    submitted through the same path as a first filing. None while another draft of the form is unfinished.
    A context naming the receipt it amends (`AMENDS`) numbers the new submission under it (H7-2), so an amendment
    takes no number from the next filing of its kind."""
    pending = drafts.load_draft(ctx.session, ctx.openid, form.id)
    if pending is not None and pending.state.get("mode") != Mode.DONE:
        return None
    if pending is not None:
        drafts.delete_draft(ctx.session, pending)
    step = Engine(form).reopen(answers, context, ctx.local_now)
    _save(ctx, form, None, step.state)
    drafts.conversation(ctx.session, ctx.openid, ctx.now).active_form = form.id
    return _render(ctx, [intro, *step.says])


def sweep_expired(db: Database, _settings: Settings, now: datetime) -> int:
    """Delete the drafts past their expiry (`UNIONBOT_DRAFT_TTL_DAYS` after their last save): each holds personal
    data, sealed or not. A user whose unfinished draft went keeps their pointer at the form, so their next message
    is told the draft expired; one who had submitted it is simply outside any form again. Returns how many."""
    removed = 0
    while True:
        with db.transaction() as session:
            batch = drafts.expired(session, now, SWEEP_BATCH)
            drafts.delete_many(session, [draft.id for draft in batch if draft.id is not None])
            submitted = [(draft.openid, draft.form_id) for draft in batch if draft.state.get("mode") == Mode.DONE]
            drafts.leave_forms(session, submitted)
        removed += len(batch)
        if len(batch) < SWEEP_BATCH:
            break
    if removed:
        log.info("drafts: removed %d expired drafts", removed)
    return removed
