"""Who may talk to the account: binding by invite code, staff asking for codes, and the gate for unbound users.

These routes go before every other capability (`bot.routing.routes`). They answer unbound users whatever they
send, so the routes after them only ever see bound users.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bot.services import links
from domain.commands import Command
from domain.enums import Role
from domain.messages import Kind
from handlers.context import Context
from storage import identity, outbox, roster
from storage.identity import AlreadyBound, Bound, Locked, Refused
from storage.models import Enterprise, InviteCode

# The last word of `邀请码 企业名 预警员` picks the role; a chair is what staff ask for most.
_ROLE_WORDS = {"预警员": Role.WARNER, "预警": Role.WARNER, "主席": Role.CHAIR, "工会主席": Role.CHAIR}
BIND_WORDS = ("绑定",)
DUTY_WORDS = ("值班",)
_GATED = frozenset({Kind.TEXT, Kind.IMAGE, Kind.VOICE, Kind.CLICK, Kind.UNSUPPORTED})
PROFILE_ROLES = frozenset({Role.CHAIR, Role.WARNER})  # asked for their name and mobile after binding
_DUTY_WORDS = {"开": True, "开启": True, "是": True, "关": False, "关闭": False, "否": False}


AskProfile = Callable[[Context], str]


@dataclass(frozen=True)
class Binding:
    """Binding by a typed code, by the code alone, or by scanning an invitation's QR code: one `identity.redeem`.

    `ask_profile` starts the name-and-mobile form once a chair or warner is bound; routing passes it in because
    the form desk is built there, above the handlers (left out, the welcome is all).
    """

    ask_profile: AskProfile | None = None

    def by_text(self, ctx: Context, command: Command) -> str:
        """`绑定 CODE`, also `绑定：CODE`, `绑定CODE`, lower case, full width or with spaces inside."""
        return self._redeem(ctx, identity.normalize_code(command.args))

    def by_code_alone(self, ctx: Context, code: str) -> str:
        """An unbound user who sends just the code (see `code_alone`)."""
        return self._redeem(ctx, code)

    def by_scan(self, ctx: Context, code: str) -> str:
        """A scan of an invitation's QR code (`subscribe` with `qrscene_bind:CODE`, or `SCAN` with `bind:CODE`)."""
        return self._redeem(ctx, code)

    def _redeem(self, ctx: Context, code: str) -> str:
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
                welcome = ctx.render("binding/bound.j2", member=member, enterprise=enterprise, previous=previous)
                if self.ask_profile is None or member.role not in PROFILE_ROLES:
                    return welcome
                return f"{welcome}\n\n{self.ask_profile(ctx)}"
            case AlreadyBound(member, enterprise):
                return ctx.render("binding/already_bound.j2", member=member, enterprise=enterprise)
            case Refused(reason, attempts_left, locked):
                minutes = _minutes_until(locked, ctx.now) if locked else 0
                return ctx.render(
                    "binding/refused.j2", reason=reason, attempts_left=attempts_left, minutes_locked=minutes
                )
            case Locked(until):
                return ctx.render("binding/locked.j2", minutes=_minutes_until(until, ctx.now))


def code_alone(ctx: Context) -> str | None:
    """The code sent on its own by someone not bound yet; a bound user's `AB23CD45` is left to the other routes."""
    if ctx.incoming.kind is not Kind.TEXT or ctx.member is not None or not identity.looks_like_bare_code(ctx.text):
        return None
    return identity.normalize_code(ctx.text)


def scanned_code(ctx: Context) -> str | None:
    """The invitation a scanned QR code names, whether the scan made the user follow or they already did."""
    if ctx.incoming.kind not in (Kind.SUBSCRIBE, Kind.SCAN):
        return None
    return identity.code_in_scene(ctx.incoming.scene)


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
    _send_qr(ctx, code, enterprise)
    return ctx.render("binding/invite_created.j2", invite=code, enterprise=enterprise, zone=ctx.settings.zone)


def _send_qr(ctx: Context, invite: InviteCode, enterprise: Enterprise) -> None:
    """Queue the invitation's QR code: the channel's worker asks WeChat for it (a handler never calls WeChat),
    stores the image and only then sends the signed link, so the link never points at a missing file."""
    path = f"invites/{invite.code}-{int(ctx.now.timestamp())}.png.enc"
    qr_until = identity.qr_expires(invite.expires_at, ctx.now)
    content = ctx.render(
        "binding/invite_qr.j2",
        invite=invite,
        enterprise=enterprise,
        link=links.signed_url(ctx.settings, path, ctx.now),
        minutes=ctx.settings.link_ttl_minutes,
        qr_until=qr_until,
        zone=ctx.settings.zone,
    )
    outbox.enqueue_invite_qr(
        ctx.session,
        code=invite.code,
        expires_at=invite.expires_at,
        path=path,
        content=content,
        openid=ctx.openid,
        now=ctx.now,
    )


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
