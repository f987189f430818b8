"""The monthly report (月报) and dues exemptions (免交/缓交): form hooks and the staff decision commands.

The forms themselves are data (`config/forms/monthly_report.yaml`, `dues_exemption.yaml`); this module supplies
what they cannot know (the month reported, last month's figures, the season) and what a submission causes
(a report revision, an exemption request and the staff alert).
"""

from __future__ import annotations

import re
from typing import Any

from bot.dialog.engine import Mode, Say, command_text
from bot.dialog.forms import Form
from bot.routing.message import Kind
from bot.routing.router import Context, Router
from bot.services.notify import notify
from config.reporting import reporting
from domain import calendar, timefmt
from domain.enums import RequestState, Role
from domain.normalize import ParseError, parse_month
from handlers.forms import Hooks
from storage import drafts, identity, reports
from storage.models import DuesExemption, Enterprise, MonthlyReport, Submission

router = Router("monthly_report")

REPORT_WORDS = frozenset({"月报", "填月报"})
EXEMPTION_WORDS = ("免交", "缓交")
_DECISION = re.compile(
    r"^(?:免交|缓交)\s*(?P<receipt>[Ee]\d+)\s*(?:(?P<verdict>不同意|不批准|驳回|同意|批准)\s*(?P<note>.*))?$",
    re.DOTALL,
)
_STAFF_COMMAND = re.compile(r"^(?:免交|缓交)\s*(?:待审|[Ee]\d+)")
_APPROVE = frozenset({"同意", "批准"})


# -- which month -----------------------------------------------------------------------------------------------


def _report_args(ctx: Context) -> str | None:
    """The words after `月报` (None when the message does not start the monthly report)."""
    if ctx.incoming.kind is not Kind.TEXT:
        return None
    word, _, args = ctx.text.partition(" ")
    return args.strip() if command_text(word) in REPORT_WORDS else None


def _period(ctx: Context, args: str) -> str:
    """The month reported: the one named, else the month being collected now (last month).

    Raises `ParseError` for a month that cannot be read, lies ahead, or has not ended yet.
    """
    today = ctx.local_now.date()
    if not args:
        return calendar.reporting_period(today)
    year, month = parse_month(args, today=today)
    period = calendar.month_key(year, month)
    if period == calendar.month_key(today.year, today.month):
        raise ParseError("month_not_over", year=year, month=month)
    return period


def _bad_period(ctx: Context) -> bool:
    args = _report_args(ctx)
    member = ctx.member
    if not args or member is None or member.role != Role.CHAIR:
        return False
    try:
        _period(ctx, args)
    except ParseError:
        return True
    return False


@router.route(_bad_period)
def refuse_period(ctx: Context) -> str:
    try:
        _period(ctx, _report_args(ctx) or "")
    except ParseError as error:
        return ctx.render("monthly_report/bad_period.j2", reason=error.reason, **error.params)
    raise AssertionError("refuse_period routed for a readable month")


def _pending_period(ctx: Context) -> str | None:
    """The month of an unfinished report draft, when the chair now names a different month."""
    args = _report_args(ctx)
    member = ctx.member
    if not args or member is None or member.role != Role.CHAIR:
        return None
    draft = drafts.load_draft(ctx.session, ctx.openid, "monthly_report")
    if draft is None or draft.state.get("mode") == Mode.DONE or draft.expires_at < ctx.now:
        return None
    pending = str(draft.state.get("context", {}).get("ctx", {}).get("period", ""))
    return pending if pending and pending != _period(ctx, args) else None


@router.route(lambda ctx: _pending_period(ctx) is not None)
def finish_pending_first(ctx: Context) -> str:
    """Starting another month would resume the pending draft under its own month; say so instead."""
    pending = _pending_period(ctx) or ""
    named = _period(ctx, _report_args(ctx) or "")
    return ctx.render(
        "monthly_report/other_period_pending.j2",
        pending=calendar.label(pending),
        named=calendar.label(named),
        command=ctx.text,
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


def report_context(ctx: Context, form: Form, args: str) -> dict[str, Any]:
    period = _period(ctx, args)
    member = ctx.member
    previous = None
    if member is not None and member.enterprise_id is not None:
        previous = reports.latest_report(ctx.session, member.enterprise_id, calendar.shift(period, -1))
    settings = reporting()
    scope: dict[str, Any] = {
        "period": period,
        "period_label": calendar.label(period),
        "care_last": _cared_for(previous),
        "dues_tolerance": str(settings.dues_tolerance_points),
        **settings.in_season(int(period[5:])),
    }
    return {"last": reports.as_answers(previous) if previous else {}, "ctx": scope}


def report_submitted(ctx: Context, form: Form, record: Submission) -> list[Say]:
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
    says = [Say("monthly_report/receipt.j2", {"period": calendar.label(period), "revision": report.revision})]
    if report.has_risk:
        says.append(Say("monthly_report/offer_warning.j2"))
    return says


# -- dues exemption hooks --------------------------------------------------------------------------------------


def exemption_context(ctx: Context, form: Form, args: str) -> dict[str, Any]:
    """`免交` / `缓交` already say which; `经费免交` asks."""
    word = command_text(ctx.text.partition(" ")[0])
    return {"ctx": {"kind": word if word in EXEMPTION_WORDS else ""}}


def _enterprise_name(ctx: Context, enterprise_id: int) -> str:
    enterprise = ctx.session.get(Enterprise, enterprise_id)
    return enterprise.name if enterprise else str(enterprise_id)


def _local(ctx: Context) -> str:
    return timefmt.minute(ctx.now, ctx.settings.zone)


def exemption_submitted(ctx: Context, form: Form, record: Submission) -> list[Say]:
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
            last_month=calendar.shift(first, int(answers["months"]) - 1),
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
    first, last = calendar.label(exemption.first_month), calendar.label(exemption.last_month)
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


def _wants_staff_command(ctx: Context) -> bool:
    return ctx.incoming.kind is Kind.TEXT and bool(_STAFF_COMMAND.match(ctx.text))


@router.route(_wants_staff_command)
def exemption_command(ctx: Context) -> str:
    member = ctx.member
    if not identity.is_staff(member):
        return ctx.render("monthly_report/exemption_staff_only.j2")
    if command_text(ctx.text)[2:] == "待审":
        pending = [
            (_exemption_facts(ctx, item), item.reason) for item, _name in reports.pending_exemptions(ctx.session)
        ]
        return ctx.render("monthly_report/exemption_pending.j2", pending=pending)
    decision = _DECISION.match(ctx.text)
    if decision is None or decision["verdict"] is None:
        return ctx.render("monthly_report/exemption_usage.j2")
    receipt, approve, note = decision["receipt"].upper(), decision["verdict"] in _APPROVE, decision["note"].strip()
    exemption = reports.exemption_by_receipt(ctx.session, receipt)
    if exemption is None:
        return ctx.render("monthly_report/exemption_not_found.j2", receipt=receipt)
    facts = _exemption_facts(ctx, exemption)
    if exemption.state != RequestState.PENDING:
        return ctx.render("monthly_report/exemption_already.j2", **facts)
    if not approve and not note:
        return ctx.render("monthly_report/exemption_reason_needed.j2", receipt=receipt)
    reports.decide_exemption(ctx.session, exemption, approve=approve, actor=ctx.openid, note=note, now=ctx.now)
    facts = _exemption_facts(ctx, exemption)
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


hooks: dict[str, Hooks] = {
    "monthly_report": Hooks(context=report_context, on_submit=report_submitted),
    "dues_exemption": Hooks(context=exemption_context, on_submit=exemption_submitted),
}
