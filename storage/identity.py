"""Who is who: the active binding of a WeChat user."""

from __future__ import annotations

from sqlmodel import Session, select

from storage.models import Member


def active_member(session: Session, openid: str) -> Member | None:
    return session.exec(select(Member).where(Member.openid == openid, Member.active == True)).first()  # noqa: E712
