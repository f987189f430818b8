"""Who may talk to the account: binding by invite code, staff asking for codes, and the gate for unbound users.

This router goes before every other capability. It answers unbound users whatever they send, so the routers
after it only ever see bound users; a bound user's ordinary messages match no route here and fall through.
"""

from __future__ import annotations

import math
import re
import unicodedata
from datetime import datetime

from bot.routing.message import Kind
from bot.routing.router import Context, Router
from domain.enums import Role
from storage import identity, roster
from storage.identity import AlreadyBound, Bound, Locked, Refused

router = Router("binding")

# The last word of `邀请码 企业名 预警员` picks the role; a chair is what staff ask for most.
_ROLE_WORDS = {"预警员": Role.WARNER, "预警": Role.WARNER, "主席": Role.CHAIR, "工会主席": Role.CHAIR}
_BIND = re.compile(r"^绑定\s*(.*)$", re.DOTALL)
_GATED = frozenset({Kind.TEXT, Kind.IMAGE, Kind.CLICK, Kind.UNSUPPORTED})
_DUTY = re.compile(r"^值班\s*(\S*)$")
_DUTY_WORDS = {"开": True, "开启": True, "是": True, "关": False, "关闭": False, "否": False}


def _bind_request(ctx: Context) -> bool:
    """`绑定 CODE`, also typed without the space or with full-width characters."""
    return ctx.incoming.kind is Kind.TEXT and bool(_BIND.match(unicodedata.normalize("NFKC", ctx.text)))


@router.route(_bind_request)
def bind(ctx: Context) -> str:
    typed = _BIND.match(unicodedata.normalize("NFKC", ctx.text))
    code = identity.normalize_code(typed[1] if typed else "")
    # Checked before the format too, so a locked-out user is never told to fix a code they cannot use yet.
    until = identity.locked_until(ctx.session, ctx.openid, ctx.now)
    if until is not None:
        return ctx.render("binding/locked.j2", minutes=_minutes_until(until, ctx.now))
    if not identity.looks_like_code(code):
        return ctx.render("binding/code_format.j2", code=code)
    outcome = identity.redeem(ctx.session, ctx.openid, code, ctx.now)
    ctx.forget_member()
    match outcome:
        case Bound(member, enterprise, previous):
            return ctx.render("binding/bound.j2", member=member, enterprise=enterprise, previous=previous)
        case AlreadyBound(member, enterprise):
            return ctx.render("binding/already_bound.j2", member=member, enterprise=enterprise)
        case Refused(reason, attempts_left, locked):
            minutes = _minutes_until(locked, ctx.now) if locked else 0
            return ctx.render("binding/refused.j2", reason=reason, attempts_left=attempts_left, minutes_locked=minutes)
        case Locked(until):
            return ctx.render("binding/locked.j2", minutes=_minutes_until(until, ctx.now))


def _minutes_until(until: datetime, now: datetime) -> int:
    return max(1, math.ceil((until - now).total_seconds() / 60))


@router.on(Kind.UNSUBSCRIBE)
def unsubscribe(ctx: Context) -> None:
    """No reminders or alerts to someone who left; binding again with a new code restores the same row."""
    identity.deactivate(ctx.session, ctx.openid, ctx.now)
    ctx.forget_member()


@router.command("邀请码")
def invite(ctx: Context) -> str:
    """Staff create a code for an enterprise by name, so a chair can be bound without the command line."""
    if not identity.is_staff(ctx.member):
        return ctx.render("binding/invite_refused.j2", bound=ctx.member is not None)
    words = unicodedata.normalize("NFKC", ctx.text).split()[1:]
    role = Role.CHAIR
    if len(words) > 1 and words[-1] in _ROLE_WORDS:
        role = _ROLE_WORDS[words.pop()]
    query = " ".join(words)
    if not query:
        return ctx.render("binding/invite_usage.j2")
    found = roster.find_enterprises(ctx.session, query)
    if not found:
        return ctx.render("binding/invite_not_found.j2", query=query)
    if len(found) > 1:
        candidates = found[: roster.CANDIDATE_LIMIT]
        return ctx.render(
            "binding/invite_candidates.j2", query=query, candidates=candidates, more=len(found) > len(candidates)
        )
    enterprise = found[0]
    code = identity.create_invite(ctx.session, role=role, enterprise=enterprise, created_by=ctx.openid, now=ctx.now)
    return ctx.render("binding/invite_created.j2", invite=code, enterprise=enterprise, zone=ctx.settings.zone)


@router.route(lambda ctx: ctx.incoming.kind is Kind.TEXT and bool(_DUTY.match(ctx.text)) and ctx.is_staff)
def duty(ctx: Context) -> str:
    """Staff say whether they take the instant alerts (new warnings, applications, requests), e.g. while on leave."""
    member = ctx.member
    assert member is not None
    typed = _DUTY.match(ctx.text)
    switch = _DUTY_WORDS.get(typed[1] if typed else "")
    if switch is not None:
        identity.set_on_duty(ctx.session, member, switch)
    others = [person.name for person in identity.on_duty_staff(ctx.session) if person.id != member.id]
    return ctx.render("binding/duty.j2", on_duty=member.on_duty, changed=switch is not None, others=others)


@router.route(lambda ctx: ctx.incoming.kind is Kind.SUBSCRIBE and ctx.member is None)
def welcome(ctx: Context) -> str:
    return ctx.render("binding/welcome.j2")


@router.route(lambda ctx: ctx.incoming.kind in _GATED and ctx.member is None)
def how_to_bind(ctx: Context) -> str:
    """The gate: an unbound user learns how to bind, whatever they sent."""
    return ctx.render("binding/how_to_bind.j2")
