"""Tables. Datetimes are aware UTC (see `storage.db.utcnow`); states, roles and levels are StrEnums stored as their
value text (`EnumString`), so a row read back holds the enum member."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import JSON, BigInteger, Column, Dialect, Index, LargeBinary, Numeric, String, Text, text
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from domain.enums import HardshipState, RequestState, Role, WarningLevel, WarningState

E = TypeVar("E", bound=StrEnum)


class EnumString(TypeDecorator[E]):
    """A StrEnum column that is a plain VARCHAR(length) holding the member's value: the schema and the stored text
    are exactly what a string column gives, while code reads and compares enum members, never bare text."""

    impl = String
    cache_ok = True

    def __init__(self, enum: type[E], length: int) -> None:
        super().__init__(length)
        self.enum = enum

    def process_bind_param(self, value: E | str | None, dialect: Dialect) -> str | None:
        return None if value is None else self.enum(value).value

    def process_result_value(self, value: Any | None, dialect: Dialect) -> E | None:
        return None if value is None else self.enum(value)


class ReplyMode(StrEnum):
    PASSIVE = "passive"  # answered in the HTTP response
    OUTBOX = "outbox"  # budget ran out: answered later as a customer-service message
    NONE = "none"  # nothing to say (e.g. unsubscribe)


class OutboxKind(StrEnum):
    TEXT = "text"
    TEMPLATE = "template"
    MEDIA = "media"  # not a message: fetch an uploaded photo from WeChat before it expires (3 days)
    INVITE_QR = "invite_qr"  # make an invitation's QR code, store its image, then send the text linking to it


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    FALLBACK = "fallback"  # 45015: outside the customer-service window; a template must carry it


# Pending or sending: written as literals, the one predicate both partial indexes below and the claim share (a
# bound parameter would hide it from SQLite's planner, and from PostgreSQL's once a statement is prepared).
OUTBOX_UNFINISHED = text("status IN ('pending', 'sending')")


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
    reply_mode: ReplyMode = Field(default=ReplyMode.PASSIVE, sa_type=EnumString(ReplyMode, 16))


class OutboxMessage(SQLModel, table=True):
    """Everything the account sends on its own; written in the transaction of the change that caused it."""

    __tablename__ = "outbox_message"
    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
        # The claim walks only unfinished rows, in queue order and per user (`storage.outbox.claim`), so a queue
        # whose front is 100,000 sent rows costs what an empty one does.
        Index("ix_outbox_unfinished", "id", postgresql_where=OUTBOX_UNFINISHED, sqlite_where=OUTBOX_UNFINISHED),
        Index(
            "ix_outbox_unfinished_openid",
            "openid",
            "id",
            postgresql_where=OUTBOX_UNFINISHED,
            sqlite_where=OUTBOX_UNFINISHED,
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(max_length=200, unique=True)
    openid: str = Field(index=True, max_length=64)
    kind: OutboxKind = Field(sa_type=EnumString(OutboxKind, 16))
    payload: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    status: OutboxStatus = Field(default=OutboxStatus.PENDING, sa_type=EnumString(OutboxStatus, 16))
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


class Enterprise(SQLModel, table=True):
    """The roster: one row per enterprise, keyed for imports by its unified social credit code.

    `created_at` is when it joined the roster and `removed_at` when it left (注销, moved out): an enterprise owes
    a month's report only if it was on the roster when that report fell due (`storage.stats.coverage`).
    """

    __tablename__ = "enterprise"

    id: int | None = Field(default=None, primary_key=True)
    credit_code: str = Field(max_length=18, unique=True)
    name: str = Field(max_length=200, index=True)
    employees: int = 0
    community: str = Field(default="", max_length=100)
    has_union: bool = False
    created_at: datetime
    updated_at: datetime
    removed_at: datetime | None = None


class Member(SQLModel, table=True):
    """A WeChat user's role (one binding per openid; staff and admins have no enterprise)."""

    __tablename__ = "member"

    id: int | None = Field(default=None, primary_key=True)
    openid: str = Field(max_length=64, unique=True)
    role: Role = Field(sa_type=EnumString(Role, 16))
    enterprise_id: int | None = Field(default=None, foreign_key="enterprise.id", index=True)
    name: str = Field(default="", max_length=100)
    mobile: str = Field(default="", max_length=20)  # a chair's or warner's own, given after binding (我的信息)
    active: bool = True
    on_duty: bool = True  # staff: receives warning alerts
    bound_at: datetime
    deactivated_at: datetime | None = None


