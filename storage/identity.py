"""Who is who: bindings of WeChat users to roles, one-time invite codes, and the lockout against guessing."""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import bindparam
from sqlmodel import Session, col, delete, func, select
from typing_extensions import TypeIs

from domain.enums import Role
from storage.models import BindFailure, Enterprise, InviteCode, Member

# No 0/O, 1/I/L: a code read aloud or copied from a screenshot can only be typed one way.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8
INVITE_DAYS = 7
LOCKOUT_ATTEMPTS = 5
LOCKOUT_WINDOW = timedelta(hours=1)
STAFF_ROLES = frozenset({Role.STAFF, Role.ADMIN})  # federation staff: queries, reviews, case moves, alerts

_NOT_CODE = re.compile(r"[\s\-_·.]+")
_CODE_SHAPE = re.compile(rf"[A-Z0-9]{{{CODE_LENGTH}}}")
_ISSUED_SHAPE = re.compile(rf"[{CODE_ALPHABET}]{{{CODE_LENGTH}}}")
QR_MAX_LIFETIME = timedelta(days=30)  # WeChat keeps a temporary parametric QR code 30 days at most
SCENE_PREFIX = "bind:"  # a parametric QR's scene_str naming an invitation: `bind:9BDTMW82` (WeChat allows 64)


# Asked for every message: built once (and its cache key with it), bound to each sender.
ACTIVE_MEMBER = select(Member).where(Member.openid == bindparam("openid"), Member.active == True)  # noqa: E712


def active_member(session: Session, openid: str) -> Member | None:
    return session.exec(ACTIVE_MEMBER, params={"openid": openid}).first()


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalize_code(text: str) -> str:
    """What a user typed, as stored: full-width letters, lower case, spaces and dashes all forgiven."""
    return _NOT_CODE.sub("", unicodedata.normalize("NFKC", text)).upper()


def looks_like_code(code: str) -> bool:
    """A normalized text that could be some code; anything else is a typo, not a guess, and costs no attempt."""
    return bool(_CODE_SHAPE.fullmatch(code))


def looks_like_bare_code(text: str) -> bool:
    """A whole message that can only be a code (`9bdt mw82`): letters of the code alphabet and separators only."""
    return bool(_ISSUED_SHAPE.fullmatch(normalize_code(text)))


def invite_scene(code: str) -> str:
    return f"{SCENE_PREFIX}{code}"


def qr_expires(invite_expires_at: datetime, now: datetime) -> datetime:
    """When an invitation's QR code made now stops working: with the invitation, or after 30 days if sooner (an
    invitation that lives longer gets a fresh QR code each time it is shown)."""
    return min(invite_expires_at, now + QR_MAX_LIFETIME)


def code_in_scene(scene: str) -> str | None:
    """The code a scanned QR's scene names, or None for a scene that is not an invitation."""
    if not scene.startswith(SCENE_PREFIX):
        return None
    code = normalize_code(scene.removeprefix(SCENE_PREFIX))
    return code if looks_like_code(code) else None


def create_invite(
    session: Session,
    *,
    role: Role,
    enterprise: Enterprise | None,
    created_by: str,
    now: datetime,
    days: int = INVITE_DAYS,
) -> InviteCode:
    if role in (Role.CHAIR, Role.WARNER) and enterprise is None:
        raise ValueError(f"a {role} invite needs an enterprise")
    code = new_code()
    while session.get(InviteCode, code) is not None:
        code = new_code()
    invite = InviteCode(
        code=code,
        role=role,
        enterprise_id=enterprise.id if enterprise else None,
        created_by=created_by,
        created_at=now,
        expires_at=now + timedelta(days=days),
    )
    session.add(invite)
    session.flush()
    return invite


def locked_until(session: Session, openid: str, now: datetime) -> datetime | None:
    """The end of the lockout: an hour after the last of LOCKOUT_ATTEMPTS failures that fell within an hour."""
    recent = session.exec(
        select(BindFailure.at)
        .where(BindFailure.openid == openid, col(BindFailure.at) > now - 2 * LOCKOUT_WINDOW)
        .order_by(col(BindFailure.at).desc())
        .limit(LOCKOUT_ATTEMPTS)
    ).all()
    if len(recent) < LOCKOUT_ATTEMPTS or recent[0] - recent[-1] > LOCKOUT_WINDOW:
        return None
    until = recent[0] + LOCKOUT_WINDOW
    return until if until > now else None


def attempts_left(session: Session, openid: str, now: datetime) -> int:
    failures = session.exec(
        select(func.count())
        .select_from(BindFailure)
        .where(BindFailure.openid == openid, col(BindFailure.at) > now - LOCKOUT_WINDOW)
    ).one()
    return max(LOCKOUT_ATTEMPTS - int(failures), 0)


