"""The monthly report (月报) and dues exemptions (免交/缓交): form hooks and the staff decision commands.

The forms themselves are data (`config/forms/monthly_report.yaml`, `dues_exemption.yaml`); this module supplies
what they cannot know (the month reported, last month's figures, the season) and what a submission causes
(a report revision, an exemption request and the staff alert).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bot.dialog import desk
from bot.dialog.desk import Filed, Hooks
from bot.dialog.engine import Say
from bot.dialog.forms import Form, shipped_forms
from bot.services.notify import notify
from config.reporting import reporting
from domain import timefmt
from domain.commands import Command, command_text
from domain.enums import Role
from domain.normalize import ParseError, parse_month
from domain.periods import Month, reporting_month
from domain.workflows import Actor, Audience, NotAllowed, decide
from domain.workflows.exemption import EXEMPTION, Action
from handlers.context import Context
from storage import identity, reports
from storage.models import DuesExemption, Enterprise, MonthlyReport, Submission

REPORT_WORDS = frozenset({"月报", "填月报"})
EXEMPTION_WORDS = ("免交", "缓交")
_DECISION = re.compile(
    r"^(?P<receipt>[Ee]\d+)\s*(?:(?P<verdict>不同意|不批准|驳回|同意|批准)\s*(?P<note>.*))?$",
    re.DOTALL,
)
_STAFF_ARGS = re.compile(r"^(?:待审|[Ee]\d+)")
_APPROVE = frozenset({"同意", "批准"})


# -- which month -----------------------------------------------------------------------------------------------


def _period(ctx: Context, args: str) -> Month:
    """The month reported: the one named, else the month being collected now (last month).

    Raises `ParseError` for a month that cannot be read, lies ahead, or has not ended yet.
    """
    today = ctx.local_now.date()
    if not args:
        return reporting_month(today)
    month = parse_month(args, today=today)
    if month == Month.of(today):
        raise ParseError("month_not_over", year=month.year, month=month.month)
    return month


def unreadable_month(ctx: Context, command: Command) -> ParseError | None:
    """A chair's `月报 X` naming a month that cannot be filed: why not."""
    member = ctx.member
    if not command.args or member is None or member.role != Role.CHAIR:
        return None
    try:
        _period(ctx, command.args)
    except ParseError as error:
        return error
    return None


def refuse_period(ctx: Context, error: ParseError) -> str:
    return ctx.render("monthly_report/bad_period.j2", reason=error.reason, **error.params)


@dataclass(frozen=True)
class OtherMonth:
    pending: str  # the month of the unfinished draft
    named: str  # the month the chair asked for now
    command: str


def other_month_pending(ctx: Context, command: Command) -> OtherMonth | None:
    """The month of an unfinished report draft, when the chair now names a different month."""
    member = ctx.member
    if not command.args or member is None or member.role != Role.CHAIR:
        return None
    state = desk.unfinished(ctx, shipped_forms()["monthly_report"])
    if state is None:
        return None
    pending = str(state.context.get("ctx", {}).get("period", ""))
    named = _period(ctx, command.args).key
    return OtherMonth(pending, named, ctx.text) if pending and pending != named else None


def finish_pending_first(ctx: Context, months: OtherMonth) -> str:
    """Starting another month would resume the pending draft under its own month; say so instead."""
    return ctx.render(
        "monthly_report/other_period_pending.j2",
        pending=Month.parse_key(months.pending).label,
        named=Month.parse_key(months.named).label,
        command=months.command,
    )


# -- monthly report hooks --------------------------------------------------------------------------------------


def _cared_for(report: MonthlyReport | None) -> bool:
    """Last month had care figures, so the care section is asked without the gate question."""
    if report is None:
        return False
    return bool(
        report.hardship_workers
        or report.care_visits
        or report.has_hardship_fund
        or report.has_service_point
        or report.has_mediation_committee
    )


def _filed(ctx: Context, report: MonthlyReport) -> dict[str, str]:
    """When and under which receipt the month was filed, told before a second filing's first question."""
    submission = ctx.session.get(Submission, report.submission_id)
    on = timefmt.local(report.submitted_at, ctx.settings.zone).date()
    return {"on": timefmt.month_day(on), "receipt": submission.receipt if submission else ""}


def report_context(ctx: Context, form: Form, command: Command) -> dict[str, Any]:
    period = _period(ctx, command.args)
    member = ctx.member
    previous = None
    if member is not None and member.enterprise_id is not None:
        previous = reports.latest_report(ctx.session, member.enterprise_id, period.shift(-1).key)
    settings = reporting()
    filed = None
    if member is not None and member.enterprise_id is not None:
        filed = reports.latest_report(ctx.session, member.enterprise_id, period.key)
    scope: dict[str, Any] = {
        "filed": _filed(ctx, filed) if filed else None,
        "period": period.key,
        "period_label": period.label,
        "care_last": _cared_for(previous),
        "dues_tolerance": str(settings.dues_tolerance_points),
        **settings.in_season(period.month),
    }
    return {"last": reports.as_answers(previous) if previous else {}, "ctx": scope}


def report_submitted(ctx: Context, form: Form, filed: Filed) -> list[Say]:
    record = filed.record
    member = ctx.member
    assert member is not None and member.enterprise_id is not None, "only a chair of an enterprise files reports"
    period = str(record.answers["period"])
    report = reports.write_report(
        ctx.session,
        submission_id=record.id or 0,
        enterprise_id=member.enterprise_id,
        period=period,
        answers=record.answers,
        submitted_by=ctx.openid,
        now=ctx.now,
    )
    says = [Say("monthly_report/receipt.j2", {"period": Month.parse_key(period).label, "revision": report.revision})]
    if report.has_risk:
        says.append(Say("monthly_report/offer_warning.j2"))
    return says