class InviteCode(SQLModel, table=True):
    """A one-time binding code; expired, used or unknown codes count as failed attempts."""

    __tablename__ = "invite_code"

    code: str = Field(primary_key=True, max_length=16)
    role: Role = Field(sa_type=EnumString(Role, 16))
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


class ReceiptCounter(SQLModel, table=True):
    """The last receipt number given per kind (Y, W, H, E, D…), so each kind counts 1, 2, 3 on its own."""

    __tablename__ = "receipt_counter"

    prefix: str = Field(primary_key=True, max_length=8)
    last: int = 0


class Conversation(SQLModel, table=True):
    """Per-user dialogue pointers: which form is in front, and the pages of a long reply still unread."""

    __tablename__ = "conversation"

    openid: str = Field(primary_key=True, max_length=64)
    active_form: str | None = Field(default=None, max_length=64)
    pages: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    updated_at: datetime


# -- Workflows (issue 4) --------------------------------------------------------------------------------------
# Figures live in typed columns so statistics are SQL aggregates; every column is nullable because a section
# that did not apply that month was not asked.

Money = Numeric(14, 2)


class MonthlyReport(SQLModel, table=True):
    """One revision of an enterprise's monthly report; `is_latest` marks the one that counts."""

    __tablename__ = "monthly_report"
    __table_args__ = (
        Index("ux_report_revision", "enterprise_id", "period", "revision", unique=True),
        Index("ix_report_latest", "period", "is_latest"),
        # where the cumulative 5.1服务卡 counts start (`summary_figures.first_card_year`), without a full scan
        Index(
            "ix_report_card_answered",
            "period",
            postgresql_where=text("card_collected IS NOT NULL"),
            sqlite_where=text("card_collected IS NOT NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    submission_id: int = Field(foreign_key="submission.id")
    enterprise_id: int = Field(foreign_key="enterprise.id")
    period: str = Field(max_length=7)  # "YYYY-MM"
    revision: int = 1
    is_latest: bool = True
    submitted_by: str = Field(max_length=64)
    submitted_at: datetime

    employees: int | None = None
    members: int | None = None
    new_members: int | None = None
    lost_members: int | None = None
    payroll: Decimal | None = Field(default=None, sa_type=Money)
    dues_accrued: Decimal | None = Field(default=None, sa_type=Money)
    dues_remitted: Decimal | None = Field(default=None, sa_type=Money)
    activities: int | None = None
    activity_participants: int | None = None
    trainings: int | None = None
    training_participants: int | None = None
    disputes: int | None = None
    disputes_contract: int | None = None
    disputes_wage: int | None = None
    disputes_injury: int | None = None
    disputes_other: int | None = None
    dispute_workers: int | None = None
    dispute_amount: Decimal | None = Field(default=None, sa_type=Money)
    disputes_settled: int | None = None
    has_risk: bool | None = None

    hardship_workers: int | None = None
    care_visits: int | None = None
    care_amount: Decimal | None = Field(default=None, sa_type=Money)
    has_hardship_fund: bool | None = None
    hardship_fund_balance: Decimal | None = Field(default=None, sa_type=Money)
    hardship_fund_paid: Decimal | None = Field(default=None, sa_type=Money)
    hardship_fund_aided: int | None = None
    has_service_point: bool | None = None
    has_mediation_committee: bool | None = None

    mutual_aid_in_service: int | None = None
    mutual_aid_ankang: int | None = None
    mutual_aid_special: int | None = None
    festival_visited: int | None = None
    festival_amount: Decimal | None = Field(default=None, sa_type=Money)
    card_collected: int | None = None
    card_issued: int | None = None
    collective_contract_signed: bool | None = None
    collective_contract_expires: date | None = None
    union_term_expires: date | None = None
    reelected_this_month: bool | None = None
    remarks: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class DuesExemption(SQLModel, table=True):
    """亏损免交/缓交: asked by a chair with a reason, decided by staff."""

    __tablename__ = "dues_exemption"

    id: int | None = Field(default=None, primary_key=True)
    submission_id: int = Field(foreign_key="submission.id")
    receipt: str = Field(max_length=32, unique=True)
    enterprise_id: int = Field(foreign_key="enterprise.id", index=True)
    kind: str = Field(max_length=8)  # 免交 | 缓交
    first_month: str = Field(max_length=7)
    last_month: str = Field(max_length=7)
    reason: str = Field(sa_column=Column(Text, nullable=False))
    state: RequestState = Field(default=RequestState.PENDING, sa_type=EnumString(RequestState, 16), index=True)
    requested_by: str = Field(max_length=64)
    requested_at: datetime
    decided_by: str | None = Field(default=None, max_length=64)
    decided_at: datetime | None = None
    decision_note: str | None = Field(default=None, max_length=500)


class DisputeWarning(SQLModel, table=True):
    """A labour-dispute early warning and the case it becomes."""

    __tablename__ = "dispute_warning"

    id: int | None = Field(default=None, primary_key=True)
    submission_id: int = Field(foreign_key="submission.id")
    receipt: str = Field(max_length=32, unique=True)
    enterprise_id: int | None = Field(default=None, foreign_key="enterprise.id", index=True)
    reporter: str = Field(max_length=64, index=True)
    found_at: datetime
    place: str = Field(max_length=200)
    category: str = Field(max_length=16, index=True)
    workers: int
    amount: Decimal | None = Field(default=None, sa_type=Money)
    description: str = Field(sa_column=Column(Text, nullable=False))
    demands: str = Field(sa_column=Column(Text, nullable=False))
    signs: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    measures: str = Field(default="", sa_column=Column(Text, nullable=False))
    photos: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    phone: str = Field(max_length=20)
    level: WarningLevel = Field(sa_type=EnumString(WarningLevel, 8), index=True)
    computed_level: WarningLevel = Field(sa_type=EnumString(WarningLevel, 8))
    level_reasons: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    state: WarningState = Field(default=WarningState.SUBMITTED, sa_type=EnumString(WarningState, 16), index=True)
    created_at: datetime = Field(index=True)
    acknowledged_at: datetime | None = None
    mediation_started_at: datetime | None = None
    outcome_at: datetime | None = None
    closed_at: datetime | None = None
    escalated_at: datetime | None = None


class HardshipApplication(SQLModel, table=True):
    """困难职工帮扶申请. Sensitive values are stored encrypted (`*_enc`); `id_digest` finds duplicates."""

    __tablename__ = "hardship_application"

    id: int | None = Field(default=None, primary_key=True)
    submission_id: int = Field(foreign_key="submission.id")
    receipt: str = Field(max_length=32, unique=True)
    enterprise_id: int = Field(foreign_key="enterprise.id", index=True)
    chair: str = Field(max_length=64, index=True)
    worker_name: str = Field(max_length=50)
    id_number_enc: str = Field(sa_column=Column(Text, nullable=False))
    id_digest: str = Field(max_length=64, index=True)
    id_masked: str = Field(max_length=18)
    phone_enc: str = Field(sa_column=Column(Text, nullable=False))
    category: str = Field(max_length=16)
    suggested_category: str | None = Field(default=None, max_length=16)
    causes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    household_enc: str = Field(sa_column=Column(Text, nullable=False))
    household_size: int
    annual_income: Decimal = Field(sa_type=Money)
    rigid_expenses: Decimal = Field(sa_type=Money)
    per_capita_monthly: Decimal = Field(sa_type=Money)
    help_kind: str = Field(max_length=16)
    amount_requested: Decimal = Field(sa_type=Money)
    description_enc: str = Field(sa_column=Column(Text, nullable=False))
    photos: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    consent_version: str = Field(max_length=32)
    consent_at: datetime
    duplicate_of: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    state: HardshipState = Field(default=HardshipState.SUBMITTED, sa_type=EnumString(HardshipState, 16), index=True)
    return_reason: str | None = Field(default=None, max_length=500)
    approved_category: str | None = Field(default=None, max_length=16)
    approved_amount: Decimal | None = Field(default=None, sa_type=Money)
    paid_amount: Decimal | None = Field(default=None, sa_type=Money)
    paid_on: date | None = None
    notice_start: date | None = None
    notice_end: date | None = None
    created_at: datetime = Field(index=True)
    updated_at: datetime


class CaseEvent(SQLModel, table=True):
    """Every transition of a warning, hardship or exemption case: who, when, from what to what, and why.

    The states are plain text: one column holds the states of every workflow, told apart by `case_kind`.
    """

    __tablename__ = "case_event"
    __table_args__ = (Index("ix_case_event_case", "case_kind", "case_id"),)

    id: int | None = Field(default=None, primary_key=True)
    case_kind: str = Field(max_length=16)  # warning | hardship | exemption
    case_id: int
    from_state: str | None = Field(default=None, max_length=16)
    to_state: str = Field(max_length=16)
    actor: str = Field(max_length=64)
    note: str = Field(default="", sa_column=Column(Text, nullable=False))
    at: datetime


class AuditLog(SQLModel, table=True):
    """Who saw or exported personal data (PIPL): every view of a hardship case and every export."""

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    actor: str = Field(max_length=64, index=True)
    action: str = Field(max_length=32)
    subject: str = Field(max_length=64, index=True)
    detail: str = Field(default="", max_length=500)
    at: datetime = Field(index=True)


class StoredFile(SQLModel, table=True):
    """A photo fetched from WeChat (media expire after 3 days); its bytes, encrypted, are in the file store at
    `path` (`storage.filestore`)."""

    __tablename__ = "stored_file"

    id: int | None = Field(default=None, primary_key=True)
    media_id: str = Field(max_length=200, unique=True)
    owner: str = Field(max_length=64, index=True)  # e.g. "hardship:7", "warning:12"
    uploaded_by: str = Field(max_length=64)
    path: str | None = Field(default=None, max_length=300)
    content_type: str | None = Field(default=None, max_length=100)
    size: int | None = None
    sha256: str | None = Field(default=None, max_length=64)
    received_at: datetime
    stored_at: datetime | None = None


class FileBlob(SQLModel, table=True):
    """A file of the database file store (`storage.filestore`): photos, exports, documents and QR codes, one row
    each, so every service machine on the same database serves the same links. `.enc` paths hold Fernet tokens."""

    __tablename__ = "file_blob"

    path: str = Field(primary_key=True, max_length=300)
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    size: int
    stored_at: datetime


# -- Half-year summary (issue: work summary) ------------------------------------------------------------------


class StaffFigure(SQLModel, table=True):
    """A figure no chat form collects (awards, the federation's own training, retirees' mutual aid, plan text),
    entered by staff per period code ("2024H1", "2024-06", "2024"); the summary marks keys still missing."""

    __tablename__ = "staff_figure"
    __table_args__ = (Index("ux_staff_figure_key_period", "key", "period", unique=True),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=64)
    period: str = Field(max_length=20, index=True)
    value: str = Field(sa_column=Column(Text, nullable=False))
    unit: str = Field(default="", max_length=8)
    set_by: str = Field(max_length=64)
    set_at: datetime


class DeskLink(SQLModel, table=True):
    """A one-time login link to the staff desk; only the token's SHA-256 is kept, so the table opens nothing."""

    __tablename__ = "desk_link"

    token_hash: str = Field(primary_key=True, max_length=64)
    openid: str = Field(max_length=64, index=True)
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None


class DeskSession(SQLModel, table=True):
    """A browser's session on the staff desk (the cookie holds the token; the row its hash and the CSRF token)."""

    __tablename__ = "desk_session"

    token_hash: str = Field(primary_key=True, max_length=64)
    openid: str = Field(max_length=64, index=True)
    csrf: str = Field(max_length=64)
    created_at: datetime
    expires_at: datetime
    ended_at: datetime | None = None


class RosterUpload(SQLModel, table=True):
    """A roster file uploaded on the desk, parsed and previewed; applied at most once (`storage.roster_uploads`)."""

    __tablename__ = "roster_upload"

    token: str = Field(primary_key=True, max_length=64)
    preview: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_by: str = Field(max_length=64)
    created_at: datetime
    applied_at: datetime | None = None
    applied_by: str | None = Field(default=None, max_length=64)


class FigureStamp(SQLModel, table=True):
    """How often the rows behind some figures changed: `report:YYYY-MM` for a month's reports, `roster` for the
    enterprises. Database triggers bump it on every write (migration `tally0001`), so no code path can forget."""

    __tablename__ = "figure_stamp"

    scope: str = Field(primary_key=True, max_length=32)
    version: int = Field(default=0, sa_type=BigInteger)


class FigureMemo(SQLModel, table=True):
    """A computed figure kept with the stamps it was computed at (`storage.figure_memo`)."""

    __tablename__ = "figure_memo"

    key: str = Field(primary_key=True, max_length=200)
    stamp: str = Field(sa_column=Column(Text, nullable=False))
    value: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))


class Heartbeat(SQLModel, table=True):
    """When a background round last ran, by name (`scheduler`: the leader's tick; `retention`: the last clean-up),
    so `unionbot doctor`, `/metrics` and the retention chore's pacing can read it from any process."""

    __tablename__ = "heartbeat"

    name: str = Field(primary_key=True, max_length=32)
    at: datetime
