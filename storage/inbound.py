"""What every delivery writes besides its handler's changes: the exactly-once record and the follower's row.

Every message passes here, so each statement is built once with bound parameters and runs on the Core table:
building a statement and the ORM's unit of work per message cost more CPU than the database took to run them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Insert, bindparam, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from storage.models import InboundMessage, ReplyMode, WechatUser

INBOUND = InboundMessage.metadata.tables[InboundMessage.__tablename__]
USERS = WechatUser.metadata.tables[WechatUser.__tablename__]
STORED = select(INBOUND.c.reply_mode, INBOUND.c.reply).where(INBOUND.c.dedup_key == bindparam("key"))
RECORD = INBOUND.insert()


@dataclass(frozen=True)
class Stored:
    """A delivery already handled: how it was answered and its reply (encrypted)."""

    reply_mode: ReplyMode
    reply: str | None


def stored(session: Session, dedup_key: str) -> Stored | None:
    """The record of an earlier delivery of the same message (a WeChat retry), or None."""
    row = session.connection().execute(STORED, {"key": dedup_key}).first()
    return None if row is None else Stored(*row)


def record(
    session: Session,
    *,
    dedup_key: str,
    openid: str,
    kind: str,
    received_at: datetime,
    reply: str | None,
    reply_mode: ReplyMode,
) -> None:
    """The exactly-once record: its primary key makes a second record of the same delivery fail."""
    session.connection().execute(
        RECORD,
        {
            "dedup_key": dedup_key,
            "openid": openid,
            "kind": kind,
            "received_at": received_at,
            "reply": reply,
            "reply_mode": reply_mode,
        },
    )


def touch_user(session: Session, openid: str, now: datetime, *, wrote: bool, subscribed: bool | None) -> None:
    """Count a message from `openid`, made a follower on first contact: one upsert. `wrote` (a message the person
    typed, not an event) opens the 48-hour service window; `subscribed` is set by a (un)subscribe event."""
    statement = _touch_statement(session.get_bind().dialect.name, wrote, subscribed is not None)
    values: dict[str, Any] = {"openid": openid, "now": now}
    if subscribed is not None:
        values["subscribed"] = subscribed
    session.connection().execute(statement, values)


@cache
def _touch_statement(dialect: str, wrote: bool, subscription: bool) -> Insert:
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    now = bindparam("now", type_=USERS.c.first_seen_at.type)
    subscribed = bindparam("subscribed", type_=USERS.c.subscribed.type) if subscription else True
    statement = insert(USERS).values(
        openid=bindparam("openid", type_=USERS.c.openid.type),
        subscribed=subscribed,
        first_seen_at=now,
        last_message_at=now if wrote else None,
        messages_handled=1,
    )
    changes: dict[str, Any] = {"messages_handled": USERS.c.messages_handled + 1}
    if wrote:
        changes["last_message_at"] = statement.excluded.last_message_at
    if subscription:
        changes["subscribed"] = statement.excluded.subscribed
    return statement.on_conflict_do_update(index_elements=[USERS.c.openid], set_=changes)
