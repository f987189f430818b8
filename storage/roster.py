"""The enterprise roster: validating rows, importing CSV/XLSX files idempotently, and finding enterprises by name.

Rows are keyed by the unified social credit code, so importing the same file twice changes nothing and an
updated file only touches what changed. Empty cells leave the stored value alone.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal
from zipfile import BadZipFile

from sqlalchemy import func
from sqlmodel import Session, col, select
from stdnum.cn import uscc
from stdnum.exceptions import InvalidChecksum, InvalidFormat, InvalidLength, ValidationError

from storage.models import Enterprise

Cell = str | int | float | bool | datetime | None
Change = Literal["added", "updated", "unchanged"]

HEADERS = {
    "企业名称": "name",
    "统一社会信用代码": "credit_code",
    "职工人数": "employees",
    "所属社区": "community",
    "是否建会": "has_union",
    **{field: field for field in ("name", "credit_code", "employees", "community", "has_union")},
}
REQUIRED = ("name", "credit_code")
MAX_NAME = 200
MAX_COMMUNITY = 100
CANDIDATE_LIMIT = 10
_HEADER_SEARCH_ROWS = 10  # a title row or two above the header is common in exported spreadsheets

_YES = frozenset({"是", "有", "已建", "已建会", "yes", "y", "true", "1", "√", "✓"})
_NO = frozenset({"否", "无", "没有", "未建", "未建会", "no", "n", "false", "0", "×", "✗"})
_EMPLOYEES = re.compile(r"([0-9]+)\s*人?")


class RosterError(Exception):
    """The file as a whole cannot be imported (unreadable, unknown type, no header row); `reason` says so in
    Chinese, for the desk."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


LABELS = {field: header for header, field in HEADERS.items() if header != field}  # each field's Chinese header


class RowError(Exception):
    """One row is rejected: `column` (a field) and why, in Chinese. The message names the column as the file's
    own header does (`import_table`), or by its Chinese header when there is no file."""

    def __init__(self, column: str, reason: str) -> None:
        super().__init__(column, reason)
        self.column = column
        self.reason = reason

    def __str__(self) -> str:
        return self.named(LABELS.get(self.column, self.column))

    def named(self, header: str) -> str:
        return f"{header}：{self.reason}"


@dataclass(frozen=True)
class EnterpriseRow:
    """One validated row; None means the cell was empty (keep the stored value, or the default for a new row)."""

    credit_code: str
    name: str
    employees: int | None = None
    community: str | None = None
    has_union: bool | None = None


@dataclass
class ImportReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)  # field → the header the file gives it

    def count(self, change: Change) -> None:
        if change == "added":
            self.added += 1
        elif change == "updated":
            self.updated += 1
        else:
            self.unchanged += 1


def validate_credit_code(text: str) -> str:
    """The code upper-cased and without spaces, or RowError naming what is wrong with it."""
    code = uscc.compact(unicodedata.normalize("NFKC", text))
    try:
        return str(uscc.validate(code))
    except InvalidLength:
        raise RowError("credit_code", f"“{code}”有 {len(code)} 位，应为 18 位") from None
    except InvalidFormat:
        raise RowError("credit_code", f"“{code}”格式不对") from None
    except InvalidChecksum:
        raise RowError("credit_code", f"“{code}”校验位不对") from None
    except ValidationError:
        raise RowError("credit_code", f"“{code}”无效") from None


def parse_row(values: dict[str, Cell]) -> EnterpriseRow:
    name = _kept(values.get("name"))
    if not name:
        raise RowError("name", "未填写")
    if len(name) > MAX_NAME:
        raise RowError("name", f"超过 {MAX_NAME} 个字")
    raw_code = values.get("credit_code")
    if isinstance(raw_code, float):
        raise RowError("credit_code", "被存成了数字，已丢失位数；请把这一列设为文本格式后重新导入")
    code_text = _text(raw_code)
    if not code_text:
        raise RowError("credit_code", "未填写")
    community = _kept(values.get("community")) or None
    if community is not None and len(community) > MAX_COMMUNITY:
        raise RowError("community", f"超过 {MAX_COMMUNITY} 个字")
    return EnterpriseRow(
        credit_code=validate_credit_code(code_text),
        name=name,
        employees=_employees(values.get("employees")),
        community=community,
        has_union=_has_union(values.get("has_union")),
    )


