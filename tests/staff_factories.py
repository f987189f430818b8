"""Rows for the staff-query, export and digest tests, made directly (the forms that fill them are built apart)."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlmodel import Session

from domain.enums import Role
from storage import crypto
from storage.models import CaseEvent, DisputeWarning, Enterprise, HardshipApplication, Member, MonthlyReport, Submission

_serial = itertools.count(1)
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def submission(session: Session, form_id: str, enterprise_id: int | None) -> int:
    """The generic submission record a report, warning or application row points at."""
    n = next(_serial)
    record = Submission(
        form_id=form_id,
        receipt=f"S{n:08d}",
        draft_key=f"test:{n}",
        openid="factory",
        enterprise_id=enterprise_id,
        answers={},
        submitted_at=T0,
    )
    session.add(record)
    session.flush()
    assert record.id is not None
    return record.id


def enterprise(session: Session, name: str, *, has_union: bool = True, code: str | None = None) -> Enterprise:
    n = next(_serial)
    company = Enterprise(
        credit_code=code or f"91330200MA{n:08d}",
        name=name,
        employees=100,
        community="青峙社区",
        has_union=has_union,
        created_at=T0,
        updated_at=T0,
    )
    session.add(company)
    session.flush()
    return company


def chair(session: Session, company: Enterprise, name: str) -> Member:
    member = Member(openid=f"chair-{next(_serial)}", role=Role.CHAIR, enterprise_id=company.id, name=name, bound_at=T0)
    session.add(member)
    return member


def report(
    session: Session,
    company: Enterprise,
    period: str,
    *,
    revision: int = 1,
    latest: bool = True,
    submitted_at: datetime = datetime(2026, 10, 5, 2, tzinfo=UTC),
    submitted_by: str = "factory",
    **figures: Any,
) -> MonthlyReport:
    assert company.id is not None
    row = MonthlyReport(
        submission_id=submission(session, "monthly_report", company.id),
        enterprise_id=company.id,
        period=period,
        revision=revision,
        is_latest=latest,
        submitted_by=submitted_by,
        submitted_at=submitted_at,
        **figures,
    )
    session.add(row)
    session.flush()
    return row


def warning(
    session: Session,
    company: Enterprise | None,
    created_at: datetime,
    *,
    state: str = "submitted",
    category: str = "工资",
    level: str = "一般",
    workers: int = 5,
    amount: str = "0",
    mediation_started_at: datetime | None = None,
    resolved_before: bool = False,
    reporter: str = "warner",
) -> DisputeWarning:
    n = next(_serial)
    row = DisputeWarning(
        submission_id=submission(session, "warning", company.id if company else None),
        receipt=f"YJ{n:06d}",
        enterprise_id=company.id if company else None,
        reporter=reporter,
        found_at=created_at,
        place="厂区",
        category=category,
        workers=workers,
        amount=Decimal(amount),
        description="拖欠工资",
        demands="支付工资",
        phone="13812345678",
        level=level,
        computed_level=level,
        state=state,
        created_at=created_at,
        mediation_started_at=mediation_started_at,
    )
    session.add(row)
    session.flush()
    if resolved_before:
        assert row.id is not None
        session.add(CaseEvent(case_kind="warning", case_id=row.id, to_state="resolved", actor="staff", at=created_at))
    return row


def application(
    session: Session,
    company: Enterprise,
    created_at: datetime,
    *,
    data_key: str,
    worker_name: str = "王五",
    id_number: str = "330211199003074514",
    state: str = "submitted",
    category: str = "深度困难",
    amount: str = "3000",
    paid_amount: str | None = None,
    paid_on: date | None = None,
    chair: str = "chair",
) -> HardshipApplication:
    n = next(_serial)
    row = HardshipApplication(
        submission_id=submission(session, "hardship", company.id),
        receipt=f"BF{n:06d}",
        enterprise_id=company.id or 0,
        chair=chair,
        worker_name=worker_name,
        id_number_enc=crypto.encrypt(data_key, id_number),
        id_digest=f"digest-{n}",
        id_masked=f"{id_number[:6]}********{id_number[-4:]}",
        phone_enc=crypto.encrypt(data_key, "13812345678"),
        category=category,
        household_enc=crypto.encrypt(data_key, "[]"),
        household_size=3,
        annual_income=Decimal("20000"),
        rigid_expenses=Decimal("5000"),
        per_capita_monthly=Decimal("416.67"),
        help_kind="临时救助",
        amount_requested=Decimal(amount),
        description_enc=crypto.encrypt(data_key, "患尿毒症长期透析"),
        consent_version="v1",
        consent_at=created_at,
        state=state,
        paid_amount=Decimal(paid_amount) if paid_amount else None,
        paid_on=paid_on,
        created_at=created_at,
        updated_at=created_at,
    )
    session.add(row)
    session.flush()
    return row
