"""Heartbeats: one row per background round (`scheduler`, `retention`) holding when it last ran.

Written with an upsert (ON CONFLICT DO UPDATE on both databases), so a standby that becomes leader, or two
processes during a takeover, never fail on the row the other made.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from storage.models import Heartbeat

SCHEDULER = "scheduler"
RETENTION = "retention"


def beat(session: Session, name: str, now: datetime) -> None:
    table = Heartbeat.metadata.tables[Heartbeat.__tablename__]
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(table).values(name=name, at=now)
    session.execute(statement.on_conflict_do_update(index_elements=["name"], set_={"at": statement.excluded.at}))


def last(session: Session, name: str) -> datetime | None:
    row = session.get(Heartbeat, name)
    return row.at if row is not None else None