def _text(value: Cell) -> str:
    """A cell read forgivingly (full-width digits and letters folded), for codes, numbers and yes/no."""
    return unicodedata.normalize("NFKC", _kept(value))


def _kept(value: Cell) -> str:
    """A cell as typed: names keep their official full-width brackets."""
    return "" if value is None else str(value).strip()


def _employees(value: Cell) -> int | None:
    if isinstance(value, bool):
        raise RowError("employees", f"“{value}”不是整数")
    if isinstance(value, int):
        number = value
    elif isinstance(value, float):
        if not value.is_integer():
            raise RowError("employees", f"“{value}”不是整数")
        number = int(value)
    else:
        text = _text(value).replace(",", "")
        if not text:
            return None
        match = _EMPLOYEES.fullmatch(text)
        if match is None:
            raise RowError("employees", f"“{text}”不是整数")
        number = int(match[1])
    if number < 0:
        raise RowError("employees", f"“{number}”是负数")
    return number


def _has_union(value: Cell) -> bool | None:
    if isinstance(value, bool):
        return value
    text = _text(value).casefold()
    if not text:
        return None
    if text in _YES:
        return True
    if text in _NO:
        return False
    raise RowError("has_union", f"“{text}”应为“是”或“否”")


def read_table(path: Path) -> list[Sequence[Cell]]:
    """All rows of a .csv (UTF-8, or GB18030 as Excel saves it in China) or the first sheet of an .xlsx."""
    return read_upload(path.name, path.read_bytes())


def read_upload(name: str, data: bytes) -> list[Sequence[Cell]]:
    """`read_table` for a file's name and content, as a browser uploads it."""
    suffix = Path(name).suffix.lower()
    if suffix == ".csv":
        return _read_csv(name, data)
    if suffix == ".xlsx":
        return _read_xlsx(name, data)
    raise RosterError(f"{name}: expected a .csv or .xlsx file", reason=f"“{name}”不是 .xlsx 或 .csv 文件")


def _read_csv(name: str, data: bytes) -> list[Sequence[Cell]]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        return list(csv.reader(io.StringIO(text, newline="")))
    raise RosterError(f"{name}: neither UTF-8 nor GB18030 text", reason=f"“{name}”不是 UTF-8 或 GB18030 编码的文本")


def _read_xlsx(name: str, data: bytes) -> list[Sequence[Cell]]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (InvalidFileException, BadZipFile, OSError, KeyError, ValueError) as exc:
        raise RosterError(
            f"{name}: not a readable .xlsx workbook ({exc})", reason=f"“{name}”无法作为 .xlsx 工作簿打开"
        ) from None
    try:
        sheet = workbook.worksheets[0]
        return [tuple(_cell(value) for value in row) for row in sheet.iter_rows(values_only=True)]
    finally:
        workbook.close()


def _cell(value: object) -> Cell:
    if value is None or isinstance(value, str | int | float | bool | datetime):
        return value
    return str(value)


def _header(table: Sequence[Sequence[Cell]]) -> tuple[int, list[str | None]]:
    """Index of the header row and the field of each column (None for a column we do not know)."""
    for index, header in enumerate(table[:_HEADER_SEARCH_ROWS]):
        columns = [HEADERS.get(_text(cell).casefold()) for cell in header]
        if all(required in columns for required in REQUIRED):
            doubled = sorted({column for column in columns if column and columns.count(column) > 1})
            if doubled:
                names = "、".join(
                    _kept(cell) for cell, column in zip(header, columns, strict=True) if column in doubled
                )
                raise RosterError(f"columns given twice: {', '.join(doubled)}", reason=f"列重复：{names}")
            return index, columns
    raise RosterError(
        "no header row with 企业名称 (name) and 统一社会信用代码 (credit_code)",
        reason="前10行中找不到含“企业名称”和“统一社会信用代码”两列的表头",
    )


