"""Figures kept between requests, valid while the rows behind them are unchanged.

A closed month's report coverage barely moves, yet the desk's twelve-month chart and `统计 上半年` would count
hundreds of thousands of rows on every request. Triggers (migration `tally0001`) bump a stamp in `figure_stamp`
on every write to a month's reports or to the roster; a memo stores the stamps it was computed at and is used only
while they still hold, and only by the code that computed it (`CODE`). Stamps are read before the figure is
computed, so a write racing the computation can only make the memo look older than it is (recomputed next time),
never newer.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from storage.models import FigureMemo, FigureStamp
from storage.stats import Due

ROSTER = "roster"
# Part of every stamp: a memo computed by other code (an upgrade changed how some figure counts) is never used.
CODE = hashlib.sha256(b"".join(path.read_bytes() for path in sorted(Path(__file__).parent.glob("*.py")))).hexdigest()
Figure = Decimal | int | None


def report_scope(month: str) -> str:
    return f"report:{month}"


def _stamps(session: Session, wanted: Mapping[str, Sequence[str]]) -> dict[str, str]:
    """Each key's scopes with their versions as one comparable text (a scope never written to is at 0)."""
    scopes = sorted({scope for needed in wanted.values() for scope in needed})
    query = select(FigureStamp.scope, FigureStamp.version).where(col(FigureStamp.scope).in_(scopes))
    versions: dict[str, int] = dict(session.exec(query).all())
    return {
        key: ",".join([CODE[:16], *(f"{scope}={versions.get(scope, 0)}" for scope in needed)])
        for key, needed in wanted.items()
    }


def recalled(session: Session, stamps: dict[str, str]) -> dict[str, dict[str, Any]]:
    """The memos of the keys of `stamps` still valid at the stamp given for each."""
    rows = session.exec(select(FigureMemo).where(col(FigureMemo.key).in_(list(stamps))))
    return {row.key: row.value for row in rows if stamps[row.key] == row.stamp}


def remember(session: Session, key: str, stamp: str, value: dict[str, Any]) -> None:
    """Keep `value` for `key` at `stamp`, replacing an older memo (two requests racing write the same value)."""
    table = FigureMemo.metadata.tables[FigureMemo.__tablename__]
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(table).values(key=key, stamp=stamp, value=value)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["key"], set_={"stamp": statement.excluded.stamp, "value": statement.excluded.value}
        )
    )


def memoised(
    session: Session, wanted: Mapping[str, Sequence[str]], compute: Callable[[str], dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """The value of each key of `wanted` (key → the scopes it depends on): recalled where its memo is still valid,
    else computed by `compute(key)` and remembered."""
    stamps = _stamps(session, wanted)
    values = recalled(session, stamps)
    for key in wanted:
        if key not in values:
            values[key] = compute(key)
            remember(session, key, stamps[key], values[key])
    return values


def over_months(
    session: Session, name: str, dues: Sequence[Due], compute: Callable[[], dict[str, Figure]], *extra: object
) -> dict[str, Figure]:
    """`compute()`, a figure of the reports owed in `dues` (and of `extra` settings), kept until one of those months'
    reports or the roster changes."""
    named = ";".join([*(f"{due.month}@{due.by.isoformat()}" for due in dues), *map(str, extra)])
    key = f"{name}:{hashlib.sha256(named.encode()).hexdigest()}"
    scopes = (*(report_scope(due.month) for due in dues), ROSTER)
    kept = memoised(session, {key: scopes}, lambda _: _encoded(compute()))[key]
    return {figure: _decoded(value) for figure, value in kept.items()}


def _encoded(figures: dict[str, Figure]) -> dict[str, Any]:
    """JSON keeps a Decimal exactly as its text, tagged so it reads back as a Decimal and not as an int."""
    return {name: ["decimal", str(value)] if isinstance(value, Decimal) else value for name, value in figures.items()}


def _decoded(value: Any) -> Figure:
    return Decimal(value[1]) if isinstance(value, list) else value
