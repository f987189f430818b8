"""Who works the account, for the desk's 人员 page: active staff and admins, and how many users are bound."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func
from sqlalchemy import select as columns_select
from sqlmodel import Session, col, select

from domain.enums import Role
from storage.identity import STAFF_ROLES
from storage.models import Member

BOUND_ROLES = (Role.CHAIR, Role.WARNER)


def staff_members(session: Session) -> Sequence[Member]:
    """Active staff and admins, admins first, then by name (a few dozen at most: no paging needed)."""
    admins_first = col(Member.role) != Role.ADMIN
    query = select(Member).where(col(Member.role).in_(STAFF_ROLES), col(Member.active).is_(True))
    return session.exec(query.order_by(admins_first, col(Member.name), col(Member.id))).all()


def bound_counts(session: Session) -> dict[Role, int]:
    """Active chairs and warners, each role counted (zero when none)."""
    role = col(Member.role)
    rows = session.execute(
        columns_select(role, func.count()).where(role.in_(BOUND_ROLES), col(Member.active).is_(True)).group_by(role)
    )
    counted = {Role(found): int(count) for found, count in rows}
    return {known: counted.get(known, 0) for known in BOUND_ROLES}