def rows_of(table: Sequence[Sequence[Cell]], report: ImportReport) -> Iterator[tuple[int, dict[str, Cell]]]:
    """(row number as the spreadsheet shows it, cells by field) for every non-blank row below the header."""
    index, columns = _header(table)
    header = [_kept(cell) for cell in table[index]]
    report.ignored_columns = [name for name, column in zip(header, columns, strict=True) if name and not column]
    report.headers = {column: name for name, column in zip(header, columns, strict=True) if column}
    for number, row in enumerate(table[index + 1 :], start=index + 2):
        if all(_text(cell) == "" for cell in row):
            continue
        yield number, {column: cell for column, cell in zip(columns, row, strict=False) if column}


def parsed_rows(
    table: Sequence[Sequence[Cell]], report: ImportReport
) -> Iterator[tuple[int, EnterpriseRow | RowError]]:
    """Every non-blank row below the header, validated: the row, or why it is rejected (a credit code given on an
    earlier row too is rejected here, so the import and the desk's preview refuse the same rows)."""
    first_seen: dict[str, int] = {}
    for number, values in rows_of(table, report):
        try:
            row = parse_row(values)
        except RowError as exc:
            yield number, exc
            continue
        if row.credit_code in first_seen:
            yield number, RowError("credit_code", f"{row.credit_code} 与第 {first_seen[row.credit_code]} 行重复")
            continue
        first_seen[row.credit_code] = number
        yield number, row


def import_table(session: Session, table: Sequence[Sequence[Cell]], now: datetime) -> ImportReport:
    """Apply every valid row in the caller's transaction; a rejected row leaves the rest going."""
    report = ImportReport()
    for number, row in parsed_rows(table, report):
        if isinstance(row, RowError):
            report.rejected.append((number, row.named(report.headers.get(row.column, row.column))))
        else:
            report.count(upsert_enterprise(session, row, now))
    return report


def changes(enterprise: Enterprise, row: EnterpriseRow) -> dict[str, tuple[object, object]]:
    """What `row` would change in a stored enterprise: field -> (stored, new value); empty cells change nothing."""
    wanted = {
        "name": row.name,
        "employees": row.employees,
        "community": row.community,
        "has_union": row.has_union,
    }
    return {
        attribute: (getattr(enterprise, attribute), value)
        for attribute, value in wanted.items()
        if value is not None and getattr(enterprise, attribute) != value
    }


def upsert_enterprise(session: Session, row: EnterpriseRow, now: datetime) -> Change:
    enterprise = enterprise_by_credit_code(session, row.credit_code)
    if enterprise is None:
        session.add(
            Enterprise(
                credit_code=row.credit_code,
                name=row.name,
                employees=row.employees or 0,
                community=row.community or "",
                has_union=bool(row.has_union),
                created_at=now,
                updated_at=now,
            )
        )
        session.flush()
        return "added"
    changed = changes(enterprise, row)
    if not changed:
        return "unchanged"
    for attribute, (_old, value) in changed.items():
        setattr(enterprise, attribute, value)
    enterprise.updated_at = now
    session.add(enterprise)
    session.flush()
    return "updated"


def enterprise_by_credit_code(session: Session, credit_code: str) -> Enterprise | None:
    return session.exec(select(Enterprise).where(Enterprise.credit_code == credit_code)).first()


def find_enterprises(session: Session, query: str) -> list[Enterprise]:
    """By credit code or exact name if one matches, else every enterprise whose name contains `query`.

    At most CANDIDATE_LIMIT + 1 are returned, so a caller can tell "this many" from "more than this".
    """
    text = query.strip()
    if not text:
        return []
    by_code = enterprise_by_credit_code(session, uscc.compact(unicodedata.normalize("NFKC", text)))
    if by_code is not None:
        return [by_code]
    exact = session.exec(select(Enterprise).where(Enterprise.name == text).order_by(col(Enterprise.id))).all()
    if exact:
        return list(exact)
    pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    partial = session.exec(
        select(Enterprise)
        .where(col(Enterprise.name).ilike(pattern, escape="\\"))
        .order_by(func.length(col(Enterprise.name)), col(Enterprise.name))
        .limit(CANDIDATE_LIMIT + 1)
    ).all()
    return list(partial)


def import_file(session: Session, path: Path, now: datetime) -> ImportReport:
    return import_table(session, read_table(path), now)
