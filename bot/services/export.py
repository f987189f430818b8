"""Raw data out of the database as xlsx or csv: one row per record, readable Chinese headers.

Headers and value labels live in templates (`templates/staff/export/<kind>.columns.j2`, `staff/labels.j2`), so
the wording is reviewed with the other texts. ID numbers are masked unless the caller passes the data key.
"""

from __future__ import annotations

import csv
import io
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, func, true
from sqlmodel import Session, col, select

from bot.services import render
from domain import timefmt
from domain.periods import Period
from storage import crypto
from storage.models import DisputeWarning, Enterprise, HardshipApplication, MonthlyReport
from storage.stats import months_between


class ExportKind(StrEnum):
    REPORTS = "reports"
    WARNINGS = "warnings"
    APPLICATIONS = "applications"


class ExportFormat(StrEnum):
    XLSX = "xlsx"
    CSV = "csv"


@dataclass(frozen=True)
class Table:
    headers: list[str]
    rows: list[list[Any]]


def _pairs(name: str) -> list[tuple[str, str]]:
    """`key: value` lines of a rendered template, in order."""
    pairs = []
    for line in render.render(name).splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip():
            pairs.append((key.strip(), value.strip()))
    return pairs


@cache
def labels() -> dict[str, str]:
    """State names (`warning.mediating` → 调处中) and yes/no, shared by replies, digests and exports."""
    return dict(_pairs("staff/labels.j2"))


@cache
def columns(kind: ExportKind) -> tuple[tuple[str, str], ...]:
    return tuple(_pairs(f"staff/export/{kind.value}.columns.j2"))


def window(period: Period, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The period's local days as a UTC half-open interval."""
    start = datetime.combine(period.start, time(0), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(period.end + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
    return start, end


def _cell(value: Any, zone: ZoneInfo) -> Any:
    if isinstance(value, bool):
        return labels()["true" if value else "false"]
    if isinstance(value, datetime):
        return timefmt.local(value, zone).replace(tzinfo=None, microsecond=0)
    return value


def _table(
    kind: ExportKind, records: list[tuple[Any, str, str]], zone: ZoneInfo, extra: Callable[[Any, str], Any]
) -> Table:
    spec = columns(kind)
    names = labels()
    prefix = "warning" if kind is ExportKind.WARNINGS else "hardship"
    rows = []
    for record, enterprise_name, credit_code in records:
        row = []
        for key, _header in spec:
            if key == "enterprise_name":
                value: Any = enterprise_name
            elif key == "credit_code":
                value = credit_code
            elif key == "state":
                value = names.get(f"{prefix}.{record.state}", record.state)
            elif hasattr(record, key):
                value = getattr(record, key)
            else:
                value = extra(record, key)
            row.append(_cell(value, zone))
        rows.append(row)
    return Table([header for _key, header in spec], rows)


def _no_extra(_record: Any, key: str) -> Any:
    raise KeyError(f"unknown export column {key!r}")


def _scope(kind: ExportKind, period: Period, zone: ZoneInfo) -> tuple[Any, ColumnElement[bool]]:
    """The table an export reads and which of its rows belong to the period."""
    if kind is ExportKind.REPORTS:
        months = months_between(period.start, period.end)
        latest = col(MonthlyReport.is_latest) == true()
        return MonthlyReport, and_(col(MonthlyReport.period).between(months[0], months[-1]), latest)
    start, end = window(period, zone)
    model = DisputeWarning if kind is ExportKind.WARNINGS else HardshipApplication
    return model, and_(col(model.created_at) >= start, col(model.created_at) < end)


def count_rows(session: Session, kind: ExportKind, period: Period, zone: ZoneInfo) -> int:
    """Asked first, so a chat export too large to build within a reply can be refused."""
    model, where = _scope(kind, period, zone)
    return int(session.exec(select(func.count()).select_from(model).where(where)).one())


def report_table(session: Session, period: Period, zone: ZoneInfo) -> Table:
    """Latest revisions of the period's months, by month then credit code."""
    _model, where = _scope(ExportKind.REPORTS, period, zone)
    rows = session.exec(
        select(MonthlyReport, Enterprise.name, Enterprise.credit_code)
        .join(Enterprise, col(Enterprise.id) == col(MonthlyReport.enterprise_id))
        .where(where)
        .order_by(col(MonthlyReport.period), col(Enterprise.credit_code))
    ).all()
    return _table(ExportKind.REPORTS, [(r, n, c) for r, n, c in rows], zone, _no_extra)


def warning_table(session: Session, period: Period, zone: ZoneInfo) -> Table:
    """Warnings reported in the period."""
    _model, where = _scope(ExportKind.WARNINGS, period, zone)
    rows = session.exec(
        select(DisputeWarning, Enterprise.name, Enterprise.credit_code)
        .outerjoin(Enterprise, col(Enterprise.id) == col(DisputeWarning.enterprise_id))
        .where(where)
        .order_by(col(DisputeWarning.created_at), col(DisputeWarning.id))
    ).all()
    return _table(ExportKind.WARNINGS, [(w, n or "", c or "") for w, n, c in rows], zone, _no_extra)


def application_table(session: Session, period: Period, zone: ZoneInfo, data_key: str | None) -> Table:
    """Applications made in the period; `data_key` given means full ID numbers (admins only, audited)."""
    _model, where = _scope(ExportKind.APPLICATIONS, period, zone)
    rows = session.exec(
        select(HardshipApplication, Enterprise.name, Enterprise.credit_code)
        .join(Enterprise, col(Enterprise.id) == col(HardshipApplication.enterprise_id))
        .where(where)
        .order_by(col(HardshipApplication.created_at), col(HardshipApplication.id))
    ).all()

    def id_number(record: Any, key: str) -> Any:
        if key != "id_number":
            return _no_extra(record, key)
        return crypto.decrypt(data_key, record.id_number_enc) if data_key else record.id_masked

    return _table(ExportKind.APPLICATIONS, [(a, n, c) for a, n, c in rows], zone, id_number)


def build(session: Session, kind: ExportKind, period: Period, zone: ZoneInfo, data_key: str | None = None) -> Table:
    if kind is ExportKind.REPORTS:
        return report_table(session, period, zone)
    if kind is ExportKind.WARNINGS:
        return warning_table(session, period, zone)
    return application_table(session, period, zone, data_key)


def to_xlsx(table: Table) -> bytes:
    from openpyxl import Workbook  # imported on first export: 9 MB a chat worker otherwise carries for nothing

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append(table.headers)
    for row in table.rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def to_csv(table: Table) -> bytes:
    """UTF-8 with a BOM, so Excel on a federation PC opens the Chinese headers correctly."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(table.headers)
    for row in table.rows:
        writer.writerow(["" if value is None else _text(value) for value in row])
    return buffer.getvalue().encode("utf-8-sig")


def _text(value: Any) -> str:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime | date):
        return value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat()
    return str(value)


def encode(table: Table, fmt: ExportFormat) -> bytes:
    return to_xlsx(table) if fmt is ExportFormat.XLSX else to_csv(table)


def save_encrypted(files_dir: Path, data_key: str, kind: ExportKind, fmt: ExportFormat, data: bytes) -> str:
    """Store under `exports/`, encrypted at rest (`.enc`, decrypted by `/files`); returns the relative path."""
    folder = files_dir / "exports"
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{kind.value}-{secrets.token_urlsafe(12)}.{fmt.value}.enc"
    (folder / name).write_bytes(crypto.encrypt_bytes(data_key, data))
    return f"exports/{name}"
