"""Raw data out of the database as xlsx or csv: one row per record, readable Chinese headers.

Headers and value labels live in templates (`templates/staff/export/<kind>.columns.j2`, `staff/labels.j2`), so
the wording is reviewed with the other texts. Every column is typed (count, money, rate, date, …) so a workbook
holds numbers and dates Excel can add up and sort, not text. Times are the federation's wall clock: Excel cells
have no zone. People appear as name and role, never as an openid. ID numbers are masked unless the caller passes
the data key.
"""

from __future__ import annotations

import csv
import io
import secrets
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from functools import cache, lru_cache
from typing import Any, NamedTuple, get_args
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, func, true
from sqlalchemy import select as columns_select  # sqlmodel.select is typed for at most four columns
from sqlmodel import Session, SQLModel, col, select

from bot.services import render
from domain import timefmt
from domain.normalize import mask_mobile
from domain.periods import Period
from storage import crypto, filestore
from storage.models import DisputeWarning, Enterprise, HardshipApplication, Member, MonthlyReport
from storage.stats import months_between, rate


class ExportKind(StrEnum):
    REPORTS = "reports"
    WARNINGS = "warnings"
    APPLICATIONS = "applications"


class ExportFormat(StrEnum):
    XLSX = "xlsx"
    CSV = "csv"


class ColumnKind(StrEnum):
    """What a column holds, which decides its xlsx number format and how csv writes it."""

    TEXT = "text"
    COUNT = "count"
    MONEY = "money"
    RATE = "rate"  # a fraction (0.9 is 90.0%), floored to one decimal of a percent like every rate shown
    DATE = "date"
    DATETIME = "datetime"


EXPORTS = "exports"  # under UNIONBOT_FILES_DIR; each file reachable only by the link sent with it
NUMBER_FORMATS = {
    ColumnKind.COUNT: "0",
    ColumnKind.MONEY: "#,##0.00",
    ColumnKind.RATE: "0.0%",
    ColumnKind.DATE: "yyyy-mm-dd",
    ColumnKind.DATETIME: "yyyy-mm-dd hh:mm",
}
MAX_WIDTH = 50  # characters; longer text (a warning's description) stays in its cell, cut off on screen


@dataclass(frozen=True)
class Column:
    header: str
    kind: ColumnKind


@dataclass(frozen=True)
class Table:
    """One sheet: its name, typed columns and rows of plain values (datetimes naive, on the federation's clock)."""

    name: str
    columns: list[Column]
    rows: list[list[Any]]

    @property
    def headers(self) -> list[str]:
        return [column.header for column in self.columns]


class Source(NamedTuple):
    """A record with what the export joins to it."""

    record: Any
    enterprise: str
    credit_code: str
    person: str  # who filed it, as `person()` writes them


Value = Callable[[Source], Any]
Derived = Mapping[str, tuple[ColumnKind, Value]]


@cache
def labels() -> dict[str, str]:
    """State names (`warning.mediating` → 调处中), yes/no and sheet names, shared by replies, digests and exports."""
    return dict(render.pairs("staff/labels.j2"))


@cache
def columns_of(name: str) -> tuple[tuple[str, str], ...]:
    """The `key: 表头` pairs of `templates/staff/export/<name>.columns.j2`, in order."""
    return tuple(render.pairs(f"staff/export/{name}.columns.j2"))


def columns(kind: ExportKind) -> tuple[tuple[str, str], ...]:
    return columns_of(kind.value)


@lru_cache(maxsize=1024)
def person(name: str | None, role: str | None) -> str:
    """张三（企业工会主席）, or the role alone when the member gave no name."""
    return render.render("staff/export/person.j2", member_name=name, role=role)


