"""困难职工帮扶: a chair files for a worker (form `hardship`), staff review the case by message.

Privacy runs through every path: answers are sealed in drafts and submissions, encrypted in the row, masked in
replies and alerts; only the filing chair and staff see a case, and each view or photo link is audited.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlmodel import select

from bot.dialog import desk, sealed
from bot.dialog.desk import Filed, Hooks
from bot.dialog.engine import Say
from bot.dialog.forms import Form, shipped_forms
from bot.services import links
from bot.services.notify import notify
from config.hardship import hardship_config
from domain import timefmt
from domain.commands import Command
from domain.enums import HardshipState, Role
from domain.normalize import ParseError, parse_money
from domain.workflows import Actor, Audience, NotAllowed, decide
from domain.workflows.hardship import HARDSHIP, Action, add_working_days
from handlers.context import Context
from storage import hardship as cases
from storage import identity, media, outbox
from storage.models import HardshipApplication, Member, Submission

FORM_ID = "hardship"
CASE_WORDS = ("审核", "查看", "修改申请", "入户", "公示", "发放", "复核", "退出")
_CASE_ARGS = re.compile(r"^(?P<receipt>[HhＨｈ]\d+)(?:\s+(?P<rest>.*))?$", re.DOTALL)


def hardship_form() -> Form:
    return shipped_forms()[FORM_ID]


def yuan(value: Decimal | None) -> str:
    return "" if value is None else f"{value:,.2f}"


def _state_name(ctx: Context, state: str) -> str:
    return ctx.render("hardship/state_name.j2", state=state)


def owner(row: HardshipApplication) -> str:
    return f"{HARDSHIP.kind}:{row.id}"


# -- filing ------------------------------------------------------------------------------------------


def _form_context(
    _ctx: Context | None = None, _form: Form | None = None, _command: Command | None = None
) -> dict[str, Any]:
    """What the form's expressions and the consent notice need: 低保标准 and the notice's version."""
    config = hardship_config()
    return {"ctx": {"dibao": str(config.dibao_monthly), "consent_version": config.consent_version}}


def _on_submit(ctx: Context, form: Form, filed: Filed) -> list[Say]:
    record = filed.record
    member = ctx.member
    assert member is not None and member.enterprise_id is not None and record.id is not None
    done = select(HardshipApplication).where(HardshipApplication.submission_id == record.id)
    if ctx.session.exec(done).first() is not None:
        return []
    key = ctx.settings.data_key
    answers = sealed.open_answers(form, record.answers, key)
    context = filed.context
    version = str(context.get("ctx", {}).get("consent_version") or hardship_config().consent_version)
    amended = cases.by_receipt(ctx.session, str(context.get(desk.AMENDS) or ""))
    standing = Actor.FILER if amended is not None and amended.chair == ctx.openid else None
    if amended is not None and HARDSHIP.allows(amended.state, Action.RESUBMIT, standing):
        row = amended
        cases.refile(
            ctx.session, row, submission_id=record.id, answers=answers, key=key, consent_version=version, now=ctx.now
        )
    else:
        row = cases.create(
            ctx.session,
            submission_id=record.id,
            receipt=record.receipt,
            enterprise_id=member.enterprise_id,
            chair=ctx.openid,
            answers=answers,
            key=key,
            consent_version=version,
            now=ctx.now,
        )
    row.duplicate_of = cases.duplicates(ctx.session, row, hardship_config().duplicate_window_days, ctx.now)
    ctx.session.add(row)
    for media_id in row.photos:
        media.register(ctx.session, media_id=media_id, owner=owner(row), uploaded_by=ctx.openid, now=ctx.now)
        outbox.enqueue_media(ctx.session, media_id=media_id, owner=owner(row), openid=ctx.openid, now=ctx.now)
    _alert_staff(ctx, row, record)
    return [Say("hardship/filed.j2", {"row": row, "resubmitted": row.receipt != record.receipt})]


def _alert_staff(ctx: Context, row: HardshipApplication, record: Submission) -> None:
    """Receipt, enterprise, category and amount; the ID number masked at most, nothing else personal."""
    facts = {
        "receipt": row.receipt,
        "title": hardship_form().title,
        "state": _state_name(ctx, row.state),
        "at": timefmt.minute(ctx.now, ctx.settings.zone),
    }
    text = ctx.render(
        "hardship/staff_alert.j2",
        row=row,
        enterprise=cases.enterprise_name(ctx.session, row),
        amount=yuan(row.amount_requested),
        resubmitted=row.receipt != record.receipt,
    )
    for staff in identity.on_duty_staff(ctx.session):
        key = f"hardship:{row.id}:alert:{record.id}:{staff.openid}"
        notify(ctx.session, openid=staff.openid, notice="case_update", facts=facts, text=text, key=key, now=ctx.now)


hooks: dict[str, Hooks[Context]] = {FORM_ID: Hooks(context=_form_context, on_submit=_on_submit)}


# -- commands ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseCommand:
    word: str
    receipt: str  # "H7"
    rest: str  # as typed: a reason or an amount and category


def names_a_case(_ctx: Context, said: Command) -> CaseCommand | None:
    """`审核 H7 通过 800`, `查看h7`, `入户 Ｈ７`: a verb followed by a receipt."""
    found = _CASE_ARGS.match(said.args)
    if found is None:
        return None
    return CaseCommand(
        said.word, unicodedata.normalize("NFKC", found["receipt"]).upper(), (found["rest"] or "").strip()
    )


def _visible(member: Member | None, row: HardshipApplication | None) -> bool:
    """Staff see every case; a chair only the ones they filed; warners and strangers none."""
    if member is None or row is None:
        return False
    return identity.is_staff(member) or (member.role == Role.CHAIR and row.chair == member.openid)


def hardship_command(ctx: Context, command: CaseCommand) -> str:
    word, receipt, rest = command.word, command.receipt, command.rest
    member = ctx.member
    row = cases.by_receipt(ctx.session, receipt)
    if word == "查看":
        if not _visible(member, row):
            return ctx.render("hardship/not_found.j2", receipt=receipt)
        assert member is not None and row is not None
        return _view(ctx, member, row)
    if word == "修改申请":
        if member is None or member.role != Role.CHAIR or not _visible(member, row):
            return ctx.render("hardship/not_found.j2", receipt=receipt)
        assert row is not None
        return _amend(ctx, row)
    if not identity.is_staff(member):
        return ctx.render("hardship/staff_only.j2")
    if row is None:
        return ctx.render("hardship/not_found.j2", receipt=receipt)
    return _decide(ctx, member, row, word, rest)


def _view(ctx: Context, member: Member, row: HardshipApplication) -> str:
    staff = identity.is_staff(member)
    cases.audit(ctx.session, actor=ctx.openid, action="view", subject=row.receipt, detail=member.role, now=ctx.now)
    links_out: list[str] = []
    if staff:
        ttl = timedelta(minutes=hardship_config().photo_link_minutes)
        for stored in media.files_of(ctx.session, owner(row)):
            if stored.path is None:
                continue
            links_out.append(links.signed_url(ctx.settings, stored.path, ctx.now, ttl))
            cases.audit(
                ctx.session,
                actor=ctx.openid,
                action="photo_link",
                subject=row.receipt,
                detail=stored.path,
                now=ctx.now,
            )
    window = hardship_config().duplicate_window_days
    return ctx.render(
        "hardship/view.j2",
        row=row,
        staff=staff,
        private=cases.reveal(row, ctx.settings.data_key),
        enterprise=cases.enterprise_name(ctx.session, row),
        duplicates=cases.duplicates(ctx.session, row, window, ctx.now) if staff else [],
        window=window,
        events=cases.events(ctx.session, row),
        links=links_out,
        lost=media.lost(ctx.session, owner(row)) if staff else 0,
        photos=len(row.photos),
        zone=ctx.settings.zone,
        yuan=yuan,
        state_name=lambda state: _state_name(ctx, state),
    )


def _amend(ctx: Context, row: HardshipApplication) -> str:
    """Re-open a returned application as a draft at its summary, prefilled with what was filed."""
    if not HARDSHIP.allows(row.state, Action.RESUBMIT, Actor.FILER):
        return ctx.render("hardship/not_amendable.j2", receipt=row.receipt, state=_state_name(ctx, row.state))
    form = hardship_form()
    record = ctx.session.get(Submission, row.submission_id)
    assert record is not None
    filed = sealed.open_answers(form, record.answers, ctx.settings.data_key)
    intro = Say("hardship/amend_intro.j2", {"receipt": row.receipt, "reason": row.return_reason or ""})
    reopened = desk.reopen(ctx, form, filed, {**_form_context(), desk.AMENDS: row.receipt}, intro)
    return reopened if reopened is not None else ctx.render("hardship/draft_pending.j2", receipt=row.receipt)


# Staff's actions: each one's own command word (`入户 H7`), or a verdict after 审核 (`审核 H7 通过 800`).
ACTIONS = {action.value: action for action in (Action.VISIT, Action.NOTICE, Action.PAY, Action.REVIEW, Action.EXIT)}
VERDICTS = {action.value: action for action in (Action.RETURN, Action.REJECT, Action.APPROVE)}


def _decide(ctx: Context, member: Member, row: HardshipApplication, word: str, rest: str) -> str:
    if word == "审核":
        verdict, *more = rest.split(maxsplit=1) or [""]
        action = VERDICTS.get(verdict)
        rest = more[0].strip() if more else ""
    else:
        action = ACTIONS[word]
    if action is None:
        return ctx.render("hardship/usage.j2", receipt=row.receipt)
    if HARDSHIP.move(action).needs_note and not rest:  # asked for before the state: the command is incomplete
        return ctx.render("hardship/need_reason.j2", receipt=row.receipt, action=action.value)
    running_until = _notice_running_until(ctx, row) if action is Action.APPROVE else None
    if running_until is not None:
        start = timefmt.chinese_day(row.notice_start) if row.notice_start else ""
        return ctx.render("hardship/notice_running.j2", row=row, start=start, end=timefmt.chinese_day(running_until))
    try:
        move = decide(HARDSHIP, row.state, action, Actor.STAFF)
        note = _apply(ctx, row, action, rest)
    except NotAllowed as refused:
        state = _state_name(ctx, refused.state)
        return ctx.render("hardship/invalid.j2", receipt=row.receipt, state=state, action=action.value)
    except ParseError:
        return ctx.render("hardship/usage.j2", receipt=row.receipt)
    cases.move(ctx.session, row, move.target, member.openid, note, ctx.now)
    if Audience.FILER in move.tells:
        _tell_chair(ctx, row)
    return ctx.render("hardship/moved.j2", row=row, state=_state_name(ctx, row.state), yuan=yuan, action=action.value)


def _notice_running_until(ctx: Context, row: HardshipApplication) -> date | None:
    """The last day of a public notice (公示) still running: it must run its full length before approval."""
    end = row.notice_end
    running = row.state == HardshipState.NOTICE and end is not None and ctx.local_now.date() <= end
    return end if running else None


def _apply(ctx: Context, row: HardshipApplication, action: Action, rest: str) -> str:
    """Set what the step records on the row; returns the event's note. Raises ParseError on a bad amount."""
    today = ctx.local_now.date()
    if action in (Action.RETURN, Action.REJECT):
        row.return_reason = rest[:500]
    elif action is Action.NOTICE:
        row.notice_start = today
        row.notice_end = add_working_days(today, hardship_config().notice_working_days)
        return f"{row.notice_start.isoformat()}..{row.notice_end.isoformat()}"
    elif action is Action.APPROVE:
        amount_text, *named = rest.split(maxsplit=1) or [""]
        options = hardship_form().field("category").options
        category = named[0].strip() if named else row.category
        if category not in options:
            raise ParseError("unknown_choice")
        row.approved_amount = parse_money(amount_text, unit="yuan")
        row.approved_category = category
        return f"{category} {row.approved_amount}"
    elif action is Action.PAY:
        paid = parse_money(rest, unit="yuan") if rest else row.approved_amount
        row.paid_amount, row.paid_on = paid, today
        return f"{paid} {today.isoformat()}"
    return rest[:500]


def _tell_chair(ctx: Context, row: HardshipApplication) -> None:
    """The receipt and the new state (and what to do next); nothing personal travels in a push."""
    state = _state_name(ctx, row.state)
    facts = {
        "receipt": row.receipt,
        "title": ctx.render("hardship/update_title.j2", row=row, title=hardship_form().title, yuan=yuan),
        "state": state,
        "at": timefmt.minute(ctx.now, ctx.settings.zone),
    }
    text = ctx.render(
        "hardship/chair_update.j2", row=row, state=state, yuan=yuan, on=timefmt.chinese_day(ctx.local_now.date())
    )
    key = f"hardship:{row.id}:{row.state}:{ctx.incoming.dedup_key}"
    notify(ctx.session, openid=row.chair, notice="case_update", facts=facts, text=text, key=key, now=ctx.now)
