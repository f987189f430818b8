"""Staff-entered figures (`StaffFigure`): one value per key and period code, replaced when set again."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from storage.models import StaffFigure


def period_code(start: date, end: date) -> str:
    """The stored name of a period: "2024-06", "2024Q1", "2024H1", "2024", or "2024-03..2024-08" otherwise."""
    months = (end.year - start.year) * 12 + end.month - start.month + 1
    if start.day != 1 or months < 1:
        raise ValueError(f"a period starts on the first of a month: {start}..{end}")
    if months == 1:
        return start.strftime("%Y-%m")
    if months == 3 and start.month % 3 == 1:
        return f"{start.year}Q{start.month // 3 + 1}"
    if months == 6 and start.month in (1, 7):
        return f"{start.year}H{1 if start.month == 1 else 2}"
    if months == 12 and start.month == 1:
        return str(start.year)
    return f"{start:%Y-%m}..{end:%Y-%m}"


def set_figure(session: Session, key: str, period: str, value: str, unit: str, set_by: str, now: datetime) -> bool:
    """Store or replace a figure; True when the stored value changed (setting it again is harmless)."""
    row = _find(session, key, period)
    if row is None:
        try:
            with session.begin_nested():
                session.add(StaffFigure(key=key, period=period, value=value, unit=unit, set_by=set_by, set_at=now))
            return True
        except IntegrityError:
            row = _find(session, key, period)  # two staff entered it at once: the later value wins
            assert row is not None
    if row.value == value and row.unit == unit:
        return False
    row.value, row.unit, row.set_by, row.set_at = value, unit, set_by, now
    session.add(row)
    session.flush()
    return True


def _find(session: Session, key: str, period: str) -> StaffFigure | None:
    return session.exec(select(StaffFigure).where(StaffFigure.key == key, StaffFigure.period == period)).first()


def figures_for(session: Session, period: str) -> dict[str, str]:
    rows = session.exec(select(StaffFigure).where(StaffFigure.period == period))
    return {row.key: row.value for row in rows}


def list_figures(session: Session, period: str | None = None) -> Sequence[StaffFigure]:
    query = select(StaffFigure).order_by(col(StaffFigure.period), col(StaffFigure.key))
    if period is not None:
        query = query.where(StaffFigure.period == period)
    return session.exec(query).all()