# -- dues exemption hooks --------------------------------------------------------------------------------------


def exemption_context(ctx: Context, form: Form, command: Command) -> dict[str, Any]:
    """`免交` / `缓交` already say which; `经费免交` asks."""
    return {"ctx": {"kind": command.word if command.word in EXEMPTION_WORDS else ""}}


def _enterprise_name(ctx: Context, enterprise_id: int) -> str:
    enterprise = ctx.session.get(Enterprise, enterprise_id)
    return enterprise.name if enterprise else str(enterprise_id)


def _local(ctx: Context) -> str:
    return timefmt.minute(ctx.now, ctx.settings.zone)


def exemption_submitted(ctx: Context, form: Form, filed: Filed) -> list[Say]:
    record = filed.record
    member = ctx.member
    assert member is not None and member.enterprise_id is not None, "only a chair of an enterprise asks"
    answers = record.answers
    first = str(answers["first_month"])
    exemption = reports.add_exemption(
        ctx.session,
        DuesExemption(
            submission_id=record.id or 0,
            receipt=record.receipt,
            enterprise_id=member.enterprise_id,
            kind=str(answers["chosen_kind"]),
            first_month=first,
            last_month=Month.parse_key(first).shift(int(answers["months"]) - 1).key,
            reason=str(answers["reason"]),
            requested_by=ctx.openid,
            requested_at=ctx.now,
        ),
    )
    facts = _exemption_facts(ctx, exemption)
    text = ctx.render("monthly_report/exemption_alert.j2", **facts, reason=exemption.reason)
    for staff in identity.on_duty_staff(ctx.session):
        notify(
            ctx.session,
            openid=staff.openid,
            notice="case_update",
            facts=facts,
            text=text,
            key=f"exemption:{exemption.id}:alert:{staff.openid}",
            now=ctx.now,
        )
    return [Say("monthly_report/exemption_submitted.j2", facts)]


def _exemption_facts(ctx: Context, exemption: DuesExemption) -> dict[str, str]:
    """What every exemption message and template-message keyword says about the request."""
    enterprise = _enterprise_name(ctx, exemption.enterprise_id)
    first, last = Month.parse_key(exemption.first_month).label, Month.parse_key(exemption.last_month).label
    return {
        "receipt": exemption.receipt,
        "title": ctx.render("monthly_report/exemption_title.j2", enterprise=enterprise, kind=exemption.kind),
        "enterprise": enterprise,
        "kind": exemption.kind,
        "months": ctx.render("monthly_report/exemption_months.j2", first=first, last=last),
        "state": ctx.render("monthly_report/exemption_state.j2", state=exemption.state),
        "at": _local(ctx),
    }


# -- staff decisions -------------------------------------------------------------------------------------------


def exemption_request(_ctx: Context, command: Command) -> Command | None:
    """`免交 待审`, `缓交 E3 同意`: staff's words, not a chair starting the request form."""
    return command if _STAFF_ARGS.match(command.args) else None


def exemption_command(ctx: Context, command: Command) -> str:
    member = ctx.member
    if not identity.is_staff(member):
        return ctx.render("monthly_report/exemption_staff_only.j2")
    if command_text(command.args) == "待审":
        pending = [
            (_exemption_facts(ctx, item), item.reason) for item, _name in reports.pending_exemptions(ctx.session)
        ]
        return ctx.render("monthly_report/exemption_pending.j2", pending=pending)
    decision = _DECISION.match(command.args)
    if decision is None or decision["verdict"] is None:
        return ctx.render("monthly_report/exemption_usage.j2")
    receipt, note = decision["receipt"].upper(), decision["note"].strip()
    action = Action.APPROVE if decision["verdict"] in _APPROVE else Action.REJECT
    approve = action is Action.APPROVE
    exemption = reports.exemption_by_receipt(ctx.session, receipt)
    if exemption is None:
        return ctx.render("monthly_report/exemption_not_found.j2", receipt=receipt)
    facts = _exemption_facts(ctx, exemption)
    try:
        move = decide(EXEMPTION, exemption.state, action, Actor.STAFF)
    except NotAllowed:
        return ctx.render("monthly_report/exemption_already.j2", **facts)
    if move.needs_note and not note:
        return ctx.render("monthly_report/exemption_reason_needed.j2", receipt=receipt)
    reports.decide_exemption(ctx.session, exemption, move.target, actor=ctx.openid, note=note, now=ctx.now)
    facts = _exemption_facts(ctx, exemption)
    if Audience.FILER in move.tells:
        notify(
            ctx.session,
            openid=exemption.requested_by,
            notice="case_update",
            facts=facts,
            text=ctx.render("monthly_report/exemption_result.j2", **facts, approved=approve, note=note),
            key=f"exemption:{exemption.id}:decision",
            now=ctx.now,
        )
    return ctx.render("monthly_report/exemption_decided.j2", **facts, approved=approve)


hooks: dict[str, Hooks[Context]] = {
    "monthly_report": Hooks(context=report_context, on_submit=report_submitted),
    "dues_exemption": Hooks(context=exemption_context, on_submit=exemption_submitted),
}
