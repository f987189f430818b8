"""劳动争议预警: the form's computed level, the alert to staff on duty, and the case workflow by message.

Staff move a case with `签收 W12`, `调处 W12`, `化解 W12 说明` and so on (`domain.workflows.warning` says what is
allowed); every move is recorded and the reporter is told. The alert carries no personal data: enterprise,
level, category and headcount only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.dialog.desk import Filed, Hooks
from bot.dialog.engine import Say
from bot.dialog.forms import Form
from bot.services import links
from bot.services.notify import notify
from config.warning_levels import Assessment, assess, level_rules
from domain import commands, timefmt
from domain.enums import Role, WarningLevel
from domain.warning_rules import (
    MAX_NOTE,
    MEDIATION_DAYS,
    Command,
    Verb,
    current_mediation_day,
    parse_level,
    read_command,
)
from domain.workflows import Actor, Audience, NotAllowed, decide
from domain.workflows.warning import WARNING, action_of, verbs
from handlers.context import Context
from storage import identity, media, outbox, warnings
from storage.models import CaseEvent, DisputeWarning, Member

FORM_ID = "dispute_warning"
NOTE_EXAMPLES = {  # what a note looks like, shown when a verb that needs one came without it
    Verb.RESOLVE: "resolve",
    Verb.FAIL: "fail",
    Verb.VOID: "void",
    Verb.FOLLOW_UP: "follow_up",
    Verb.REOPEN: "reopen",
}

# -- the form -------------------------------------------------------------------------------------------------


def _assessment(answers: dict[str, Any]) -> Assessment:
    return assess(level_rules(), warnings.facts(answers))


def _reasons(ctx: Context, assessment: Assessment) -> list[str]:
    return [ctx.render("dispute_warning/reason.j2", reason=reason) for reason in assessment.reasons]


def _summary(ctx: Context, _form: Form, answers: dict[str, Any]) -> list[Say]:
    """The level the rules give the answers so far, so the reporter sees it before 确认."""
    assessment = _assessment(answers)
    return [Say("dispute_warning/level.j2", {"level": assessment.level, "reasons": _reasons(ctx, assessment)})]


def _local(ctx: Context, moment: datetime) -> str:
    return timefmt.minute(moment, ctx.settings.zone)


def _on_submit(ctx: Context, _form: Form, filed: Filed) -> list[Say]:
    record = filed.record
    """Make the case once and alert every staff member on duty at once (keys make a repeat harmless)."""
    assessment = _assessment(record.answers)
    reasons = _reasons(ctx, assessment)
    warning, created = warnings.record_warning(ctx.session, record, assessment, reasons, ctx.settings.zone)
    if created:
        _fetch_photos(ctx, warning)
    staff = identity.on_duty_staff(ctx.session)
    for member in staff:
        _alert(ctx, warning, member)
    context = {"level": warning.computed_level, "reasons": reasons, "alerted": len(staff), "receipt": warning.receipt}
    return [Say("dispute_warning/receipt.j2", context)]


def photo_owner(warning: DisputeWarning) -> str:
    """Whose files the case's photos are stored as (`storage.media`), for the chat's links and the desk's."""
    return f"{WARNING.kind}:{warning.id}"


def _fetch_photos(ctx: Context, warning: DisputeWarning) -> None:
    """WeChat keeps a photo for 3 days only: fetch each one now, through the outbox, into encrypted files."""
    owner = photo_owner(warning)
    for media_id in warning.photos:
        if media.register(ctx.session, media_id=media_id, owner=owner, uploaded_by=ctx.openid, now=ctx.now):
            outbox.enqueue_media(ctx.session, media_id=media_id, owner=owner, openid=ctx.openid, now=ctx.now)


def _alert(ctx: Context, warning: DisputeWarning, member: Member) -> None:
    facts = {
        "receipt": warning.receipt,
        "enterprise": warnings.enterprise_name(ctx.session, warning),
        "level": warning.level,
        "category": warning.category,
        "workers": str(warning.workers),
        "reported_at": _local(ctx, warning.created_at),
    }
    notify(
        ctx.session,
        openid=member.openid,
        notice="warning_alert",
        facts=facts,
        text=ctx.render("dispute_warning/alert.j2", **facts),
        key=f"warning:{warning.id}:alert:{member.openid}",
        now=ctx.now,
    )


hooks: dict[str, Hooks[Context]] = {FORM_ID: Hooks(on_submit=_on_submit, summary=_summary)}
level_rules()  # read now: a malformed rules file stops the service at start-up, not at the first warning


# -- the case -------------------------------------------------------------------------------------------------


def names_a_case(_ctx: Context, said: commands.Command) -> Command | None:
    """Only a verb followed by a receipt (`核实 W12`): a warner typing “核实情况…” into a form is not a command."""
    command = read_command(said)
    return command if command.receipt is not None else None


def _may_view(member: Member | None, warning: DisputeWarning) -> bool:
    """Staff see every case; the reporter sees theirs; the enterprise's chair and warners see its warnings,
    whichever of them filed it."""
    if member is None:
        return False
    if identity.is_staff(member) or member.openid == warning.reporter:
        return True
    return (
        member.role in (Role.CHAIR, Role.WARNER)
        and warning.enterprise_id is not None
        and member.enterprise_id == warning.enterprise_id
    )