def window(period: Period, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The period's local days as a UTC half-open interval."""
    start = datetime.combine(period.start, time(0), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(period.end + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
    return start, end


# The column kind a model attribute's Python type gives; bool is a yes/no label, never a count.
_KINDS = (
    (bool, ColumnKind.TEXT),
    (datetime, ColumnKind.DATETIME),
    (date, ColumnKind.DATE),
    (Decimal, ColumnKind.MONEY),  # every Decimal column is a Money column
    (int, ColumnKind.COUNT),
)


def _kind_of(model: type[SQLModel], key: str) -> ColumnKind:
    annotation = model.model_fields[key].annotation
    types = set(get_args(annotation)) or {annotation}
    return next((kind for python_type, kind in _KINDS if python_type in types), ColumnKind.TEXT)


def _attribute(key: str) -> Value:
    return lambda source: getattr(source.record, key)


def _cell(value: Any, zone: ZoneInfo) -> Any:
    if isinstance(value, bool):
        return labels()["true" if value else "false"]
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, list):
        return "、".join(value)
    if isinstance(value, datetime):
        return timefmt.local(value, zone).replace(tzinfo=None, microsecond=0)
    return value


def _state(prefix: str) -> Value:
    names = labels()
    return lambda source: names.get(f"{prefix}.{source.record.state}", source.record.state)


COMMON: Derived = {
    "enterprise_name": (ColumnKind.TEXT, lambda source: source.enterprise),
    "credit_code": (ColumnKind.TEXT, lambda source: source.credit_code),
}


def _table(kind: ExportKind, model: type[SQLModel], sources: list[Source], zone: ZoneInfo, derived: Derived) -> Table:
    """Derived columns first, so a column like `submitted_by` can never fall through to the raw openid."""
    plan: list[tuple[Column, Value]] = []
    for key, header in columns(kind):
        if key in derived:
            column_kind, value = derived[key]
        elif key in model.model_fields:
            column_kind, value = _kind_of(model, key), _attribute(key)
        else:
            raise KeyError(f"unknown {kind.value} export column {key!r}")
        plan.append((Column(header, column_kind), value))
    rows = [[_cell(value(source), zone) for _column, value in plan] for source in sources]
    return Table(labels()[f"sheet.{kind.value}"], [column for column, _value in plan], rows)


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


_JOINED = (col(Enterprise.name), col(Enterprise.credit_code), col(Member.name), col(Member.role))


def _sources(rows: Any) -> list[Source]:
    """(record, enterprise name, credit code, member name, member role) rows; a missing join reads as empty."""
    return [Source(r, name or "", code or "", person(who, role and role.value)) for r, name, code, who, role in rows]


def report_table(session: Session, period: Period, zone: ZoneInfo) -> Table:
    """Latest revisions of the period's months, by month then credit code."""
    _model, where = _scope(ExportKind.REPORTS, period, zone)
    return _reports(session, where, zone, col(MonthlyReport.period), col(Enterprise.credit_code))


def report_revisions(session: Session, enterprise_id: int, period: str, zone: ZoneInfo) -> Table:
    """Every revision of one enterprise's report for one month, the latest first: the desk's report page."""
    where = and_(col(MonthlyReport.enterprise_id) == enterprise_id, col(MonthlyReport.period) == period)
    return _reports(session, where, zone, col(MonthlyReport.revision).desc())


def _reports(session: Session, where: ColumnElement[bool], zone: ZoneInfo, *order: Any) -> Table:
    rows = session.execute(
        columns_select(MonthlyReport, *_JOINED)
        .join(Enterprise, col(Enterprise.id) == col(MonthlyReport.enterprise_id))
        .outerjoin(Member, col(Member.openid) == col(MonthlyReport.submitted_by))
        .where(where)
        .order_by(*order)
    ).all()

    def member_rate(source: Source) -> Decimal | None:
        report: MonthlyReport = source.record
        if report.members is None or report.employees is None:
            return None
        percent = rate(report.members, report.employees)
        return None if percent is None else percent / 100

    derived: Derived = {
        **COMMON,
        "submitted_by": (ColumnKind.TEXT, lambda source: source.person),
        "member_rate": (ColumnKind.RATE, member_rate),
    }
    return _table(ExportKind.REPORTS, MonthlyReport, _sources(rows), zone, derived)


def warning_table(session: Session, period: Period, zone: ZoneInfo) -> Table:
    """Warnings reported in the period; the reporter's phone masked (staff call them from the case view)."""
    _model, where = _scope(ExportKind.WARNINGS, period, zone)
    rows = session.execute(
        columns_select(DisputeWarning, *_JOINED)
        .outerjoin(Enterprise, col(Enterprise.id) == col(DisputeWarning.enterprise_id))
        .outerjoin(Member, col(Member.openid) == col(DisputeWarning.reporter))
        .where(where)
        .order_by(col(DisputeWarning.created_at), col(DisputeWarning.id))
    ).all()
    derived: Derived = {
        **COMMON,
        "reporter": (ColumnKind.TEXT, lambda source: source.person),
        "state": (ColumnKind.TEXT, _state("warning")),
        "photo_count": (ColumnKind.COUNT, lambda source: len(source.record.photos)),
        "phone": (ColumnKind.TEXT, lambda source: mask_mobile(source.record.phone)),
    }
    return _table(ExportKind.WARNINGS, DisputeWarning, _sources(rows), zone, derived)


def application_table(session: Session, period: Period, zone: ZoneInfo, data_key: str | None) -> Table:
    """Applications made in the period; `data_key` given means full ID numbers (admins only, audited)."""
    _model, where = _scope(ExportKind.APPLICATIONS, period, zone)
    rows = session.execute(
        columns_select(HardshipApplication, *_JOINED)
        .join(Enterprise, col(Enterprise.id) == col(HardshipApplication.enterprise_id))
        .outerjoin(Member, col(Member.openid) == col(HardshipApplication.chair))
        .where(where)
        .order_by(col(HardshipApplication.created_at), col(HardshipApplication.id))
    ).all()

    def id_number(source: Source) -> str:
        application: HardshipApplication = source.record
        return crypto.decrypt(data_key, application.id_number_enc) if data_key else application.id_masked

    derived: Derived = {
        **COMMON,
        "chair": (ColumnKind.TEXT, lambda source: source.person),
        "state": (ColumnKind.TEXT, _state("hardship")),
        "photo_count": (ColumnKind.COUNT, lambda source: len(source.record.photos)),
        "id_number": (ColumnKind.TEXT, id_number),
    }
    return _table(ExportKind.APPLICATIONS, HardshipApplication, _sources(rows), zone, derived)


def build(session: Session, kind: ExportKind, period: Period, zone: ZoneInfo, data_key: str | None = None) -> Table:
    if kind is ExportKind.REPORTS:
        return report_table(session, period, zone)
    if kind is ExportKind.WARNINGS:
        return warning_table(session, period, zone)
    return application_table(session, period, zone, data_key)


def cell_text(value: Any, kind: ColumnKind) -> str:
    """A value as Excel shows it under the column's number format (to fit the width, and on the desk's pages)."""
    if value is not None and kind is ColumnKind.MONEY:
        return f"{value:,.2f}"
    if value is not None and kind is ColumnKind.DATETIME:
        return f"{value:{timefmt.MINUTE}}"
    return _text(value, kind)


def display_width(text: str) -> int:
    """Columns the text takes in a fixed-width font: Chinese characters and full-width punctuation count two."""
    if text.isascii():
        return max(map(len, text.splitlines()), default=0)
    return max(
        (sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in line) for line in text.splitlines()),
        default=0,
    )


def column_widths(table: Table) -> list[int]:
    """The widest header or value of each column plus a margin, at most `MAX_WIDTH`."""
    widths = []
    for index, column in enumerate(table.columns):
        shown = {column.header, *(cell_text(row[index], column.kind) for row in table.rows)}
        widths.append(min(MAX_WIDTH, max(map(display_width, shown)) + 2))
    return widths


def to_xlsx(*tables: Table) -> bytes:
    """One sheet per table, in order, named after it (a summary sheet can join the data sheets)."""
    from openpyxl import Workbook  # imported on first export: 9 MB a chat worker otherwise carries for nothing

    workbook = Workbook(write_only=True)
    for table in tables:
        _write_sheet(workbook, table)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _write_sheet(workbook: Any, table: Table) -> None:
    """Header row bold and frozen, columns fitted, numbers and dates with their formats."""
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    sheet = workbook.create_sheet(table.name)
    sheet.freeze_panes = "A2"
    for index, width in enumerate(column_widths(table), 1):  # a write-only sheet takes widths before any row
        sheet.column_dimensions[get_column_letter(index)].width = width
    bold = Font(bold=True)
    header = []
    for text in table.headers:
        cell = WriteOnlyCell(sheet, text)
        cell.font = bold
        header.append(cell)
    sheet.append(header)

    def typed(value: Any, number_format: str | None) -> Any:
        """Text and blanks go in as plain values, which is cheaper than a cell."""
        if number_format is None or value is None:
            return value
        cell = WriteOnlyCell(sheet, value)
        cell.number_format = number_format
        return cell

    formats = [NUMBER_FORMATS.get(column.kind) for column in table.columns]
    for row in table.rows:
        sheet.append([typed(value, number_format) for value, number_format in zip(row, formats, strict=True)])


def to_csv(table: Table) -> bytes:
    """UTF-8 with a BOM, so Excel on a federation PC opens the Chinese headers correctly."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(table.headers)
    kinds = [column.kind for column in table.columns]
    for row in table.rows:
        writer.writerow([_text(value, kind) for value, kind in zip(row, kinds, strict=True)])
    return buffer.getvalue().encode("utf-8-sig")


def _text(value: Any, kind: ColumnKind) -> str:
    if value is None:
        return ""
    if kind is ColumnKind.RATE:
        return f"{value * 100:.1f}%"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def encode(table: Table, fmt: ExportFormat, summary: Table | None = None) -> bytes:
    """An xlsx workbook carries the 汇总 sheet after the data when one is given; a csv file holds the data only."""
    if fmt is ExportFormat.CSV:
        return to_csv(table)
    return to_xlsx(table, summary) if summary is not None else to_xlsx(table)


def save_encrypted(
    store: filestore.FileStore, data_key: str, kind: ExportKind, fmt: ExportFormat, data: bytes, now: datetime
) -> str:
    """Store under `exports/`, encrypted at rest (`.enc`, decrypted by `/files`); returns the path in the store."""
    path = f"{EXPORTS}/{kind.value}-{secrets.token_urlsafe(12)}.{fmt.value}{filestore.ENCRYPTED}"
    filestore.save(store, data_key, path, data, now)
    return path
