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


class Role(StrEnum):
    CHAIR = "chair"  # 企业工会主席: one enterprise, files all three forms
    WARNER = "warner"  # 劳动争议预警员: one enterprise, files warnings only
    STAFF = "staff"  # 街道总工会工作人员: queries, reviews, alerts
    ADMIN = "admin"


class Enterprise(SQLModel, table=True):
    """The roster: one row per enterprise, keyed for imports by its unified social credit code."""

    __tablename__ = "enterprise"

    id: int | None = Field(default=None, primary_key=True)
    credit_code: str = Field(max_length=18, unique=True)
    name: str = Field(max_length=200, index=True)
    employees: int = 0
    community: str = Field(default="", max_length=100)
    has_union: bool = False
    created_at: datetime
    updated_at: datetime


class Member(SQLModel, table=True):
    """A WeChat user's role (one binding per openid; staff and admins have no enterprise)."""

    __tablename__ = "member"

    id: int | None = Field(default=None, primary_key=True)
    openid: str = Field(max_length=64, unique=True)
    role: str = Field(sa_type=String(16))
    enterprise_id: int | None = Field(default=None, foreign_key="enterprise.id", index=True)
    name: str = Field(default="", max_length=100)
    active: bool = True
    bound_at: datetime
    deactivated_at: datetime | None = None


class InviteCode(SQLModel, table=True):
    """A one-time binding code; expired, used or unknown codes count as failed attempts."""

    __tablename__ = "invite_code"

    code: str = Field(primary_key=True, max_length=16)
    role: str = Field(sa_type=String(16))
    enterprise_id: int | None = Field(default=None, foreign_key="enterprise.id")
    created_by: str = Field(default="", max_length=64)
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None
    used_by: str | None = Field(default=None, max_length=64)


class BindFailure(SQLModel, table=True):
    """Wrong binding codes per WeChat user, for the lockout (5 in an hour)."""

    __tablename__ = "bind_failure"
    __table_args__ = (Index("ix_bind_failure_recent", "openid", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    openid: str = Field(max_length=64)
    at: datetime


class Draft(SQLModel, table=True):
    """A form in progress: the engine's state as JSON, saved after every answer."""

    __tablename__ = "draft"
    __table_args__ = (Index("ux_draft_user_form", "openid", "form_id", unique=True),)

    id: int | None = Field(default=None, primary_key=True)
    openid: str = Field(max_length=64)
    form_id: str = Field(max_length=64)
    state: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    version: int = 0
    created_at: datetime
    updated_at: datetime = Field(index=True)
    expires_at: datetime


class Submission(SQLModel, table=True):
    """A submitted form. `draft_key` makes submission idempotent: one draft, one record."""

    __tablename__ = "submission"

    id: int | None = Field(default=None, primary_key=True)
    form_id: str = Field(max_length=64, index=True)
    receipt: str = Field(max_length=32, unique=True)
    draft_key: str = Field(max_length=120, unique=True)
    openid: str = Field(max_length=64, index=True)
    enterprise_id: int | None = Field(default=None, foreign_key="enterprise.id", index=True)
    answers: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    submitted_at: datetime


class Conversation(SQLModel, table=True):
    """Per-user dialogue pointers: which form is in front, and the pages of a long reply still unread."""

    __tablename__ = "conversation"

    openid: str = Field(primary_key=True, max_length=64)
    active_form: str | None = Field(default=None, max_length=64)
    pages: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    updated_at: datetime