@dataclass(frozen=True)
class Bound:
    member: Member
    enterprise: Enterprise | None
    previous: tuple[str, Enterprise | None] | None  # the role and enterprise this binding replaced


@dataclass(frozen=True)
class AlreadyBound:
    """The user sent the code they already bound with: no attempt is spent."""

    member: Member
    enterprise: Enterprise | None


Unusable = Literal["unknown", "used", "expired"]


@dataclass(frozen=True)
class Refused:
    reason: Unusable
    attempts_left: int
    locked_until: datetime | None


@dataclass(frozen=True)
class Locked:
    until: datetime


BindOutcome = Bound | AlreadyBound | Refused | Locked


def redeem(session: Session, openid: str, code: str, now: datetime) -> BindOutcome:
    """Bind `openid` with a normalized code, in the caller's transaction: the code is consumed only if it commits.

    The invite row is locked so two users sending the same code at once cannot both bind with it.
    """
    until = locked_until(session, openid, now)
    if until is not None:
        return Locked(until)
    invite = session.exec(select(InviteCode).where(InviteCode.code == code).with_for_update()).first()
    member = session.exec(select(Member).where(Member.openid == openid)).first()
    if invite is not None and invite.used_by == openid and member is not None and member.active:
        return AlreadyBound(member, _enterprise(session, member.enterprise_id))
    reason = _unusable(invite, now)
    if reason is not None or invite is None:
        session.add(BindFailure(openid=openid, at=now))
        session.flush()
        return Refused(reason or "unknown", attempts_left(session, openid, now), locked_until(session, openid, now))
    previous = (member.role, _enterprise(session, member.enterprise_id)) if member and member.active else None
    member = _bind(session, member, openid, invite.role, invite.enterprise_id, now)
    invite.used_at = now
    invite.used_by = openid
    session.add(invite)
    session.exec(delete(BindFailure).where(col(BindFailure.openid) == openid))
    return Bound(member, _enterprise(session, member.enterprise_id), previous)


def _unusable(invite: InviteCode | None, now: datetime) -> Unusable | None:
    if invite is None:
        return "unknown"
    if invite.used_at is not None:
        return "used"
    if invite.expires_at <= now:
        return "expired"
    return None


def _enterprise(session: Session, enterprise_id: int | None) -> Enterprise | None:
    return session.get(Enterprise, enterprise_id) if enterprise_id is not None else None


def _bind(
    session: Session, member: Member | None, openid: str, role: Role, enterprise_id: int | None, now: datetime
) -> Member:
    """One Member row per openid: binding again, or after unsubscribing, reuses it."""
    if member is None:
        member = Member(openid=openid, role=role, enterprise_id=enterprise_id, bound_at=now)
    member.role = role
    member.enterprise_id = enterprise_id
    member.active = True
    member.bound_at = now
    member.deactivated_at = None
    session.add(member)
    session.flush()
    return member


def add_staff(session: Session, openid: str, *, name: str, admin: bool, now: datetime) -> Member:
    """Federation staff are trusted by the operator directly, without an invite code."""
    member = session.exec(select(Member).where(Member.openid == openid)).first()
    member = _bind(session, member, openid, Role.ADMIN if admin else Role.STAFF, None, now)
    member.name = name
    session.add(member)
    return member


def set_contact(session: Session, member: Member, *, name: str | None, mobile: str | None) -> None:
    """A chair's or warner's own name and mobile, shown to staff; a value left out (跳过) keeps the stored one."""
    if name:
        member.name = name
    if mobile:
        member.mobile = mobile
    session.add(member)


def contacts_of(session: Session, enterprise_id: int, role: Role) -> Sequence[Member]:
    """The active members of an enterprise in `role`, bound first first: whom staff call."""
    query = select(Member).where(
        Member.enterprise_id == enterprise_id, Member.role == role, col(Member.active).is_(True)
    )
    return session.exec(query.order_by(col(Member.bound_at), col(Member.id))).all()


def deactivate(session: Session, openid: str, now: datetime) -> bool:
    """An unsubscribed user gets nothing more from the account until they bind again."""
    member = active_member(session, openid)
    if member is None:
        return False
    member.active = False
    member.deactivated_at = now
    session.add(member)
    return True


def set_on_duty(session: Session, member: Member, on_duty: bool) -> None:
    """Off duty, staff still get escalations and digests; only the instant alerts skip them."""
    member.on_duty = on_duty
    session.add(member)


def is_staff(member: Member | None) -> TypeIs[Member]:
    return member is not None and member.role in STAFF_ROLES


def on_duty_staff(session: Session) -> Sequence[Member]:
    """Who is alerted at once of a new warning, application or request: active staff and admins on duty."""
    query = select(Member).where(
        col(Member.role).in_(STAFF_ROLES), col(Member.active).is_(True), col(Member.on_duty).is_(True)
    )
    return session.exec(query.order_by(col(Member.id))).all()
