"""Who may talk to the account: binding by invite code, staff asking for codes, and the gate for unbound users.

These routes go before every other capability (`bot.routing.routes`). They answer unbound users whatever they
send, so the routes after them only ever see bound users.
"""

from __future__ import annotations

import math
import unicodedata
from datetime import datetime

from domain.commands import Command
from domain.enums import Role
from domain.messages import Kind
from handlers.context import Context
from storage import identity, roster
from storage.identity import AlreadyBound, Bound, Locked, Refused

# The last word of `邀请码 企业名 预警员` picks the role; a chair is what staff ask for most.
_ROLE_WORDS = {"预警员": Role.WARNER, "预警": Role.WARNER, "主席": Role.CHAIR, "工会主席": Role.CHAIR}
BIND_WORDS = ("绑定",)
DUTY_WORDS = ("值班",)
_GATED = frozenset({Kind.TEXT, Kind.IMAGE, Kind.CLICK, Kind.UNSUPPORTED})
_DUTY_WORDS = {"开": True, "开启": True, "是": True, "关": False, "关闭": False, "否": False}


def bind(ctx: Context, command: Command) -> str:
    """`绑定 CODE`, also typed without the space or with full-width characters."""
    code = identity.normalize_code(command.args)
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


def unsubscribe(ctx: Context) -> None:
    """No reminders or alerts to someone who left; binding again with a new code restores the same row."""
    identity.deactivate(ctx.session, ctx.openid, ctx.now)
    ctx.forget_member()


def invite(ctx: Context, command: Command) -> str:
    """Staff create a code for an enterprise by name, so a chair can be bound without the command line."""
    if not identity.is_staff(ctx.member):
        return ctx.render("binding/invite_refused.j2", bound=ctx.member is not None)
    words = unicodedata.normalize("NFKC", command.args).split()
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


def duty_switch(_ctx: Context, command: Command) -> str | None:
    """`值班`, `值班 开`, `值班关`: one word at most after the command."""
    return None if any(char.isspace() for char in command.args) else command.args


def duty(ctx: Context, word: str) -> str:
    """Staff say whether they take the instant alerts (new warnings, applications, requests), e.g. while on leave."""
    member = ctx.member
    assert member is not None
    switch = _DUTY_WORDS.get(word)
    if switch is not None:
        identity.set_on_duty(ctx.session, member, switch)
    others = [person.name for person in identity.on_duty_staff(ctx.session) if person.id != member.id]
    return ctx.render("binding/duty.j2", on_duty=member.on_duty, changed=switch is not None, others=others)


def unbound_subscriber(ctx: Context) -> bool:
    return ctx.incoming.kind is Kind.SUBSCRIBE and ctx.member is None


def welcome(ctx: Context) -> str:
    return ctx.render("binding/welcome.j2")


def unbound(ctx: Context) -> bool:
    return ctx.incoming.kind in _GATED and ctx.member is None


def how_to_bind(ctx: Context) -> str:
    """The gate: an unbound user learns how to bind, whatever they sent."""
    return ctx.render("binding/how_to_bind.j2")