def _day(ctx: Context, warning: DisputeWarning) -> int | None:
    return current_mediation_day(warning.state, warning.mediation_started_at, ctx.now, ctx.settings.zone)


def case_command(ctx: Context, command: Command) -> str:
    assert command.receipt is not None
    warning = warnings.by_receipt(ctx.session, command.receipt, lock=command.verb is not Verb.VIEW)
    if warning is None:
        return ctx.render("dispute_warning/not_found.j2", receipt=command.receipt)
    member = ctx.member
    if command.verb is Verb.VIEW:
        if not _may_view(member, warning):
            return ctx.render("dispute_warning/view_refused.j2", receipt=warning.receipt)
        return _view(ctx, warning, member)
    if not identity.is_staff(member):
        reporter = _may_view(member, warning)
        return ctx.render("dispute_warning/refused.j2", verb=command.verb, receipt=warning.receipt, reporter=reporter)
    if len(command.rest) > MAX_NOTE:
        return ctx.render("dispute_warning/note_too_long.j2", limit=MAX_NOTE, length=len(command.rest))
    if command.verb is Verb.RELEVEL:
        return _relevel(ctx, warning, member, command.rest)
    return _move(ctx, warning, member, command)


def _view(ctx: Context, warning: DisputeWarning, member: Member | None) -> str:
    history = [
        {
            "at": _local(ctx, event.at),
            "state": event.to_state,
            "relevel": event.from_state == event.to_state,
            "note": event.note,
        }
        for event in warnings.events(ctx.session, warning)
    ]
    staff = identity.is_staff(member)
    stored = media.files_of(ctx.session, photo_owner(warning)) if staff else []
    photo_links = [links.signed_url(ctx.settings, item.path, ctx.now) for item in stored if item.path is not None]
    return ctx.render(
        "dispute_warning/case.j2",
        photo_links=photo_links,
        w=warning,
        enterprise=warnings.enterprise_name(ctx.session, warning),
        found_at=_local(ctx, warning.found_at),
        day=_day(ctx, warning),
        days=MEDIATION_DAYS,
        closed=timefmt.span(warning.created_at, warning.closed_at, ctx.settings.zone) if warning.closed_at else None,
        events=history,
        staff=staff,
        possible=[verb.value for verb in verbs(WARNING.possible(warning.state, Actor.STAFF))],
    )


def _move(ctx: Context, warning: DisputeWarning, member: Member, command: Command) -> str:
    before = warning.state
    action = action_of(command.verb, command.rest)
    assert action is not None, "查看 and 定级 are answered before"
    try:
        move = decide(WARNING, before, action, Actor.STAFF)
    except NotAllowed as refusal:
        return ctx.render(
            "dispute_warning/not_allowed.j2",
            receipt=warning.receipt,
            state=before,
            verb=command.verb,
            possible=[verb.value for verb in verbs(refusal.possible)],
        )
    if move.needs_note and not command.rest:
        example = ctx.render("dispute_warning/note_example.j2", kind=NOTE_EXAMPLES[command.verb])
        return ctx.render("dispute_warning/need_note.j2", verb=command.verb, receipt=warning.receipt, example=example)
    event = warnings.apply_move(ctx.session, warning, move, actor=member.openid, note=command.rest, now=ctx.now)
    day = _day(ctx, warning)
    if Audience.FILER in move.tells:
        _tell_reporter(ctx, warning, event, day=day)
    return ctx.render(
        "dispute_warning/moved.j2",
        receipt=warning.receipt,
        before=before,
        after=move.target,
        day=day,
        days=MEDIATION_DAYS,
    )


def _relevel(ctx: Context, warning: DisputeWarning, member: Member, rest: str) -> str:
    word, _, reason = rest.partition(" ")
    level = parse_level(word)
    levels = [item.value for item in WarningLevel]
    if level is None or not reason.strip():
        return ctx.render("dispute_warning/relevel_usage.j2", receipt=warning.receipt, levels=levels)
    before = warning.level
    if level == before:
        return ctx.render("dispute_warning/same_level.j2", receipt=warning.receipt, level=level)
    note = ctx.render("dispute_warning/level_note.j2", before=before, after=level, reason=reason.strip())
    event = warnings.change_level(ctx.session, warning, level, member.openid, note, ctx.now)
    _tell_reporter(ctx, warning, event, level_change=(before, level), note=reason.strip())
    return ctx.render(
        "dispute_warning/relevelled.j2",
        receipt=warning.receipt,
        before=before,
        after=level,
        computed=warning.computed_level,
    )


def _tell_reporter(
    ctx: Context,
    warning: DisputeWarning,
    event: CaseEvent,
    *,
    day: int | None = None,
    level_change: tuple[str, str] | None = None,
    note: str | None = None,
) -> None:
    at = _local(ctx, event.at)
    text = ctx.render(
        "dispute_warning/update.j2",
        receipt=warning.receipt,
        state=warning.state,
        day=day,
        days=MEDIATION_DAYS,
        level_change=level_change,
        note=event.note if note is None else note,
        at=at,
    )
    facts = {
        "receipt": warning.receipt,
        "title": ctx.render("dispute_warning/title.j2"),
        "state": ctx.render("dispute_warning/state_name.j2", state=warning.state),
        "at": at,
    }
    notify(
        ctx.session,
        openid=warning.reporter,
        notice="case_update",
        facts=facts,
        text=text,
        key=f"warning:{warning.id}:event:{event.id}",
        now=ctx.now,
    )
