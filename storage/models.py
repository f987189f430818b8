"""Tables. Datetimes are aware UTC (see `storage.db.utcnow`); states are StrEnums stored as text."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, String, Text
from sqlmodel import Field, SQLModel


class ReplyMode(StrEnum):
    PASSIVE = "passive"  # answered in the HTTP response
    OUTBOX = "outbox"  # budget ran out: answered later as a customer-service message
    NONE = "none"  # nothing to say (e.g. unsubscribe)


class OutboxKind(StrEnum):
    TEXT = "text"
    TEMPLATE = "template"


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    FALLBACK = "fallback"  # 45015: outside the customer-service window; a template must carry it


class WechatUser(SQLModel, table=True):
    """Every follower the account has heard from; the 48-hour service window is read off here."""

    __tablename__ = "wechat_user"

    openid: str = Field(primary_key=True, max_length=64)
    subscribed: bool = True
    first_seen_at: datetime
    last_message_at: datetime | None = None
    messages_handled: int = 0


class InboundMessage(SQLModel, table=True):
    """One row per WeChat delivery key: the exactly-once record and the stored reply for retries."""

    __tablename__ = "inbound_message"

    dedup_key: str = Field(primary_key=True, max_length=200)
    openid: str = Field(index=True, max_length=64)
    kind: str = Field(max_length=32)
    received_at: datetime = Field(index=True)
    reply: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    reply_mode: str = Field(default=ReplyMode.PASSIVE, sa_type=String(16))


class OutboxMessage(SQLModel, table=True):
    """Everything the account sends on its own; written in the transaction of the change that caused it."""

    __tablename__ = "outbox_message"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(max_length=200, unique=True)
    openid: str = Field(index=True, max_length=64)
    kind: str = Field(sa_type=String(16))
    payload: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    status: str = Field(default=OutboxStatus.PENDING, sa_type=String(16))
    attempts: int = 0
    next_attempt_at: datetime
    lease_until: datetime | None = None
    errcode: int | None = None
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime
    sent_at: datetime | None = None


class AccessToken(SQLModel, table=True):
    """The one shared access_token per AppID (each fetch invalidates the previous one at WeChat)."""

    __tablename__ = "access_token"

    appid: str = Field(primary_key=True, max_length=64)
    token: str = Field(max_length=1024)
    expires_at: datetime
    fetched_at: datetime
