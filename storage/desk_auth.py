"""Who is signed in to the staff desk: one-time login links and browser sessions.

Tokens are handed out once (in a WeChat message, in a cookie) and only their SHA-256 is stored, so reading the
table signs nobody in. A session is good only while its member is active staff: deactivation ends it at the next
request without touching the session rows.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlmodel import Session, col, update

from domain.enums import Role
from storage import identity
from storage.identity import active_member, is_staff
from storage.models import DeskLink, DeskSession, Member

LINK_TTL = timedelta(minutes=10)
SESSION_TTL = timedelta(hours=8)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_link(session: Session, openid: str, now: datetime) -> str:
    """A new one-time link token for active staff (the caller has checked who asks)."""
    token = secrets.token_urlsafe(32)
    session.add(DeskLink(token_hash=_hash(token), openid=openid, created_at=now, expires_at=now + LINK_TTL))
    return token


LinkRefusal = Literal["unknown", "used", "expired", "not_staff"]


@dataclass(frozen=True)
class SignedIn:
    token: str  # for the cookie
    member: Member
    expires_at: datetime


def redeem_link(session: Session, token: str, now: datetime) -> SignedIn | LinkRefusal:
    """Spend a link: the conditional UPDATE lets exactly one of two simultaneous clicks through."""
    link = session.get(DeskLink, _hash(token))
    if link is None:
        return "unknown"
    if link.used_at is not None:
        return "used"
    if link.expires_at <= now:
        return "expired"
    spent = session.execute(
        update(DeskLink)
        .where(col(DeskLink.token_hash) == link.token_hash, col(DeskLink.used_at).is_(None))
        .values(used_at=now)
    )
    if spent.rowcount != 1:  # type: ignore[attr-defined]
        return "used"
    member = active_member(session, link.openid)
    if not is_staff(member):
        return "not_staff"
    cookie = secrets.token_urlsafe(32)
    row = DeskSession(
        token_hash=_hash(cookie),
        openid=member.openid,
        csrf=secrets.token_urlsafe(24),
        created_at=now,
        expires_at=now + SESSION_TTL,
    )
    session.add(row)
    return SignedIn(cookie, member, row.expires_at)


@dataclass(frozen=True)
class Viewer:
    """The staff member behind a request, and the CSRF token their forms carry."""

    member: Member
    csrf: str
    session_hash: str

    @property
    def is_admin(self) -> bool:
        return self.member.role == Role.ADMIN


def viewer(session: Session, cookie: str, now: datetime) -> Viewer | None:
    """The signed-in staff member, or None for no, ended, expired or deactivated sessions."""
    row = session.get(DeskSession, _hash(cookie))
    if row is None or row.ended_at is not None or row.expires_at <= now:
        return None
    member = active_member(session, row.openid)
    if not is_staff(member):
        return None
    return Viewer(member, row.csrf, row.token_hash)


def end_session(session: Session, session_hash: str, now: datetime) -> None:
    session.execute(
        update(DeskSession)
        .where(col(DeskSession.token_hash) == session_hash, col(DeskSession.ended_at).is_(None))
        .values(ended_at=now)
    )


def end_sessions_of(session: Session, openid: str, now: datetime) -> None:
    """Deactivation already locks a member out; ending the rows as well keeps the table truthful."""
    session.execute(
        update(DeskSession)
        .where(col(DeskSession.openid) == openid, col(DeskSession.ended_at).is_(None))
        .values(ended_at=now)
    )


def deactivate_staff(session: Session, openid: str, now: datetime) -> Member | None:
    """Take a staff member's access away (commands, alerts, the desk) and end their sessions at once; None when
    `openid` is not active staff. The CLI's `staff deactivate` and the desk's 人员 page both come here."""
    member = active_member(session, openid)
    if not is_staff(member):
        return None
    identity.deactivate(session, member.openid, now)
    end_sessions_of(session, member.openid, now)
    return member
