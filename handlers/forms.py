"""The edge of the form engine: start or resume a form, feed it the user's messages, save, submit.

Forms are data (`config/forms/*.yaml`); a capability that needs more than the generic submission record
(a monthly report row, a warning case and its alerts) registers `Hooks` for its form id.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from bot.dialog import sealed
from bot.dialog.engine import CONFIRM, Discard, Engine, Message, Mode, Say, State, Step, Submit
from bot.dialog.forms import Form
from domain.commands import Command, command_text, split_command
from domain.messages import Kind
from handlers.context import Context
from storage import drafts
from storage.models import Conversation, Draft, Submission


@dataclass(frozen=True)
class Hooks:
    """What a capability adds to a form: starting context (e.g. last month's answers) and submit effects."""

    context: Callable[[Context, Form, Command], dict[str, Any]] = lambda _ctx, _form, _command: {}
    on_submit: Callable[[Context, Form, Submission], list[Say]] = lambda _ctx, _form, _record: []
    # Lines the capability adds to the summary the user confirms (e.g. a warning's computed level and why).
    summary: Callable[[Context, Form, dict[str, Any]], list[Say]] = lambda _ctx, _form, _answers: []


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
class FormDesk:
    forms: dict[str, Form]
    hooks: dict[str, Hooks] = field(default_factory=dict)

    # -- filters -------------------------------------------------------------------------------------

    def starting(self, ctx: Context) -> Started | None:
        incoming = ctx.incoming
        for form in self.forms.values():
            if incoming.kind is Kind.CLICK and incoming.event_key in form.menu_keys:
                return Started(form, Command("", ""))
            if incoming.kind is Kind.TEXT:
                command = split_command(ctx.text, form.start_words)
                if command is not None:
                    return Started(form, command)
        return None

    def in_form(self, ctx: Context) -> InForm | None:
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

    def start(self, ctx: Context, started: Started) -> str:
        form = started.form
        member = ctx.member
        role = member.role if member else ""
        if role not in form.roles:
            return ctx.render("forms/_not_allowed.j2", title=form.title, roles=sorted(form.roles), role=role)
        engine = Engine(form)
        notices: list[Say] = []
        draft = self._live_draft(ctx, form, drafts.load_draft(ctx.session, ctx.openid, form.id), notices)
        if draft is not None and draft.state.get("mode") != Mode.DONE:
            step = engine.offer_resume(self._state(ctx, form, draft))
        else:
            if draft is not None:  # a submitted draft: the next filing needs a draft (and submission key) of its own
                drafts.delete_draft(ctx.session, draft)
                draft = None
            context = self.hooks.get(form.id, Hooks()).context(ctx, form, started.command)
            step = engine.begin(context)
        drafts.conversation(ctx.session, ctx.openid, ctx.now).active_form = form.id
        return self._finish(ctx, form, draft, step, notices)

    def answer(self, ctx: Context, routed: InForm) -> str:
        pointer = drafts.conversation(ctx.session, ctx.openid, ctx.now)
        form = routed.form
        notices: list[Say] = []
        draft = self._live_draft(ctx, form, routed.draft, notices)
        if draft is None:
            pointer.active_form = None
            return self._render(ctx, [*notices, Say("help.j2", {"role": ctx.member.role if ctx.member else ""})])
        message = Message(ctx.text, ctx.incoming.media_id or None)
        step = Engine(form).step(self._state(ctx, form, draft), message, ctx.local_now)
        return self._finish(ctx, form, draft, step, notices)

    # -- helpers -------------------------------------------------------------------------------------

    @staticmethod
    def _live_draft(ctx: Context, form: Form, draft: Draft | None, notices: list[Say]) -> Draft | None:
        """The user's draft of `form`, unless it expired (then it is dropped with a notice)."""
        if draft is not None and draft.expires_at < ctx.now:
            drafts.delete_draft(ctx.session, draft)
            notices.append(Say("forms/_expired.j2", {"title": form.title, "days": ctx.settings.draft_ttl_days}))
            return None
        return draft

    def _finish(self, ctx: Context, form: Form, draft: Draft | None, step: Step, notices: list[Say]) -> str:
        says = [*notices, *self._with_summary_extra(ctx, form, step)]
        pointer = drafts.conversation(ctx.session, ctx.openid, ctx.now)
        if isinstance(step.action, Discard):
            if draft is not None:
                drafts.delete_draft(ctx.session, draft)
            pointer.active_form = None
            return self._render(ctx, says)
        saved = drafts.save_draft(
            ctx.session,
            draft if draft is not None and draft.form_id == form.id else None,
            openid=ctx.openid,
            form_id=form.id,
            state=sealed.seal_state(form, step.state.to_json(), ctx.settings.data_key),
            now=ctx.now,
            ttl=timedelta(days=ctx.settings.draft_ttl_days),
        )
        if isinstance(step.action, Submit):
            says.extend(self._submit(ctx, form, saved, step))
        return self._render(ctx, says)

    def _submit(self, ctx: Context, form: Form, draft: Draft, step: Step) -> list[Say]:
        assert isinstance(step.action, Submit)
        member = ctx.member
        record = drafts.submit(
            ctx.session,
            form_id=form.id,
            receipt_prefix=form.receipt_prefix,
            draft_key=f"{draft.id}:{draft.created_at.isoformat()}",
            openid=ctx.openid,
            enterprise_id=member.enterprise_id if member else None,
            answers=sealed.seal_answers(form, step.action.answers, ctx.settings.data_key),
            now=ctx.now,
        )
        step.state.receipt = record.receipt
        drafts.save_draft(
            ctx.session,
            draft,
            openid=ctx.openid,
            form_id=form.id,
            state=sealed.seal_state(form, step.state.to_json(), ctx.settings.data_key),
            now=ctx.now,
            ttl=timedelta(days=ctx.settings.draft_ttl_days),
        )
        extra = self.hooks.get(form.id, Hooks()).on_submit(ctx, form, record)
        return [Say("forms/_submitted.j2", {"title": form.title, "receipt": record.receipt}), *extra]

    def _with_summary_extra(self, ctx: Context, form: Form, step: Step) -> list[Say]:
        """The engine's summary, with the capability's own lines (`Hooks.summary`) rendered into it."""
        hook = self.hooks.get(form.id)
        if hook is None or not any(say.template == "forms/_summary.j2" for say in step.says):
            return step.says
        extra = [ctx.render(say.template, **say.context) for say in hook.summary(ctx, form, step.state.answers)]
        return [
            Say(say.template, {**say.context, "extra": extra}) if say.template == "forms/_summary.j2" else say
            for say in step.says
        ]

    @staticmethod
    def _state(ctx: Context, form: Form, draft: Draft) -> State:
        """The draft as the engine sees it: sensitive answers are stored sealed (`storage.sealed`)."""
        return State.from_json(sealed.open_state(form, draft.state, ctx.settings.data_key))

    @staticmethod
    def _render(ctx: Context, says: list[Say]) -> str:
        return "\n\n".join(ctx.render(say.template, **say.context) for say in says)
